// What accounting costs, in one run:
//   1. relay throughput (smtp-source → mailwarden → smtp-sink, 1 KB, 20 sessions, 5
//      recipients per message) with accounting records written, against the same relay
//      composed without them; and how many records per second were written meanwhile;
//   2. a subject query (one address) over 90 days of 100k records a day (9M records) in
//      sealed, indexed segments, with its time, and the same query reading every day.
// Usage: node bench/accounting-bench.mjs [--quick]   (npm run bench runs it too)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { median, requirePostfixTools, smtpSource, startBenchRelay, startSink } from './common.mjs';

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

async function throughput() {
  const sink = await startSink();
  const onDir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-on-'));
  const offDir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-off-'));
  const on = await startBenchRelay(root, onDir, sink.port);
  const off = await startBenchRelay(root, offDir, sink.port, { startOptions: { withoutAccounting: true } });
  const rates = { on: [], off: [] };
  let recordsPerSecond = [];
  try {
    await smtpSource(on.port, 20, 200);
    await smtpSource(off.port, 20, 200);
    for (let r = 0; r < ROUNDS; r++) {
      rates.off.push(await smtpSource(off.port, 20, MSGS));
      await new Promise((res) => setTimeout(res, 1200));
      const before = countRecords(onDir);
      const t = Date.now();
      rates.on.push(await smtpSource(on.port, 20, MSGS));
      const took = (Date.now() - t) / 1000;
      await new Promise((res) => setTimeout(res, 1200));
      recordsPerSecond.push((countRecords(onDir) - before) / took);
    }
  } finally {
    await on.stop();
    await off.stop();
    sink.stop();
  }
  const [rOn, rOff] = [median(rates.on), median(rates.off)];
  console.log(`relay, 1 KB, 20 sessions, 5 recipients/message: without accounting ${rOff.toFixed(0)} msg/s, with accounting ${rOn.toFixed(0)} msg/s = ${((rOn / rOff) * 100).toFixed(0)}% (target >= 95%)`);
  console.log(`accounting records written meanwhile: ${median(recordsPerSecond).toFixed(0)} records/s (one per recipient: 5 per message)`);
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

async function main() {
  console.log(`accounting benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  await throughput();
  await subjectQuery();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
