// One contract for the accounting port, run against both adapters: files (the relay's
// writer into JSON Lines segments) and postgres (batches shipped into a private PostgreSQL).
// The clock is injected: retention is asked on day 90, 91, 730 and 731 of a day's records.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountingStore } from '../../src/accounting/port.js';
import type { AccountingRecord } from '../../src/accounting/records.js';
import { AccountingLog } from '../../src/accounting/writer.js';
import { FileAccounting } from '../../src/accounting/files/store.js';
import { PostgresAccounting } from '../../src/accounting/postgres/store.js';
import { startPostgres, type PostgresProcess } from '../helpers/postgres.js';

const DAY = 86_400_000;
const log = pino({ level: 'silent' });

interface Harness {
  readonly store: AccountingStore;
  /** writes the records as the relay would have at their times */
  append(records: readonly AccountingRecord[]): Promise<void>;
  /** the clock the adapter's side sees */
  setNow(ms: number): void;
  /** lets the adapter finish what the passing of days asks (sealing a day's segment) */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function filesHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-acct-contract-'));
  let now = 0;
  const writer = await AccountingLog.open({ dir, flushMs: 3_600_000, maxBufferedRecords: 1_000_000, minFreeBytes: 0, now: () => now, log });
  const store = new FileAccounting(dir, writer);
  return {
    store,
    async append(records) {
      for (const r of records) {
        now = Date.parse(r.time);
        writer.add(r);
        await writer.flush();
      }
    },
    setNow: (ms) => (now = ms),
    settle: () => writer.flush(),
    close: () => writer.close(),
  };
}

async function postgresHarness(pg: PostgresProcess): Promise<Harness> {
  const store = await PostgresAccounting.open({ url: pg.url, log });
  let offset = 0;
  return {
    store,
    async append(records) {
      const lines = records.map((r) => JSON.stringify(r));
      const to = offset + lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
      expect(await store.ship({ journal: 'contract', file: 'j1', from: offset, to, lines })).toBe(to);
      offset = to;
    },
    setNow: () => undefined,
    settle: async () => undefined,
    close: () => store.close(),
  };
}

const day0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const addr = (p: string) => ({ p, d: 'example.org' });

function relayed(tenant: string, time: number, recipient: string, messageId: string): AccountingRecord {
  return { v: 1, type: 'relayed', time: iso(time), tenant, session: 's', tx: `tx-${recipient}-${time}`, sender: addr('SENDER'), messageId, size: 100, recipient: addr(recipient), upstream: { code: 250, text: 'ok' } };
}

/** The known mix: acme on day 0, day 1 and day 100 after it; globex on day 0. */
function mix(): AccountingRecord[] {
  return [
    relayed('acme', day0, 'SUBJ', '<a1@acme.test>'),
    relayed('acme', day0 + 1000, 'OTHER', '<a1@acme.test>'),
    relayed('globex', day0 + 2000, 'SUBJ', '<g1@globex.test>'),
    { v: 1, type: 'complained', time: iso(day0 + DAY), tenant: 'acme', recipient: addr('SUBJ'), feedbackType: 'abuse', report: 'F1', action: 'complaint' },
    relayed('acme', day0 + DAY + 5000, 'OTHER', '<a2@acme.test>'),
    { v: 1, type: 'rejected', time: iso(day0 + DAY + 6000), tenant: 'acme', session: 's2', sender: addr('SUBJ'), stage: 'mail', reason: 'SENDER_SUPPRESSED', code: 550 },
    relayed('acme', day0 + 100 * DAY, 'SUBJ', '<a3@acme.test>'),
  ];
}

async function all(it: AsyncIterable<AccountingRecord>): Promise<AccountingRecord[]> {
  const out: AccountingRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

let pg: PostgresProcess;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.destroy();
});

