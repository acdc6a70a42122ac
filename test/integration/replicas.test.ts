// Two mailwarden processes sharing one Redis: together they admit exactly the configured
// limit, and a suspension or suppression made through one is enforced by the other at the
// next command.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { CLI, spawnRelay, type RelayProcess } from '../helpers/process.js';
import { scrape, sample, labelValues } from '../helpers/metrics.js';
import { authedSession } from '../helpers/client.js';
import { ACME_HASH, ACME_PASSWORD, GLOBEX_HASH, GLOBEX_PASSWORD } from '../helpers/relay.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const run = promisify(execFile);

describe('two replicas on one Redis', () => {
  let upstream: CaptureUpstream;
  let redis: RedisProcess;
  const replicas: RelayProcess[] = [];
  const masterKey = randomBytes(32).toString('base64');
  let configFile = '';

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    redis = await startRedis();
    const yaml = `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { kind: redis, url: "${redis.url}" }
keys: { generateMasterKey: false }
metrics: { port: 0 }
feedback: { port: 0 }
admin: { port: 0 }
tenants:
  - id: acme
    username: acme
    password: "${ACME_HASH}"
    domains: [acme.test]
    limits: { messages: [{ limit: 7, per: hour }] }
  - id: globex
    username: globex
    password: "${GLOBEX_HASH}"
    domains: [globex.test]
log: { level: info }
`;
    const dir = mkdtempSync(join(tmpdir(), 'mw-replicas-'));
    configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, yaml);
    // a new Redis is set up once by an operator: it is never taken as new by itself
    await run(process.execPath, [CLI, 'store', 'init', '--empty', '--yes'], { env: { ...process.env, MAILWARDEN_CONFIG: configFile, MAILWARDEN_MASTER_KEY: masterKey } });
    for (let i = 0; i < 2; i++) replicas.push(await spawnRelay(yaml, mkdtempSync(join(tmpdir(), 'mw-replica-')), { MAILWARDEN_MASTER_KEY: masterKey }));
  });
  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await redis?.stop();
    await upstream?.close();
  });

  // the CLI's own audit log goes to its working directory's data/
  const cliDir = mkdtempSync(join(tmpdir(), 'mw-replicas-cli-'));
  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { cwd: cliDir, env: { ...process.env, MAILWARDEN_CONFIG: configFile, MAILWARDEN_MASTER_KEY: masterKey } });

  it('admit exactly the configured limit between them', async () => {
    const sessions = await Promise.all(replicas.flatMap((r) => [0, 1, 2, 3, 4].map(() => authedSession(r.port, 'acme', ACME_PASSWORD))));
    const replies = await Promise.all(sessions.map((s) => s.command('MAIL FROM:<alice@acme.test>')));
    expect(replies.filter((r) => r.startsWith('250'))).toHaveLength(7);
    expect(replies.filter((r) => r.startsWith('451 4.7.1 '))).toHaveLength(3);
    for (const s of sessions) s.destroy();
  });

  it('a suspension made through the CLI is enforced by both at the next MAIL', async () => {
    const [a, b] = await Promise.all(replicas.map((r) => authedSession(r.port, 'acme', ACME_PASSWORD)));
    const { stdout } = await cli('suspend', '--tenant', 'acme', '--sender', 'bob@acme.test', '--reason', 'test', '--json');
    const id = (JSON.parse(stdout) as { id: string }).id;
    for (const s of [a!, b!]) expect(await s.command('MAIL FROM:<bob@acme.test>')).toContain(`(ref ${id})`);
    a!.destroy();
    b!.destroy();
  });

  it('keep one audit trail: a change made through either, by the API or the CLI, is in the trail the other answers with', async () => {
    const secret = (await cli('token', 'create', '--role', 'abuse-desk', '--name', 'desk-bob')).stdout.trim();
    const api = (r: RelayProcess, method: string, path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${r.adminPort}/api/v1${path}`, { method, headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const made = await api(replicas[0]!, 'POST', '/tenants/globex/suspensions', { scope: 'domain', value: 'globex.test', reason: 'shared trail' });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: string };
    await cli('unsuspend', '--tenant', 'globex', '--id', id, '--reason', 'over');
    for (const r of replicas) {
      const trail = (await (await api(r, 'GET', '/audit?tenant=globex&limit=20')).json()) as { entries: Array<{ action: string; via: string; reason?: string; actor: string }> };
      const changes = trail.entries.filter((e) => e.action === 'suspension.create' || e.action === 'suspension.lift');
      expect(changes.map((e) => [e.action, e.via, e.reason])).toEqual([
        ['suspension.lift', 'cli', 'over'],
        ['suspension.create', 'http', 'shared trail'],
      ]);
      expect(changes[1]!.actor).toMatch(/^token:\w+ \(desk-bob\)$/);
    }
  });

  it('a suppression added through the CLI is enforced by both at the next RCPT', async () => {
    const [a, b] = await Promise.all(replicas.map((r) => authedSession(r.port, 'globex', GLOBEX_PASSWORD)));
    for (const s of [a!, b!]) {
      expect(await s.command('MAIL FROM:<info@globex.test>')).toMatch(/^250/);
      expect(await s.command('RCPT TO:<gone@example.org>')).toMatch(/^250/);
    }
    await cli('suppression', 'add', '--tenant', 'globex', '--reason', 'complaint', 'gone@example.org');
    for (const s of [a!, b!]) expect(await s.command('RCPT TO:<Gone@Example.org>')).toBe('550 5.7.1 Recipient is on your suppression list');
    a!.destroy();
    b!.destroy();
  });

  it('keeps no recipient address in clear text in Redis: every key and every value scanned', async () => {
    const addresses = Array.from({ length: 150 }, (_, i) => `someone${i}.private@mailbox${i % 9}.example`);
    await cli('suppression', 'add', '--tenant', 'globex', '--reason', 'manual', ...addresses.slice(0, 50));
    const s = await authedSession(replicas[1]!.port, 'globex', GLOBEX_PASSWORD);
    await s.command('MAIL FROM:<info@globex.test>');
    for (const a of addresses.slice(40, 140)) await s.command(`RCPT TO:<${a}>`);
    await s.command('DATA');
    s.write('Subject: many\r\n\r\nbody\r\n.\r\n');
    expect(await s.reply()).toMatch(/^250/);
    s.destroy();

    const client = new Redis(redis.url);
    const dump: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
      for (const key of keys) {
        dump.push(key);
        const type = await client.type(key);
        if (type === 'string') dump.push((await client.get(key)) ?? '');
        else if (type === 'hash') dump.push(...Object.entries(await client.hgetall(key)).flat());
        // the shared audit trail: every entry's fields
        else if (type === 'stream') dump.push(...(await client.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]));
        else dump.push(`(unexpected ${type})`);
      }
      cursor = next;
    } while (cursor !== '0');
    client.disconnect();
    const text = dump.join('\n');
    expect(dump.length).toBeGreaterThan(10);
    expect(dump).toContain('mw:audit');
    expect(text).not.toContain('unexpected');
    for (const a of [...addresses, 'gone@example.org']) {
      expect(text).not.toContain(a);
      expect(text).not.toContain(a.split('@')[0]);
    }
  });

  it('keeps no address in either replica\'s metrics', async () => {
    for (const replica of replicas) {
      const text = await scrape(replica.metricsPort!);
      expect(sample(text, 'mailwarden_policy_verdicts_total', { stage: 'recipient', verdict: 'accept' })).toBeGreaterThan(0);
      expect(labelValues(text).filter((v) => v.includes('@'))).toEqual([]);
      expect(text).not.toMatch(/someone\d+\.private|mailbox\d\.example|gone@/);
    }
  });
});
