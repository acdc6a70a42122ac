// Accounting on PostgreSQL under faults, with two relays relaying at full speed: the database
// stopped for 30 s changes no client reply and, once it is back, every record is there once;
// a relay SIGKILLed mid-run loses at most its last second of records and writes none twice.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresAccounting } from '../../src/accounting/postgres/store.js';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { RawSession } from '../helpers/client.js';
import { scrape, sample } from '../helpers/metrics.js';
import { CLI, spawnRelay, type RelayProcess } from '../helpers/process.js';
import { startPostgres, type PostgresProcess } from '../helpers/postgres.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const run = promisify(execFile);

interface Sent {
  readonly messageId: string;
  readonly relay: number;
  readonly reply: string;
  readonly at: number;
}

describe('accounting on PostgreSQL under faults', () => {
  let upstream: CaptureUpstream;
  let redis: RedisProcess;
  let pg: PostgresProcess;
  let db: PostgresAccounting;
  const replicas: RelayProcess[] = [];
  const dirs: string[] = [];
  const masterKey = randomBytes(32).toString('base64');
  let yaml = '';

  beforeAll(async () => {
    [upstream, redis, pg] = await Promise.all([startCaptureUpstream(), startRedis(), startPostgres()]);
    yaml = `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { kind: redis, url: "${redis.url}" }
keys: { generateMasterKey: false }
metrics: { port: 0 }
feedback: { enabled: false }
admin: { enabled: false }
accounting:
  kind: postgres
  dir: ./accounting
  postgres: { url: "${pg.url}", journalRotateMs: 1000, shipIntervalMs: 100, timeoutMs: 2000 }
tenants:
  - id: load
    networks: [127.0.0.1/32]
    domains: [load.test]
    limits:
      messages: [{ limit: 10000000, per: minute }]
      recipients: [{ limit: 10000000, per: minute }]
      perSender: [{ limit: 10000000, per: minute }]
      perRecipientDomain: [{ limit: 10000000, per: minute }]
log: { level: info }
`;
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-outage-'));
    writeFileSync(join(dir, 'config.yaml'), yaml);
    await run(process.execPath, [CLI, 'store', 'init', '--empty', '--yes'], { env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml'), MAILWARDEN_MASTER_KEY: masterKey } });
    for (let i = 0; i < 2; i++) {
      const d = mkdtempSync(join(tmpdir(), 'mw-acct-outage-relay-'));
      dirs.push(d);
      replicas.push(await spawnRelay(yaml, d, { MAILWARDEN_MASTER_KEY: masterKey }));
    }
    db = await PostgresAccounting.open({ url: pg.url, log: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await db?.close();
    await Promise.all([redis?.stop(), upstream?.close(), pg?.destroy()]);
  });

  /** `sessions` clients per relay, each sending one message after the other until `stop` says so */
  function load(stop: () => boolean, sessions = 3): { sent: Sent[]; done: Promise<void> } {
    const sent: Sent[] = [];
    const client = async (relay: number) => {
      while (!stop()) {
        let s: RawSession | null = null;
        try {
          s = await RawSession.open(replicas[relay]!.port);
          await s.reply();
          await s.command('EHLO load.test');
          for (let i = 0; i < 20 && !stop(); i++) {
            const messageId = `<${randomBytes(8).toString('hex')}@load.test>`;
            // a refusal before DATA is a reply that changed as much as one after it
            const steps: Array<[string, string]> = [
              ['MAIL FROM:<sender@load.test>', '250 '],
              ['RCPT TO:<rcpt@example.org>', '250 '],
              ['DATA', '354 '],
              [`From: sender@load.test\r\nMessage-ID: ${messageId}\r\nSubject: load\r\n\r\nHello.\r\n.`, '250 '],
            ];
            let reply = '';
            for (const [line, expected] of steps) {
              reply = await s.command(line);
              if (!reply.startsWith(expected)) break;
            }
            sent.push({ messageId, relay, reply, at: Date.now() });
            if (!reply.startsWith('250 ')) break;
          }
          await s.command('QUIT').catch(() => undefined);
        } catch {
          // a relay killed under the client: the next session goes to it once it is back
          await new Promise((r) => setTimeout(r, 100));
        } finally {
          s?.destroy();
        }
      }
    };
    const done = Promise.all([0, 1].flatMap((relay) => Array.from({ length: sessions }, () => client(relay)))).then(() => undefined);
    return { sent, done };
  }

  const shipped = async (relays: RelayProcess[]) => {
    await new Promise((r) => setTimeout(r, 1500));
    const deadline = Date.now() + 30_000;
    for (;;) {
      let backlog = 0;
      for (const r of relays) backlog += sample(await scrape(r.metricsPort!), 'mailwarden_accounting_journal_backlog_bytes') ?? 0;
      if (backlog === 0) return;
      if (Date.now() > deadline) throw new Error(`journals not shipped: ${backlog} bytes left`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  /** relayed records in the database by Message-ID, and how many times each is there */
  async function recordsOf(sent: Sent[]): Promise<Map<string, number>> {
    const ids = new Set(sent.map((s) => s.messageId));
    const found = new Map<string, number>();
    for await (const r of db.query({ tenant: 'load' })) {
      if (r.type !== 'relayed' || !('messageId' in r) || !r.messageId || !ids.has(r.messageId)) continue;
      found.set(r.messageId, (found.get(r.messageId) ?? 0) + 1);
    }
    return found;
  }

  it('PostgreSQL stopped for 30 s: every reply is 250 as before, and once it is back every record is there exactly once', async () => {
    let stopping = false;
    const { sent, done } = load(() => stopping);
    await new Promise((r) => setTimeout(r, 2000));
    await pg.stop();
    const during = sent.length;
    await new Promise((r) => setTimeout(r, 30_000));
    const whileDown = sent.length - during;
    // the journals grew while the database was away
    const grown = (await Promise.all(replicas.map(async (r) => sample(await scrape(r.metricsPort!), 'mailwarden_accounting_journal_backlog_bytes') ?? 0))).reduce((a, b) => a + b, 0);
    await pg.start();
    await new Promise((r) => setTimeout(r, 2000));
    stopping = true;
    await done;
    expect(whileDown).toBeGreaterThan(100);
    expect(grown).toBeGreaterThan(0);
    expect(sent.filter((s) => !s.reply.startsWith('250 '))).toEqual([]);
    await shipped(replicas);
    const found = await recordsOf(sent);
    expect(found.size).toBe(sent.length);
    expect([...found.values()].filter((n) => n !== 1)).toEqual([]);
  }, 90_000);

  it('a relay that starts while PostgreSQL is away takes mail, and its records reach the database once it is back', async () => {
    await pg.stop();
    replicas[1]!.child.kill('SIGTERM');
    await replicas[1]!.exited;
    replicas[1] = await spawnRelay(yaml, dirs[1], { MAILWARDEN_MASTER_KEY: masterKey });
    expect(replicas[1].output()).toContain('accounting database unreachable at start: records wait in the journal until it answers');
    let stopping = false;
    const { sent, done } = load(() => stopping, 1);
    await new Promise((r) => setTimeout(r, 1500));
    await pg.start();
    await new Promise((r) => setTimeout(r, 1000));
    stopping = true;
    await done;
    expect(sent.filter((s) => s.relay === 1).length).toBeGreaterThan(10);
    expect(sent.filter((s) => !s.reply.startsWith('250 '))).toEqual([]);
    await shipped(replicas);
    const found = await recordsOf(sent);
    expect(found.size).toBe(sent.length);
    expect([...found.values()].filter((n) => n !== 1)).toEqual([]);
  }, 60_000);

  it('a relay SIGKILLed mid-run loses at most its last second of records, and none is written twice', async () => {
    let stopping = false;
    const { sent, done } = load(() => stopping);
    await new Promise((r) => setTimeout(r, 4000));
    replicas[0]!.child.kill('SIGKILL');
    const killedAt = Date.now();
    await replicas[0]!.exited;
    // the same directory: its journal (and the journal's id) survive the process
    replicas[0] = await spawnRelay(yaml, dirs[0], { MAILWARDEN_MASTER_KEY: masterKey });
    await new Promise((r) => setTimeout(r, 2000));
    stopping = true;
    await done;
    await shipped(replicas);
    const found = await recordsOf(sent);
    expect([...found.values()].filter((n) => n !== 1)).toEqual([]);
    const missing = sent.filter((s) => s.reply.startsWith('250 ') && !found.has(s.messageId));
    // only replies the killed relay gave in its last second (one flush interval) may have no record
    expect(missing.filter((s) => s.relay !== 0 || s.at < killedAt - 1100)).toEqual([]);
    expect(sent.filter((s) => s.relay === 0 && s.at < killedAt - 1100).length).toBeGreaterThan(10);
  }, 90_000);
});
