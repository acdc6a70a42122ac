// smtp.workers: 2, run as an operator runs it (`mailwarden serve`), on each store: the two
// workers take connections on one port and admit exactly a tenant's limit together, /metrics
// on the primary is the sum of both, the workers' accounting records reach the one writer, a
// worker that dies is replaced and counted, and SIGTERM drains both.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnRelay, type RelayProcess } from '../helpers/process.js';
import { scrape, sample } from '../helpers/metrics.js';
import { sendMail } from '../helpers/client.js';
import { ACME_HASH, ACME_PASSWORD, GLOBEX_HASH, GLOBEX_PASSWORD } from '../helpers/relay.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

describe.each(['embedded', 'redis'] as const)('smtp.workers: 2 on the %s store', (kind) => {
  let sink: SmtpSink;
  let redis: RedisProcess | undefined;
  let relay: RelayProcess;
  let dir = '';
  const masterKey = randomBytes(32).toString('base64');

  beforeAll(async () => {
    sink = await startSmtpSink();
    if (kind === 'redis') redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'mw-workers-'));
    const yaml = `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test, workers: 2 }
upstream: { host: 127.0.0.1, port: ${sink.port}, starttls: off }
store: ${kind === 'redis' ? `{ kind: redis, url: "${redis!.url}" }` : '{ kind: embedded, path: ./data/store }'}
keys: { generateMasterKey: false }
metrics: { port: 0 }
feedback: { port: 0 }
admin: { port: 0 }
accounting: { dir: ./data/accounting, flushMs: 100 }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test], limits: { messages: [{ limit: 7, per: hour }] } }
  - { id: globex, username: globex, password: "${GLOBEX_HASH}", domains: [globex.test] }
log: { level: info }
`;
    const env = { MAILWARDEN_MASTER_KEY: masterKey };
    if (kind === 'redis') {
      writeFileSync(join(dir, 'config.yaml'), yaml);
      await run(process.execPath, [CLI, 'store', 'init', '--empty', '--yes'], { cwd: dir, env: { ...process.env, ...env, MAILWARDEN_CONFIG: join(dir, 'config.yaml') } });
    }
    relay = await spawnRelay(yaml, dir, env);
    // both workers listen before the primary says so
    await waitFor(() => /"msg":"smtp workers listening"/.test(relay.output()));
  });
  afterAll(async () => {
    relay?.child.kill('SIGKILL');
    await redis?.stop();
    await sink?.stop();
  });

  /** the accounting records of a tenant, as the primary wrote them */
  const lines = (tenant: string) => {
    const active = join(dir, 'data/accounting/active');
    let files: string[];
    try {
      files = readdirSync(join(active, tenant));
    } catch {
      return [];
    }
    return files
      .flatMap((f) => readFileSync(join(active, tenant, f), 'utf8').split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string });
  };

  /** the worker pids that relayed a message, by the log lines they wrote */
  const relayedBy = () => [...relay.output().matchAll(/"worker":(\d+)[^\n]*"msg":"message relayed"/g)].map((m) => Number(m[1]));

  it('admit exactly a tenant limit together, and /metrics on the primary sums both', async () => {
    const replies = [];
    // a new connection, STARTTLS and AUTH for every message, as client MTAs send
    for (let i = 0; i < 10; i++) {
      replies.push(await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: [`r${i}@example.org`], message: `Subject: ${i}\r\n\r\nbody\r\n` }));
    }
    expect(replies.filter((r) => r.ok)).toHaveLength(7);
    expect(replies.filter((r) => !r.ok).map((r) => r.response.slice(0, 9))).toEqual(['451 4.7.1', '451 4.7.1', '451 4.7.1']);
    // both workers took part: the limit held across processes, not within one
    expect(new Set(relayedBy()).size).toBe(2);
    await waitFor(() => sink.messages().length === 7);

    const text = await scrape(relay.metricsPort!);
    expect(sample(text, 'mailwarden_workers')).toBe(2);
    expect(sample(text, 'mailwarden_policy_verdicts_total', { stage: 'mail', verdict: 'accept', reason: 'none' })).toBe(7);
    expect(sample(text, 'mailwarden_policy_verdicts_total', { stage: 'mail', verdict: 'reject', reason: 'RATE_LIMITED' })).toBe(3);
    expect(sample(text, 'mailwarden_smtp_sessions_total')).toBe(10);
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'acme', outcome: 'relayed' })).toBe(7);
    expect(sample(text, 'mailwarden_auth_verifications_total', { how: 'hashed_ok' })! + sample(text, 'mailwarden_auth_verifications_total', { how: 'cached' })!).toBe(10);
    // gauges that every process reports alike are not added up
    expect(sample(text, 'mailwarden_store_lost')).toBe(0);
    expect(text.match(/^mailwarden_store_lost /gm)).toHaveLength(1);
    // the workers' records reach the primary's writer within a flush interval or two
    await waitFor(() => lines('acme').length === 10);
  });

  it('a worker that dies is replaced and counted; mail flows on', async () => {
    const victim = relayedBy()[0]!;
    process.kill(victim, 'SIGKILL');
    // not ready while a worker is missing: a load balancer sends its share elsewhere
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${relay.metricsPort}/readyz`);
      return { status: res.status, body: (await res.json()) as { causes: string[] } };
    };
    await waitFor(async () => (await readyz()).status === 503);
    expect((await readyz()).body.causes).toEqual(['1 of 2 SMTP workers listening']);
    // a third worker process listens in its place
    const listening = () => new Set([...relay.output().matchAll(/"worker":(\d+)[^\n]*"msg":"smtp listening"/g)].map((m) => m[1])).size;
    await waitFor(() => listening() === 3, 10_000);
    await waitFor(async () => sample(await scrape(relay.metricsPort!), 'mailwarden_workers') === 2);
    expect(sample(await scrape(relay.metricsPort!), 'mailwarden_worker_restarts_total')).toBe(1);
    await waitFor(async () => (await readyz()).status === 200);
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await sendMail({ port: relay.port, user: 'globex', pass: GLOBEX_PASSWORD, from: 'g@globex.test', to: [`g${i}@example.org`], message: 'Subject: after\r\n\r\nbody\r\n' }));
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(new Set(relayedBy()).size).toBe(3);
  });

  it('SIGTERM drains both workers; the primary writes every worker\'s accounting records', async () => {
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    expect(relay.output().match(/"msg":"worker stopped"/g)).toHaveLength(2);
    expect(lines('acme').filter((r) => r.type === 'relayed')).toHaveLength(7);
    expect(lines('acme').filter((r) => r.type === 'rejected')).toHaveLength(3);
    expect(lines('globex').filter((r) => r.type === 'relayed')).toHaveLength(4);
  });
});