describe.each([
  ['files', () => filesHarness()],
  ['postgres', () => postgresHarness(pg)],
] as const)('accounting contract: %s', (_name, make) => {
  let h: Harness;
  const records = mix();

  beforeAll(async () => {
    h = await make();
    await h.append(records);
    h.setNow(day0 + 101 * DAY);
    await h.settle();
  }, 30_000);
  afterAll(async () => {
    await h?.close();
  });

  it('answers by tenant, time range, pseudonym and Message-ID, oldest first, one tenant only', async () => {
    const acme = records.filter((r) => r.tenant === 'acme');
    expect(await all(h.store.query({ tenant: 'acme' }))).toEqual(acme);
    expect(await all(h.store.query({ tenant: 'acme', from: day0 + DAY, to: day0 + 2 * DAY }))).toEqual(acme.slice(2, 5));
    expect(await all(h.store.query({ tenant: 'acme', pseudonym: 'SUBJ' }))).toEqual([acme[0], acme[2], acme[4], acme[5]]);
    expect(await all(h.store.query({ tenant: 'acme', messageId: '<a1@acme.test>' }))).toEqual(acme.slice(0, 2));
    expect(await all(h.store.query({ tenant: 'globex', pseudonym: 'SUBJ' }))).toEqual([records[2]]);
    expect(await all(h.store.query({ tenant: 'nobody' }))).toEqual([]);
    expect(await h.store.countTenant('acme')).toBe(acme.length);
  });

  it('keeps a day active 90 days, archives it on day 91, deletes it on day 731', async () => {
    const dayOf0 = (rs: AccountingRecord[]) => rs.filter((r) => r.time.startsWith(iso(day0).slice(0, 10)));
    // day 90 of day 0: nothing moves
    let r = await h.store.retention({ activeDays: 90, archiveDays: 730, now: day0 + 90 * DAY });
    expect(r).toMatchObject({ archived: 0, deleted: 0 });
    expect(dayOf0(await all(h.store.query({ tenant: 'acme', archived: false })))).toHaveLength(2);
    // day 91: day 0 archived (acme's and globex's), day 1 not yet
    h.setNow(day0 + 91 * DAY);
    r = await h.store.retention({ activeDays: 90, archiveDays: 730, now: day0 + 91 * DAY });
    expect(r.archived).toBeGreaterThanOrEqual(1);
    expect(dayOf0(await all(h.store.query({ tenant: 'acme', archived: false })))).toEqual([]);
    expect(dayOf0(await all(h.store.query({ tenant: 'acme' })))).toHaveLength(2);
    expect(await all(h.store.query({ tenant: 'globex', archived: false }))).toEqual([]);
    expect(await all(h.store.query({ tenant: 'acme', archived: false, from: day0 + DAY, to: day0 + 2 * DAY }))).toHaveLength(3);
    // a dry run says what would happen and changes nothing
    const dry = await h.store.retention({ activeDays: 90, archiveDays: 730, now: day0 + 731 * DAY, dryRun: true });
    expect(dry.deleted).toBeGreaterThanOrEqual(1);
    expect(dayOf0(await all(h.store.query({ tenant: 'acme' })))).toHaveLength(2);
    // day 730 kept, day 731 gone
    await h.store.retention({ activeDays: 90, archiveDays: 730, now: day0 + 730 * DAY });
    expect(dayOf0(await all(h.store.query({ tenant: 'acme' })))).toHaveLength(2);
    r = await h.store.retention({ activeDays: 90, archiveDays: 730, now: day0 + 731 * DAY });
    expect(r.deleted).toBeGreaterThanOrEqual(1);
    expect(dayOf0(await all(h.store.query({ tenant: 'acme' })))).toEqual([]);
    expect(await all(h.store.query({ tenant: 'globex' }))).toEqual([]);
    // day 1 was archived on its day 91 by the same runs, and is still there
    expect(await all(h.store.query({ tenant: 'acme', from: day0 + DAY, to: day0 + 2 * DAY }))).toHaveLength(3);
  });

  it('erases a subject from active and archived records, in its tenant only', async () => {
    // the days so far are archived by now; one more record of the subject is active
    await h.append([relayed('acme', day0 + 731 * DAY, 'SUBJ', '<a5@acme.test>')]);
    expect(await all(h.store.query({ tenant: 'acme', pseudonym: 'SUBJ', archived: false }))).toHaveLength(1);
    expect(await all(h.store.query({ tenant: 'acme', pseudonym: 'SUBJ' }))).toHaveLength(4);
    expect((await h.store.eraseSubject('acme', 'SUBJ')).removed).toBe(4);
    expect(await all(h.store.query({ tenant: 'acme', pseudonym: 'SUBJ' }))).toEqual([]);
    expect(await all(h.store.query({ tenant: 'acme' }))).toEqual([records[4]]);
  });

  it('returns a tenant\'s records and deletes them all, with counts that match what was there', async () => {
    await h.append([relayed('acme', day0 + 101 * DAY, 'LATE', '<a4@acme.test>'), relayed('globex', day0 + 101 * DAY, 'KEEP', '<g2@globex.test>')]);
    await h.settle();
    const there = await h.store.countTenant('acme');
    expect(there).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-return-'));
    const returned = await h.store.returnTenant('acme', dir);
    expect(returned.records).toBe(there);
    expect(returned.files).toBeGreaterThanOrEqual(1);
    expect(readdirSync(dir, { recursive: true }).length).toBeGreaterThanOrEqual(1);
    expect((await h.store.deleteTenant('acme')).records).toBe(there);
    expect(await h.store.countTenant('acme')).toBe(0);
    expect(await all(h.store.query({ tenant: 'acme' }))).toEqual([]);
    expect(await all(h.store.query({ tenant: 'globex' }))).toHaveLength(1);
  });
});

