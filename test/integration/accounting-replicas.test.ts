// Two relays on one Redis and one PostgreSQL (accounting.kind: postgres), each with its own
// journal: whichever replica an admin request reaches sees, erases and deletes the records of
// both, and a report reaching one about a message the other relayed is attributed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresAccounting } from '../../src/accounting/postgres/store.js';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { sendMail } from '../helpers/client.js';
import { scrape, sample } from '../helpers/metrics.js';
import { CLI, spawnRelay, type RelayProcess } from '../helpers/process.js';
import { startPostgres, type PostgresProcess } from '../helpers/postgres.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { ACME_HASH, ACME_PASSWORD, GLOBEX_HASH, GLOBEX_PASSWORD } from '../helpers/relay.js';
import { arf } from '../helpers/reports.js';

const run = promisify(execFile);

interface ApiAnswer {
  readonly records: Array<{ type: string; messageId: string }>;
  readonly recordsRemoved: number;
  readonly verified: Record<string, boolean>;
  readonly deleted: { accountingRecords: number };
}

describe('accounting shared by two replicas through PostgreSQL', () => {
  let upstream: CaptureUpstream;
  let redis: RedisProcess;
  let pg: PostgresProcess;
  let db: PostgresAccounting;
  const replicas: RelayProcess[] = [];
  const dirs: string[] = [];
  const masterKey = randomBytes(32).toString('base64');
  let configFile = '';
  let token = '';

  const yaml = (accountingDir: string, workers = 1) => `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test, workers: ${workers} }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { kind: redis, url: "${redis.url}" }
keys: { generateMasterKey: false }
metrics: { port: 0 }
feedback: { port: 0 }
admin: { port: 0 }
accounting:
  kind: postgres
  dir: ${accountingDir}
  flushMs: 100
  postgres: { url: "${pg.url}", journalRotateMs: 300, shipIntervalMs: 50 }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test] }
  - { id: globex, username: globex, password: "${GLOBEX_HASH}", domains: [globex.test] }
log: { level: info }
`;
  const env = () => ({ ...process.env, MAILWARDEN_CONFIG: configFile, MAILWARDEN_MASTER_KEY: masterKey });
  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: env() });
  /** a POST to a replica's admin API; the answer's fields as this test reads them */
  const api = async (replica: RelayProcess, path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${replica.adminPort}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as ApiAnswer };
  };
  /** every record the replicas took is in the database: written to the journal (flushMs) and shipped */
  const shipped = async () => {
    await new Promise((r) => setTimeout(r, 250));
    await waitFor(async () => {
      for (const r of replicas) if (sample(await scrape(r.metricsPort!), 'mailwarden_accounting_journal_backlog_bytes') !== 0) return false;
      return true;
    });
  };
  const relay = async (replica: RelayProcess, user: 'acme' | 'globex', to: string, messageId: string) => {
    const from = user === 'acme' ? 'alice@acme.test' : 'info@globex.test';
    const sent = await sendMail({ port: replica.port, user, pass: user === 'acme' ? ACME_PASSWORD : GLOBEX_PASSWORD, from, to: [to], message: `From: ${from}\r\nTo: ${to}\r\nMessage-ID: ${messageId}\r\nSubject: s\r\n\r\nHello.\r\n` });
    expect(sent.ok).toBe(true);
  };

  beforeAll(async () => {
    [upstream, redis, pg] = await Promise.all([startCaptureUpstream(), startRedis(), startPostgres()]);
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-replicas-'));
    configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, yaml(join(dir, 'cli-accounting')));
    await run(process.execPath, [CLI, 'store', 'init', '--empty', '--yes'], { env: env() });
    // started together: the schema is made once, under its lock
    const started = await Promise.all(
      [0, 1].map(async () => {
        const d = mkdtempSync(join(tmpdir(), 'mw-acct-replica-'));
        dirs.push(d);
        return spawnRelay(yaml(join(d, 'accounting')), d, { MAILWARDEN_MASTER_KEY: masterKey });
      }),
    );
    replicas.push(...started);
    token = (await cli('token', 'create', '--role', 'operator', '--name', 'test')).stdout.trim();
    db = await PostgresAccounting.open({ url: pg.url, log: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await db?.close();
    await Promise.all([redis?.stop(), upstream?.close(), pg?.destroy()]);
  });

  it('a subject export through either replica has the records both wrote; an erasure through one removes them everywhere', async () => {
    const [a, b] = replicas as [RelayProcess, RelayProcess];
    await relay(a, 'acme', 'subject@example.org', '<s1@acme.test>');
    await relay(b, 'acme', 'subject@example.org', '<s2@acme.test>');
    await relay(b, 'acme', 'other@example.org', '<s3@acme.test>');
    await relay(a, 'globex', 'subject@example.org', '<g1@globex.test>');
    await shipped();
    for (const r of [a, b]) {
      const { status, body } = await api(r, '/tenants/acme/subjects/export', { address: 'subject@example.org' });
      expect(status).toBe(200);
      expect(body.records.filter((x) => x.type === 'relayed').map((x) => x.messageId).sort()).toEqual(['<s1@acme.test>', '<s2@acme.test>']);
    }
    const erased = await api(b, '/tenants/acme/subjects/erase', { address: 'subject@example.org' });
    expect(erased.status).toBe(200);
    expect(erased.body.recordsRemoved).toBe(2);
    const after = await api(a, '/tenants/acme/subjects/export', { address: 'subject@example.org' });
    expect(after.body.records).toEqual([]);
    // the other tenant's records of the same address are its own
    expect((await api(a, '/tenants/globex/subjects/export', { address: 'subject@example.org' })).body.records).toHaveLength(1);
  });

  it('a report without the reference, at one replica, about a message the other relayed, is attributed by its Message-ID', async () => {
    const [a, b] = replicas as [RelayProcess, RelayProcess];
    await relay(a, 'acme', 'complainer@example.org', '<by-id-across@acme.test>');
    const copy = upstream.messages.at(-1)!.raw.toString('latin1').replace(/^X-Mailwarden-Ref:.*\r\n(?:[ \t].*\r\n)*/m, '');
    expect(copy).not.toContain('X-Mailwarden-Ref');
    await shipped();
    const sent = await sendMail({ port: b.feedbackPort!, from: 'fbl@isp.example', to: ['fbl@relay.test'], message: arf(copy), tls: false });
    expect(sent.response).toMatch(/ applied$/);
  });

  it('offboarding through one replica leaves nothing of the tenant in PostgreSQL, the journals or the store, and its certificate counts what was there', async () => {
    const [a, b] = replicas as [RelayProcess, RelayProcess];
    await relay(a, 'acme', 'last-a@example.org', '<o1@acme.test>');
    await relay(b, 'acme', 'last-b@example.org', '<o2@acme.test>');
    await relay(b, 'globex', 'stays@example.org', '<o3@globex.test>');
    await shipped();
    const before = await db.countTenant('acme');
    expect(before).toBeGreaterThanOrEqual(4);
    const returnDir = join(mkdtempSync(join(tmpdir(), 'mw-acct-return-')), 'acme');
    const { status, body: cert } = await api(b, '/tenants/acme/offboard', { returnDir });
    expect(status).toBe(200);
    expect(cert.verified).toEqual({ tenantRecordGone: true, accountingGone: true, suppressionsGone: true });
    expect(cert.deleted.accountingRecords).toBe(before);
    const returned = readFileSync(join(returnDir, 'accounting', 'records.jsonl'), 'utf8').trim().split('\n');
    expect(returned).toHaveLength(before);
    expect(await db.countTenant('acme')).toBe(0);
    expect(await db.countTenant('globex')).toBeGreaterThanOrEqual(2);
    // the journals hold nothing once shipped: every file of each replica is deleted after it
    await waitFor(async () => dirs.every((d) => journalLines(join(d, 'accounting', 'journal')).every((l) => !l.includes('"tenant":"acme"'))));
    for (const r of replicas) expect(sample(await scrape(r.metricsPort!), 'mailwarden_accounting_journal_backlog_bytes')).toBe(0);
    // and nothing comes back from a record still on its way: the database remembers the deletion
    expect(await db.countTenant('acme')).toBe(0);
    expect(existsSync(join(dirs[0]!, 'accounting', 'journal', 'journal.id'))).toBe(true);
  });

  it('with smtp.workers: 2 the primary journals what its workers relay, and a worker attributes a report through the database', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mw-acct-workers-'));
    const w = await spawnRelay(yaml(join(d, 'accounting'), 2), d, { MAILWARDEN_MASTER_KEY: masterKey });
    try {
      await relay(w, 'globex', 'worker-a@example.org', '<w1@globex.test>');
      await relay(w, 'globex', 'worker-b@example.org', '<w2@globex.test>');
      const copy = upstream.messages.at(-1)!.raw.toString('latin1').replace(/^X-Mailwarden-Ref:.*\r\n(?:[ \t].*\r\n)*/m, '');
      // the workers hand their records to the primary, whose journal ships them
      const inDb = async (messageId: string) => !(await db.query({ tenant: 'globex', messageId })[Symbol.asyncIterator]().next()).done;
      await waitFor(async () => (await inDb('<w1@globex.test>')) && (await inDb('<w2@globex.test>')));
      expect(sample(await scrape(w.metricsPort!), 'mailwarden_accounting_records_shipped_total')).toBeGreaterThanOrEqual(2);
      expect((await api(w, '/tenants/globex/subjects/export', { address: 'worker-a@example.org' })).body.records.map((r) => r.messageId)).toEqual(['<w1@globex.test>']);
      // the report reaches a worker; the Message-ID is looked up in PostgreSQL
      const sent = await sendMail({ port: w.feedbackPort!, from: 'fbl@isp.example', to: ['fbl@relay.test'], message: arf(copy), tls: false });
      expect(sent.response).toMatch(/ applied$/);
      expect(readdirSync(join(d, 'accounting', 'journal')).filter((n) => n.endsWith('.jsonl')).length).toBeLessThanOrEqual(1);
    } finally {
      w.child.kill('SIGKILL');
    }
  });
});

function journalLines(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean));
}

async function waitFor(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
