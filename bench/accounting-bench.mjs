// What accounting costs, in one run:
//   1. relay throughput (smtp-source → mailwarden → smtp-sink, 1 KB, 20 sessions, 5
//      recipients per message) with accounting records written to files, and with them
//      journaled and shipped to PostgreSQL (accounting.kind: postgres), against the same
//      relay composed without them; and how many records per second were written meanwhile;
//   2. how many records per second a journal ships to PostgreSQL (200k waiting);
//   3. a subject query (one address) over 90 days of 100k records a day (9M records) in
//      sealed, indexed segments, with its time, and the same query reading every day;
//   4. the same subject query over the same 9M records in PostgreSQL.
// Usage: node bench/accounting-bench.mjs [--quick]   (npm run bench runs it too)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { median, requirePostfixTools, smtpSource, startBenchRelay, startSink } from './common.mjs';
import { startPostgres } from './postgres.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const MSGS = quick ? 1000 : 3000;
const DAYS = quick ? 10 : 90;
const PER_DAY = quick ? 10_000 : 100_000;
requirePostfixTools();
const dist = (p) => import(join(root, 'dist', p));

function countRecords(dir) {
  const d = join(dir, 'accounting', 'active', 'bench');
  if (!existsSync(d)) return 0;
  return readdirSync(d)
    .filter((f) => f.endsWith('.jsonl'))
    .reduce((n, f) => n + readFileSync(join(d, f), 'utf8').split('\n').filter(Boolean).length, 0);
}

async function throughput(pgUrl, db) {
  const sink = await startSink();
  const onDir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-on-'));
  const offDir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-off-'));
  const pgDir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-pg-'));
  const on = await startBenchRelay(root, onDir, sink.port);
  const off = await startBenchRelay(root, offDir, sink.port, { startOptions: { withoutAccounting: true } });
  const pg = await startBenchRelay(root, pgDir, sink.port, { accountingYaml: `{ kind: postgres, dir: ${join(pgDir, 'accounting')}, minFreeBytes: 0, postgres: { url: "${pgUrl}" } }` });
  const rates = { on: [], off: [], pg: [] };
  const recordsPerSecond = [];
  const pgRecordsPerSecond = [];
  try {
    for (const r of [on, off, pg]) await smtpSource(r.port, 20, 200);
    for (let r = 0; r < ROUNDS; r++) {
      rates.off.push(await smtpSource(off.port, 20, MSGS));
      await new Promise((res) => setTimeout(res, 1200));
      const before = countRecords(onDir);
      let t = Date.now();
      rates.on.push(await smtpSource(on.port, 20, MSGS));
      let took = (Date.now() - t) / 1000;
      await new Promise((res) => setTimeout(res, 1200));
      recordsPerSecond.push((countRecords(onDir) - before) / took);
      const inDb = await db.count();
      t = Date.now();
      rates.pg.push(await smtpSource(pg.port, 20, MSGS));
      took = (Date.now() - t) / 1000;
      // every record of the run in the database before the next one: the count stands still for 1.5 s
      let n = await db.count();
      for (;;) {
        await new Promise((res) => setTimeout(res, 1500));
        const now = await db.count();
        if (now === n) break;
        n = now;
      }
      pgRecordsPerSecond.push((n - inDb) / took);
    }
  } finally {
    for (const r of [on, off, pg]) await r.stop();
    sink.stop();
  }
  const [rOn, rOff, rPg] = [median(rates.on), median(rates.off), median(rates.pg)];
  console.log(`relay, 1 KB, 20 sessions, 5 recipients/message: without accounting ${rOff.toFixed(0)} msg/s`);
  console.log(`  accounting in files:      ${rOn.toFixed(0)} msg/s = ${((rOn / rOff) * 100).toFixed(0)}% (target >= 95%); ${median(recordsPerSecond).toFixed(0)} records/s written (5 per message)`);
  console.log(`  accounting in PostgreSQL: ${rPg.toFixed(0)} msg/s = ${((rPg / rOff) * 100).toFixed(0)}% (target >= 95%); ${median(pgRecordsPerSecond).toFixed(0)} records/s into the database`);
}

