// Two replicas on a Redis without persistence, under load from clients that STARTTLS and
// AUTH on every connection. Redis is killed and comes back empty: from then on no client gets
// a 250 or a 5xx for AUTH, MAIL or RCPT until an operator acts; both replicas say so on
// /readyz and in their metrics. A restore of a backup taken before brings service back on
// both, by itself, with the same tenant keys and the suppressions from before; so does
// `store init --empty --yes`, with new keys and empty lists.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { CLI, spawnRelay, type RelayProcess } from '../helpers/process.js';
import { scrape, sample } from '../helpers/metrics.js';
import { authedSession, sendMail, tlsSession } from '../helpers/client.js';
import { ACME_HASH, ACME_PASSWORD } from '../helpers/relay.js';
import { startRedis, startRedisOnPort, type RedisProcess } from '../helpers/redis.js';

const run = promisify(execFile);

interface Reply {
  /** when the command was sent: a reply read late still belongs to the moment it was asked */
  readonly at: number;
  readonly replica: number;
  readonly command: 'auth' | 'mail' | 'rcpt' | 'data';
  readonly code: number;
}

/** Clients as real MTAs are: a new connection, STARTTLS and AUTH for every message. */
function load(replicas: readonly RelayProcess[], perReplica: number): { replies: Reply[]; stop(): Promise<void> } {
  const replies: Reply[] = [];
  let stopping = false;
  const loop = async (replica: number) => {
    const started = Date.now();
    // bounded in time and in count whatever happens
    for (let n = 0; !stopping && n < 5000 && Date.now() - started < 120_000; n++) {
      try {
        const s = await tlsSession(replicas[replica]!.port);
        const ask = async (command: Reply['command'], send: () => Promise<string>) => {
          const at = Date.now();
          const reply = await send();
          replies.push({ at, replica, command, code: Number(reply.slice(0, 3)) });
          return reply.startsWith('2') || reply.startsWith('3');
        };
        if (
          (await ask('auth', () => s.login('acme', ACME_PASSWORD))) &&
          (await ask('mail', () => s.command('MAIL FROM:<news@acme.test>'))) &&
          (await ask('rcpt', () => s.command(`RCPT TO:<reader${n % 50}@example.org>`))) &&
          (await ask('data', () => s.command('DATA')))
        ) {
          await ask('data', () => s.command('Subject: load\r\n\r\nHello.\r\n.'));
        }
        s.destroy();
      } catch {
        // a connection cut by a stopping relay; the next one is tried
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const loops = replicas.flatMap((_, i) => Array.from({ length: perReplica }, () => loop(i)));
  return {
    replies,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

async function readyz(port: number): Promise<{ status: number; body: { store?: string; causes?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { store?: string; causes?: string[] } };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a Redis that comes back empty', () => {
  let upstream: CaptureUpstream;
  let redis: RedisProcess;
  const replicas: RelayProcess[] = [];
  const masterKey = randomBytes(32).toString('base64');
  let dir = '';
  let configFile = '';
  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, MAILWARDEN_CONFIG: configFile, MAILWARDEN_MASTER_KEY: masterKey } });
  const wrappedKey = async () => {
    const client = new Redis(redis.url);
    try {
      return (JSON.parse((await client.hget('mw:tenants', 'acme'))!) as { wrappedKey: string }).wrappedKey;
    } finally {
      client.disconnect();
    }
  };
  const rcptReply = async (replica: RelayProcess, to: string) => {
    const s = await authedSession(replica.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<news@acme.test>')).toMatch(/^250 /);
    const reply = await s.command(`RCPT TO:<${to}>`);
    s.destroy();
    return reply;
  };
  /** kills Redis and starts it again on its port, empty (no AOF, no RDB) */
  const wipe = async () => {
    await redis.stop();
    redis = await startRedisOnPort(redis.port, [], redis.dir);
    return Date.now();
  };
  const bothLost = () => until('both replicas report the store lost', async () => (await Promise.all(replicas.map((r) => readyz(r.metricsPort!)))).every((x) => x.status === 503 && x.body.store === 'lost'));
  const bothReady = () => until('both replicas ready again', async () => (await Promise.all(replicas.map((r) => readyz(r.metricsPort!)))).every((x) => x.status === 200));

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'mw-lost-'));
    const yaml = `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { kind: redis, url: "${redis.url}", identityCheckMs: 200, tenantRefreshMs: 1000 }
keys: { generateMasterKey: false }
metrics: { port: 0 }
feedback: { enabled: false }
admin: { enabled: false }
tenants:
  - id: acme
    username: acme
    password: "${ACME_HASH}"
    domains: [acme.test]
log: { level: info }
`;
    configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, yaml);
    await cli('store', 'init', '--empty', '--yes');
    for (let i = 0; i < 2; i++) replicas.push(await spawnRelay(yaml, mkdtempSync(join(tmpdir(), 'mw-lost-replica-')), { MAILWARDEN_MASTER_KEY: masterKey }));
  }, 30_000);
  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await redis?.stop();
    await upstream?.close();
  });

  it('says at start that the store keeps nothing on disk', async () => {
    for (const r of replicas) {
      expect(r.output()).toContain('the store keeps nothing on disk');
      expect(sample(await scrape(r.metricsPort!), 'mailwarden_store_persistent')).toBe(0);
    }
  });

  it('lost: 4xx for every AUTH, MAIL and RCPT on both replicas, 503 on /readyz; a restore brings everything back on both by itself', async () => {
    await cli('suppression', 'add', '--tenant', 'acme', '--reason', 'complaint', 'Kept@Example.org');
    for (const r of replicas) expect(await rcptReply(r, 'kept@example.org')).toBe('550 5.7.1 Recipient is on your suppression list');
    const keyBefore = await wrappedKey();
    const backupFile = join(dir, 'store.backup');
    const { stdout } = await cli('store', 'backup', backupFile);
    expect(stdout).toMatch(/^backed up store [0-9a-f-]{36} to /);

    const traffic = load(replicas, 2);
    await until('traffic flows', async () => traffic.replies.filter((r) => r.command === 'data' && r.code === 250).length >= 10);
    const up = await wipe();
    await bothLost();
    const lostAt = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const restoreAt = Date.now();
    const restored = await cli('store', 'restore', backupFile);
    expect(restored.stdout).toMatch(/^restored store /);
    await bothReady();
    const readyAt = Date.now();
    await until('mail flows again on both', async () => [0, 1].every((i) => traffic.replies.some((r) => r.replica === i && r.command === 'data' && r.code === 250 && r.at > readyAt)));
    await traffic.stop();

    // from Redis coming back empty until the restore: not one 250 or 5xx to AUTH, MAIL or RCPT
    const during = traffic.replies.filter((r) => r.at > up && r.at < restoreAt && r.command !== 'data');
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((r) => r.code >= 500)).toEqual([]);
    expect(during.filter((r) => r.command !== 'auth' && r.code < 400)).toEqual([]);
    // once both replicas knew, AUTH too is a temporary failure
    const afterKnown = traffic.replies.filter((r) => r.at > lostAt && r.at < restoreAt);
    expect(afterKnown.filter((r) => r.command === 'auth').length).toBeGreaterThan(0);
    expect(afterKnown.filter((r) => r.command === 'auth' && r.code !== 454)).toEqual([]);
    expect(afterKnown.filter((r) => (r.command === 'mail' || r.command === 'rcpt') && r.code !== 451)).toEqual([]);
    // and nothing 5xx anywhere in the run
    expect(traffic.replies.filter((r) => r.code >= 500)).toEqual([]);

    for (const r of replicas) {
      const text = await scrape(r.metricsPort!);
      expect(sample(text, 'mailwarden_store_lost')).toBe(0);
      expect(sample(text, 'mailwarden_store_lost_refusals_total', { command: 'auth' })).toBeGreaterThan(0);
      expect(r.output()).toMatch(/"msg":"the store lost its identity [0-9a-f-]{36}/);
    }
    // the same keys, and the suppression from before the loss is enforced again
    expect(await wrappedKey()).toBe(keyBefore);
    for (const r of replicas) expect(await rcptReply(r, 'kept@example.org')).toBe('550 5.7.1 Recipient is on your suppression list');
  }, 90_000);

  it('while lost, /readyz names the cause and the metric says so; store init --empty --yes is the fresh start both replicas take up', async () => {
    const keyBefore = await wrappedKey();
    await wipe();
    await bothLost();
    for (const r of replicas) {
      const { body } = await readyz(r.metricsPort!);
      expect(body.causes?.join(' ')).toMatch(/lost its identity .*store restore FILE.*store init --empty --yes/);
      expect(sample(await scrape(r.metricsPort!), 'mailwarden_store_lost')).toBe(1);
    }
    // nothing came back by itself: no tenant was re-created in the empty store
    const client = new Redis(redis.url);
    expect(await client.hlen('mw:tenants')).toBe(0);
    client.disconnect();
    // a new AUTH: 454; a MAIL without it: 451, not 530
    const before = sample(await scrape(replicas[0]!.metricsPort!), 'mailwarden_store_lost_refusals_total', { command: 'mail' })!;
    const s = await tlsSession(replicas[0]!.port);
    expect(await s.login('acme', ACME_PASSWORD)).toMatch(/^454 4\.7\.0 /);
    expect(await s.command('MAIL FROM:<news@acme.test>')).toMatch(/^451 4\.3\.0 /);
    s.destroy();
    expect(sample(await scrape(replicas[0]!.metricsPort!), 'mailwarden_store_lost_refusals_total', { command: 'mail' })).toBe(before + 1);

    const { stdout } = await cli('store', 'init', '--empty', '--yes');
    expect(stdout).toMatch(/^initialised store [0-9a-f-]{36} in place of the lost [0-9a-f-]{36}: 1 tenant\(s\)/);
    await bothReady();
    expect(await wrappedKey()).not.toBe(keyBefore);
    // a fresh start: the old list is gone, as the operator chose
    for (const r of replicas) expect(await rcptReply(r, 'kept@example.org')).toMatch(/^250 /);
  }, 60_000);
});

