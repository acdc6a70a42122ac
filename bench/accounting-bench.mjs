// What accounting costs, in one run:
//   1. relay throughput (smtp-source → mailwarden → smtp-sink, 1 KB, 20 sessions, 5
//      recipients per message) with accounting records written, against the same relay
//      composed without them; and how many records per second were written meanwhile;
//   2. a subject query (one address) over 90 days of 100k records a day (9M records) in
//      sealed, indexed segments, with its time, and the same query reading every day.
// Usage: node bench/accounting-bench.mjs [--quick]   (npm run bench runs it too)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { freePort, waitPort } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const MSGS = quick ? 1000 : 3000;
const DAYS = quick ? 10 : 90;
const PER_DAY = quick ? 10_000 : 100_000;
const which = (names) => names.find((p) => existsSync(p));
const SMTP_SINK = which(['/usr/sbin/smtp-sink', '/usr/bin/smtp-sink']);
const SMTP_SOURCE = which(['/usr/sbin/smtp-source', '/usr/bin/smtp-source']);
if (!SMTP_SINK || !SMTP_SOURCE) throw new Error("smtp-sink and smtp-source are needed: Debian's postfix package");
const dist = (p) => import(join(root, 'dist', p));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function configYaml(dir, port, upstreamPort) {
  return `smtp: { host: 127.0.0.1, port: ${port}, hostname: relay.bench, tls: { devCertDir: ${join(dir, 'tls')} }, limits: { maxConnectionsPerIp: 200 } }
upstream: { host: 127.0.0.1, port: ${upstreamPort}, starttls: off, pool: { maxIdle: 32 } }
store: { kind: embedded, path: ${join(dir, 'store')} }
keys: { masterKeyFile: ${join(dir, 'master.key')} }
accounting: { dir: ${join(dir, 'accounting')}, minFreeBytes: 0 }
limits:
  messages: [{ limit: 100000000, per: minute }]
  recipients: [{ limit: 100000000, per: minute }]
  perSender: [{ limit: 100000000, per: hour }]
  perRecipientDomain: [{ limit: 100000000, per: minute }]
tenants:
  - { id: bench, domains: [bench.test], networks: [127.0.0.0/8] }
metrics: { port: 0 }
feedback: { enabled: false }
admin: { enabled: false }
log: { level: warn }
`;
}

async function startRelay(dir, upstreamPort, withoutAccounting) {
  const port = await freePort();
  const file = join(dir, 'config.yaml');
  writeFileSync(file, configYaml(dir, port, upstreamPort));
  const script = `const { loadConfigFile } = await import(${JSON.stringify(join(root, 'dist/config/load.js'))});
     const { start } = await import(${JSON.stringify(join(root, 'dist/main.js'))});
     const app = await start(loadConfigFile(${JSON.stringify(file)}).config, { withoutAccounting: ${withoutAccounting} });
     process.on('SIGTERM', () => app.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await waitPort(port);
  } catch {
    child.kill('SIGKILL');
    throw new Error(`relay did not start:\n${out}`);
  }
  return { port, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

function smtpSource(port, count) {
  const started = process.hrtime.bigint();
  return new Promise((res, rej) => {
    const child = spawn(SMTP_SOURCE, ['-s', '20', '-m', String(count), '-r', '5', '-l', '1024', '-f', 'bench@bench.test', '-t', 'rcpt@example.org', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? res(count / (Number(process.hrtime.bigint() - started) / 1e9)) : rej(new Error(`smtp-source: ${err}`))));
  });
}

function countRecords(dir) {
  const d = join(dir, 'accounting', 'active', 'bench');
  if (!existsSync(d)) return 0;
  return readdirSync(d)
    .filter((f) => f.endsWith('.jsonl'))
    .reduce((n, f) => n + readFileSync(join(d, f), 'utf8').split('\n').filter(Boolean).length, 0);
}

async function throughput() {
  const sinkPort = await freePort();
  const sinkArgs = [`127.0.0.1:${sinkPort}`, '1024'];
  if (process.getuid?.() === 0) sinkArgs.unshift('-u', 'nobody');
  const sink = spawn(SMTP_SINK, sinkArgs, { stdio: 'ignore' });
  await waitPort(sinkPort);
  const onDir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-on-'));
  const offDir = mkdtempSync(join(tmpdir(), 'mw-acct-bench-off-'));
  const on = await startRelay(onDir, sinkPort, false);
  const off = await startRelay(offDir, sinkPort, true);
  const rates = { on: [], off: [] };
  let recordsPerSecond = [];
  try {
    await smtpSource(on.port, 200);
    await smtpSource(off.port, 200);
    for (let r = 0; r < ROUNDS; r++) {
      rates.off.push(await smtpSource(off.port, MSGS));
      await new Promise((res) => setTimeout(res, 1200));
      const before = countRecords(onDir);
      const t = Date.now();
      rates.on.push(await smtpSource(on.port, MSGS));
      const took = (Date.now() - t) / 1000;
      await new Promise((res) => setTimeout(res, 1200));
      recordsPerSecond.push((countRecords(onDir) - before) / took);
    }
  } finally {
    await on.stop();
    await off.stop();
    sink.kill('SIGKILL');
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