/** a journal of `n` records, then a shipper: records per second into PostgreSQL */
async function shipping(pgUrl, db) {
  const { Journal } = await dist('accounting/journal.js');
  const { Shipper } = await dist('accounting/postgres/shipper.js');
  const { pino } = await import('pino');
  const log = pino({ level: 'silent' });
  const n = quick ? 50_000 : 200_000;
  const dir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-journal-'));
  const journal = await Journal.open({ dir, flushMs: 60_000, maxBufferedRecords: 10_000_000, minFreeBytes: 0, now: Date.now, log, rotateMs: 3_600_000, maxFileBytes: 64 * 1024 * 1024 });
  const day = new Date().toISOString().slice(0, 10);
  for (let i = 0; i < n; i += 1000) {
    let lines = '';
    for (let j = i; j < i + 1000; j++) lines += `{"v":1,"type":"relayed","time":"${day}T12:00:00.000Z","tenant":"ship","session":"s${j}","tx":"s${j}.1","sender":{"p":"SENDERpseudonym0000000","d":"bench.test"},"messageId":"<${j}@bench.test>","size":1024,"recipient":{"p":"${randomBytes(16).toString('base64url').slice(0, 22)}","d":"example.org"},"upstream":{"code":250,"text":"ok"}}\n`;
    journal.addLines('ship', day, lines, 1000);
  }
  await journal.rotate();
  const before = await db.count();
  const shipper = new Shipper({ journal, dir, store: db, log, batchRecords: 5000, intervalMs: 200 });
  const t = process.hrtime.bigint();
  await shipper.shipAll();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const shipped = (await db.count()) - before;
  await journal.close();
  console.log(`journal shipping: ${shipped} records in ${seconds.toFixed(1)} s = ${(shipped / seconds).toFixed(0)} records/s into PostgreSQL (batches of 5000)`);
}

async function subjectQuery() {
  const { queryAccounting } = await dist('accounting/query.js');
  const { writeIndex } = await dist('accounting/segments.js');
  const dir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-query-'));
  const seg = join(dir, 'active', 'bench');
  mkdirSync(seg, { recursive: true });
  const subject = 'SUBJECTpseudonym000000';
  const subjectDays = new Set([5, Math.floor(DAYS / 2), DAYS - 3]);
  const start = Date.UTC(2026, 0, 1);
  const generated = Date.now();
  for (let d = 0; d < DAYS; d++) {
    const day = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
    const lines = [];
    for (let i = 0; i < PER_DAY; i++) {
      const p = subjectDays.has(d) && i === 7 ? subject : randomBytes(16).toString('base64url').slice(0, 22);
      lines.push(
        `{"v":1,"type":"relayed","time":"${day}T12:00:00.000Z","tenant":"bench","session":"s${i}","tx":"s${i}.1","sender":{"p":"SENDERpseudonym0000000","d":"bench.test"},"messageId":"<${d}.${i}@bench.test>","size":1024,"recipient":{"p":"${p}","d":"example.org"},"upstream":{"code":250,"text":"ok"}}`,
      );
    }
    const file = join(seg, `${day}.jsonl.gz`);
    writeFileSync(file, gzipSync(`${lines.join('\n')}\n`, { level: 1 }));
    await writeIndex(file);
    if ((d + 1) % 10 === 0) process.stderr.write(`  ${d + 1}/${DAYS} days of ${PER_DAY} records generated (${((Date.now() - generated) / 1000).toFixed(0)} s)\n`);
  }
  const run = async (useIndex) => {
    const t = process.hrtime.bigint();
    let found = 0;
    let read = 0;
    for await (const r of queryAccounting({ dir, tenant: 'bench', pseudonym: subject, onSegment: (_d, wasRead) => (read += wasRead ? 1 : 0) })) found += r ? 1 : 0;
    if (!useIndex) {
      // the same question answered by reading every record
      for await (const r of queryAccounting({ dir, tenant: 'bench' })) if (r.recipient?.p === subject) found += 0;
    }
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, found, read };
  };
  const indexed = await run(true);
  console.log(`subject query over ${DAYS} days x ${PER_DAY} records (${DAYS * PER_DAY} records): ${indexed.found} found in ${indexed.ms.toFixed(0)} ms, ${indexed.read} of ${DAYS} days read, the rest skipped by their index`);
  const full = await run(false);
  console.log(`  the same reading every record: ${(full.ms / 1000).toFixed(1)} s`);
}

