// What smtp.workers buys on this machine: 1 KB messages, 20 sessions, a new connection per
// message relaying by client network (smtp-source), through `mailwarden serve` with
// smtp.workers 1 and 2, on the embedded store and on Redis, against smtp-source straight
// into smtp-sink (direct). Per case: messages/s (median of the rounds, the cases taking
// turns), the relay's CPU per message (utime+stime of the primary and its workers, from
// /proc) and the ratio to direct; per store, 2 workers against 1.
// Usage: node bench/workers-bench.mjs [--quick]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { cpuSeconds, freePort, median, requirePostfixTools, startServedRelay, startSink, waitPort } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const MESSAGES = quick ? 2000 : 6000;
const SESSIONS = 20;
requirePostfixTools();
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
if (!REDIS) throw new Error("redis-server is needed: Debian's redis-server package");

/** smtp-source with 1 KB messages and one recipient, as relay-bench sends them */
function source(port, count) {
  const started = process.hrtime.bigint();
  return new Promise((res, rej) => {
    const run = spawn(SOURCE, ['-s', String(SESSIONS), '-m', String(count), '-l', '1024', '-f', 'bench@bench.test', '-t', 'rcpt@example.org', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    run.stderr.on('data', (d) => (err += d));
    run.once('exit', (code) => (code === 0 ? res(count / (Number(process.hrtime.bigint() - started) / 1e9)) : rej(new Error(`smtp-source: ${err}`))));
  });
}
const SOURCE = ['/usr/sbin/smtp-source', '/usr/bin/smtp-source'].find((p) => existsSync(p));

const treeCpu = (relay) => relay.pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0);

/** busy and total jiffies of the whole host (every core), from /proc/stat */
function hostCpu() {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = fields.map(Number);
  const idle = n[3] + n[4];
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** until every worker listens and /readyz says the relay serves its store */
async function waitServing(metricsPort, workers) {
  for (let i = 0; i < 300; i++) {
    const text = await globalThis.fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => '');
    const ready = await globalThis.fetch(`http://127.0.0.1:${metricsPort}/readyz`).then((r) => r.status === 200, () => false);
    const m = /^mailwarden_workers (\d+)$/m.exec(text);
    if (ready && (workers === 1 || (m && Number(m[1]) >= workers))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the relay with ${workers} worker(s) did not come up`);
}

async function relay(sinkPort, workers, storeYaml, env) {
  const metrics = await freePort();
  const r = await startServedRelay(root, mkdtempSync(join(tmpdir(), 'mw-bench-workers-')), sinkPort, { smtpExtra: `, workers: ${workers}`, yamlExtra: `metrics: { port: ${metrics} }`, storeYaml, env });
  return { ...r, serving: () => waitServing(metrics, workers) };
}

async function measure(label, cases, sink) {
  // warm-up: JIT, upstream pools, TLS contexts
  for (const c of cases) await source(c.relay.port, 400);
  const runs = new Map(cases.map((c) => [c.name, { rates: [], cpu: [], host: [] }]));
  const direct = [];
  for (let round = 0; round < ROUNDS; round++) {
    direct.push(await source(sink.port, MESSAGES));
    for (const c of cases) {
      const before = treeCpu(c.relay);
      const host = hostCpu();
      const rate = await source(c.relay.port, MESSAGES);
      const after = hostCpu();
      runs.get(c.name).rates.push(rate);
      runs.get(c.name).cpu.push(((treeCpu(c.relay) - before) / MESSAGES) * 1e6);
      runs.get(c.name).host.push((after.busy - host.busy) / (after.total - host.total));
    }
  }
  const d = median(direct);
  const figures = cases.map((c) => ({ name: c.name, rate: median(runs.get(c.name).rates), cpu: median(runs.get(c.name).cpu), host: median(runs.get(c.name).host) }));
  for (const f of figures) {
    console.log(`${label.padEnd(9)} ${f.name.padEnd(10)} ${f.rate.toFixed(0).padStart(8)} ${f.cpu.toFixed(0).padStart(10)} ${`${((f.rate / d) * 100).toFixed(0)}%`.padStart(10)} ${`${(f.host * 100).toFixed(0)}%`.padStart(9)}`);
  }
  console.log(`${label.padEnd(9)} ${'direct'.padEnd(10)} ${d.toFixed(0).padStart(8)}`);
  const [one, two] = figures;
  console.log(`${label.padEnd(9)} 2 workers / 1: ${(two.rate / one.rate).toFixed(2)}x messages/s, ${(two.cpu / one.cpu).toFixed(2)}x CPU per message (target >= 1.6x, and >= 25% of direct)`);
  return { direct: d, one, two };
}

async function main() {
  const sink = await startSink();
  console.log(`workers benchmark — ${new Date().toISOString()} — node ${process.version}, ${SESSIONS} sessions, 1 KB, a connection per message, by network${quick ? ' (quick)' : ''}`);
  // host busy: every core of the machine, the load generator and the sink included
  console.log(`store     case         msg/s  CPU µs/msg  of direct host busy (${availableParallelism()} cores)`);
  try {
    const embedded = [await relay(sink.port, 1), await relay(sink.port, 2)];
    try {
      for (const r of embedded) await r.serving();
      await measure('embedded', [{ name: '1 worker', relay: embedded[0] }, { name: '2 workers', relay: embedded[1] }], sink);
    } finally {
      await Promise.all(embedded.map((r) => r.stop()));
    }

    const dir = mkdtempSync(join(tmpdir(), 'mw-bench-workers-redis-'));
    const redisPort = await freePort();
    const redis = spawn(REDIS, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await waitPort(redisPort);
    try {
      const storeYaml = `{ kind: redis, url: "redis://127.0.0.1:${redisPort}" }`;
      const env = { MAILWARDEN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
      const first = await relay(sink.port, 1, storeYaml, env);
      // a new Redis is set up once by an operator
      execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), 'store', 'init', '--empty', '--yes'], { env: { ...process.env, ...env, MAILWARDEN_CONFIG: first.configFile }, stdio: 'ignore' });
      const second = await relay(sink.port, 2, storeYaml, env);
      const both = [first, second];
      try {
        for (const r of both) await r.serving();
        await measure('redis', [{ name: '1 worker', relay: first }, { name: '2 workers', relay: second }], sink);
      } finally {
        await Promise.all(both.map((r) => r.stop()));
      }
    } finally {
      redis.kill('SIGKILL');
    }
  } finally {
    sink.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