describe('a relay started on a new Redis', () => {
  it('serves nobody until store init, then takes the store up with its tenants already there', async () => {
    const upstream = await startCaptureUpstream();
    const redis = await startRedis();
    const masterKey = randomBytes(32).toString('base64');
    const dir = mkdtempSync(join(tmpdir(), 'mw-new-'));
    const yaml = `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { kind: redis, url: "${redis.url}", identityCheckMs: 100 }
keys: { generateMasterKey: false }
metrics: { port: 0 }
feedback: { port: 0 }
admin: { port: 0 }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test] }
log: { level: info }
`;
    writeFileSync(join(dir, 'config.yaml'), yaml);
    const relay = await spawnRelay(yaml, dir, { MAILWARDEN_MASTER_KEY: masterKey });
    try {
      expect(relay.output()).toMatch(/serving nobody until the store is set up: the store has no identity/);
      expect(await readyz(relay.metricsPort!)).toMatchObject({ status: 503, body: { store: 'uninitialised' } });
      const s = await tlsSession(relay.port);
      expect(await s.login('acme', ACME_PASSWORD)).toMatch(/^454 4\.7\.0 /);
      expect(await s.command('MAIL FROM:<a@acme.test>')).toMatch(/^451 4\.3\.0 /);
      s.destroy();
      // the admin API and the feedback listener take nothing in either
      const adminPort = Number(/"port":(\d+)[^\n]*"msg":"admin API listening"/.exec(relay.output())![1]);
      const api = await fetch(`http://127.0.0.1:${adminPort}/api/v1/tenants`, { headers: { authorization: 'Bearer mwt_0000000000_' + 'a'.repeat(43) } });
      expect(api.status).toBe(503);
      expect(await api.json()).toMatchObject({ error: { code: 'STORE_LOST' } });
      const report = await sendMail({ port: relay.feedbackPort!, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: 'Subject: report\r\n\r\nbody\r\n', tls: false });
      expect(report.response).toMatch(/^451 4\.3\.0 /);
      // nothing was created in the store by the relay
      const client = new Redis(redis.url);
      expect(await client.dbsize()).toBe(0);
      client.disconnect();
      await run(process.execPath, [CLI, 'store', 'init', '--empty', '--yes'], { env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml'), MAILWARDEN_MASTER_KEY: masterKey } });
      await until('ready', async () => (await readyz(relay.metricsPort!)).status === 200);
      // at once, not at the next tenant refresh
      const t = await authedSession(relay.port, 'acme', ACME_PASSWORD);
      expect(await t.command('MAIL FROM:<a@acme.test>')).toMatch(/^250 /);
      expect(await t.command('RCPT TO:<b@example.org>')).toMatch(/^250 /);
      t.destroy();
    } finally {
      relay.child.kill('SIGKILL');
      await redis.stop();
      await upstream.close();
    }
  }, 30_000);
});