/** the subject query in PostgreSQL over DAYS days of PER_DAY records, made by the database itself */
async function subjectQueryPostgres(pgUrl, db) {
  const { default: pg } = await import('pg');
  const client = new pg.Client(pgUrl);
  await client.connect();
  const subject = 'SUBJECTpseudonym000000';
  const subjectDays = [5, Math.floor(DAYS / 2), DAYS - 3];
  const start = Date.UTC(2026, 0, 1);
  const generated = Date.now();
  try {
    for (let d = 0; d < DAYS; d++) {
      const day = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
      // the first record through the adapter (it makes the day's partition), the rest by the database
      await db.ship({ journal: 'bench-query', file: day, from: 0, to: 1, lines: [`{"v":1,"type":"admin","time":"${day}T00:00:00.000Z","tenant":"query","action":"bench","actor":"bench"}`] });
      await client.query(
        `INSERT INTO mw_accounting (day, time, tenant, type, sender_p, recipient_p, message_id, record)
         SELECT $1::date, $1::date + time '12:00', 'query', 'relayed', 'SENDERpseudonym0000000', p, m,
                json_build_object('v', 1, 'type', 'relayed', 'time', $1 || 'T12:00:00.000Z', 'tenant', 'query', 'session', 's' || i, 'tx', 's' || i || '.1',
                  'sender', json_build_object('p', 'SENDERpseudonym0000000', 'd', 'bench.test'), 'messageId', m, 'size', 1024,
                  'recipient', json_build_object('p', p, 'd', 'example.org'), 'upstream', json_build_object('code', 250, 'text', 'ok'))
         FROM (SELECT i, CASE WHEN $2 AND i = 7 THEN $3 ELSE substr(md5(i::text || $1), 1, 22) END AS p, '<' || $1 || '.' || i || '@bench.test>' AS m
               FROM generate_series(1, $4::int) AS i) g`,
        [day, subjectDays.includes(d), subject, PER_DAY],
      );
      if ((d + 1) % 10 === 0) process.stderr.write(`  ${d + 1}/${DAYS} days of ${PER_DAY} records in PostgreSQL (${((Date.now() - generated) / 1000).toFixed(0)} s)\n`);
    }
    await client.query('ANALYZE mw_accounting');
  } finally {
    await client.end();
  }
  const run = async () => {
    const t = process.hrtime.bigint();
    let found = 0;
    for await (const r of db.query({ tenant: 'query', pseudonym: subject })) found += r.type === 'relayed' ? 1 : 0;
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, found };
  };
  const first = await run();
  const second = await run();
  console.log(`subject query in PostgreSQL over ${DAYS} days x ${PER_DAY} records (${DAYS * PER_DAY} records): ${first.found} found in ${first.ms.toFixed(0)} ms, again ${second.ms.toFixed(0)} ms (target < 1 s)`);
}

async function main() {
  console.log(`accounting benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  const postgres = await startPostgres();
  const { PostgresAccounting } = await dist('accounting/postgres/store.js');
  const { pino } = await import('pino');
  const db = await PostgresAccounting.open({ url: postgres.url, log: pino({ level: 'silent' }) });
  try {
    await throughput(postgres.url, db);
    await shipping(postgres.url, db);
    await subjectQuery();
    await subjectQueryPostgres(postgres.url, db);
  } finally {
    await db.close();
    postgres.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
