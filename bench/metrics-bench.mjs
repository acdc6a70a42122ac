// What metrics cost, in one run:
//   1. relay throughput (smtp-source → mailwarden → smtp-sink, 1 KB, 20 sessions, 5
//      recipients per message) with metrics on, against the same relay with metrics.enabled
//      false (no meter on the hot path, no process metrics); target: less than 3% lower;
//   2. the time to render a scrape with 1,000 tenants' series (and the process metrics);
//      target: under 50 ms.
// Usage: node bench/metrics-bench.mjs [--quick]   (npm run bench runs it too)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitPort } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 5;
const MSGS = quick ? 1000 : 3000;
const which = (names) => names.find((p) => existsSync(p));
const SMTP_SINK = which(['/usr/sbin/smtp-sink', '/usr/bin/smtp-sink']);
const SMTP_SOURCE = which(['/usr/sbin/smtp-source', '/usr/bin/smtp-source']);
if (!SMTP_SINK || !SMTP_SOURCE) throw new Error("smtp-sink and smtp-source are needed: Debian's postfix package");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function configYaml(dir, port, upstreamPort, metricsOn) {
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
metrics: { enabled: ${metricsOn}, port: 0 }
feedback: { enabled: false }
admin: { enabled: false }
log: { level: warn }
`;
}

async function startRelay(dir, upstreamPort, metricsOn) {
  const port = await freePort();
  const file = join(dir, 'config.yaml');
  writeFileSync(file, configYaml(dir, port, upstreamPort, metricsOn));
  const script = `const { loadConfigFile } = await import(${JSON.stringify(join(root, 'dist/config/load.js'))});
     const { start } = await import(${JSON.stringify(join(root, 'dist/main.js'))});
     const app = await start(loadConfigFile(${JSON.stringify(file)}).config);
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

async function throughput() {
  const sinkPort = await freePort();
  const sinkArgs = [`127.0.0.1:${sinkPort}`, '1024'];
  if (process.getuid?.() === 0) sinkArgs.unshift('-u', 'nobody');
  const sink = spawn(SMTP_SINK, sinkArgs, { stdio: 'ignore' });
  await waitPort(sinkPort);
  const on = await startRelay(mkdtempSync(join(tmpdir(), 'mw-metrics-on-')), sinkPort, true);
  const off = await startRelay(mkdtempSync(join(tmpdir(), 'mw-metrics-off-')), sinkPort, false);
  const ratios = [];
  try {
    await smtpSource(on.port, 200);
    await smtpSource(off.port, 200);
    for (let r = 0; r < ROUNDS; r++) {
      const a = await smtpSource(off.port, MSGS);
      const b = await smtpSource(on.port, MSGS);
      ratios.push(b / a);
      console.log(`  round ${r + 1}: metrics off ${a.toFixed(0)} msg/s, on ${b.toFixed(0)} msg/s`);
    }
  } finally {
    await on.stop();
    await off.stop();
    sink.kill('SIGKILL');
  }
  const ratio = median(ratios);
  console.log(`relay, 1 KB, 20 sessions, 5 recipients/message: metrics on = ${(ratio * 100).toFixed(1)}% of metrics off, median of ${ROUNDS} paired rounds (target: cost under 3%)`);
}

async function scrape() {
  const { Metrics } = await import(join(root, 'dist/observability/metrics.js'));
  const m = new Metrics({ defaultMetrics: true });
  const events = m.frontEvents();
  for (let i = 0; i < 1000; i++) {
    events.tenantMessage(`tenant-${i}`, true);
    events.tenantMessage(`tenant-${i}`, false);
    events.transaction('relayed', 1024, 0.01);
  }
  for (let i = 0; i < 5; i++) await m.registry.metrics();
  const times = [];
  let bytes = 0;
  for (let i = 0; i < 20; i++) {
    const t = process.hrtime.bigint();
    bytes = (await m.registry.metrics()).length;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  console.log(`scrape with 1,000 tenants' series: ${median(times).toFixed(1)} ms (median of 20; ${(bytes / 1024).toFixed(0)} KiB of text; target < 50 ms)`);
}

async function main() {
  console.log(`metrics benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  await scrape();
  await throughput();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