describe('accounting on PostgreSQL: what only a shared engine has to show', () => {
  let store: PostgresAccounting;
  let other: PostgresAccounting;
  beforeAll(async () => {
    // two replicas starting together: the schema is made once
    [store, other] = await Promise.all([PostgresAccounting.open({ url: `${pg.url}`, log }), PostgresAccounting.open({ url: pg.url, log })]);
  });
  afterAll(async () => {
    await store?.close();
    await other?.close();
  });

  it('writes a batch exactly once: a batch sent again, or sent by a stale attempt, changes nothing', async () => {
    const before = await store.count();
    const lines = [JSON.stringify(relayed('once', Date.UTC(2026, 5, 1), 'P1', '<o1@x>')), JSON.stringify(relayed('once', Date.UTC(2026, 5, 1, 1), 'P2', '<o2@x>'))];
    expect(await store.ship({ journal: 'r1', file: 'f', from: 0, to: 200, lines })).toBe(200);
    // the reply was lost and the same batch comes again (from another connection)
    expect(await other.ship({ journal: 'r1', file: 'f', from: 0, to: 200, lines })).toBe(200);
    expect(await store.count()).toBe(before + 2);
    expect(await store.shipped('r1', 'f')).toBe(200);
    // another journal's file of the same name is its own
    expect(await store.ship({ journal: 'r2', file: 'f', from: 0, to: 100, lines: lines.slice(0, 1) })).toBe(100);
    expect(await store.count()).toBe(before + 3);
  });

  it('a record of an erased subject or a deleted tenant that was still in a journal is not written after the erasure', async () => {
    const t = Date.now() - 60_000;
    await store.ship({ journal: 'late', file: 'f', from: 0, to: 1, lines: [JSON.stringify(relayed('late', t, 'GONE', '<l1@x>'))] });
    expect((await store.eraseSubject('late', 'GONE')).removed).toBe(1);
    await store.ship({ journal: 'late', file: 'f', from: 1, to: 2, lines: [JSON.stringify(relayed('late', t + 1, 'GONE', '<l2@x>')), JSON.stringify(relayed('late', t + 2, 'STAYS', '<l3@x>'))] });
    expect((await all(store.query({ tenant: 'late' }))).map((r) => (r as { recipient: { p: string } }).recipient.p)).toEqual(['STAYS']);
    await store.deleteTenant('late');
    await store.ship({ journal: 'late', file: 'f', from: 2, to: 3, lines: [JSON.stringify(relayed('late', t + 3, 'STAYS', '<l4@x>'))] });
    expect(await store.countTenant('late')).toBe(0);
  });

  it('runs retention once per installation: a second replica asking within the interval does nothing', async () => {
    const now = Date.UTC(2030, 0, 1);
    expect((await store.retention({ activeDays: 90, archiveDays: 730, now, everyMs: 20 * 3_600_000 })).ran).toBe(true);
    expect((await other.retention({ activeDays: 90, archiveDays: 730, now: now + 3_600_000, everyMs: 20 * 3_600_000 })).ran).toBe(false);
    expect((await other.retention({ activeDays: 90, archiveDays: 730, now: now + 21 * 3_600_000, everyMs: 20 * 3_600_000 })).ran).toBe(true);
  });

  it('moves archived days onto accounting.postgres.archiveTablespace when one is named, and reads them there', async () => {
    const admin = await import('pg');
    const client = new admin.default.Client(pg.url);
    await client.connect();
    await client.query(`CREATE TABLESPACE mw_archive LOCATION '${pg.tablespaceDir('archive')}'`);
    await client.end();
    const archiving = await PostgresAccounting.open({ url: pg.url, log, archiveTablespace: 'mw_archive' });
    try {
      const day = Date.UTC(2031, 0, 5, 10);
      await archiving.ship({ journal: 'ts', file: 'f', from: 0, to: 1, lines: [JSON.stringify(relayed('ts', day, 'T1', '<ts@x>'))] });
      expect(await archiving.whereIs('2031-01-05')).toEqual({ where: 'active', tablespace: 'pg_default' });
      await archiving.retention({ activeDays: 90, archiveDays: 730, now: day + 91 * DAY });
      expect(await archiving.whereIs('2031-01-05')).toEqual({ where: 'archive', tablespace: 'mw_archive' });
      expect(await all(archiving.query({ tenant: 'ts' }))).toHaveLength(1);
      expect(await all(archiving.query({ tenant: 'ts', archived: false }))).toEqual([]);
    } finally {
      await archiving.close();
    }
  });

  it('keeps the record text as written', async () => {
    const r = relayed('verbatim', Date.UTC(2026, 6, 1), 'V', '<v@x>');
    await store.ship({ journal: 'v', file: 'f', from: 0, to: 1, lines: [JSON.stringify(r)] });
    const [back] = await all(store.query({ tenant: 'verbatim' }));
    expect(JSON.stringify(back)).toBe(JSON.stringify(r));
    expect(readFileSync(join(pg.dir, 'log'), 'utf8')).not.toMatch(/ERROR/);
  });
});
