// Relay throughput and memory, in one run, on this machine:
//   direct       smtp-source → smtp-sink
//   bare         smtp-source → smtp-server + nodemailer pass-through → smtp-sink
//   mailwarden   smtp-source → mailwarden (guard, policy, pooled upstream) → smtp-sink
// for 1 KB, 100 KB and 5 MB messages with 1 and 20 sessions (one connection per message,
// as smtp-source does by default), then mailwarden's peak RSS with 20 concurrent 5 MB
// messages, with a fast and with a slow upstream. Prints figures and ratios.
// Usage: npm run bench [-- --quick]; node bench/relay-bench.mjs [--quick] [--only=1KB/20]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchCertificate, freePort, spawnListening } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
/** --only=1KB/20 runs one case */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const sbin = (name) => {
  for (const dir of ['/usr/sbin', '/usr/bin']) {
    try {
      execFileSync('test', ['-x', join(dir, name)]);
      return join(dir, name);
    } catch {
      /* next */
    }
  }
  throw new Error(`${name} not found: install Debian's postfix package (the daemon need not run)`);
};
const SMTP_SINK = sbin('smtp-sink');
const SMTP_SOURCE = sbin('smtp-source');

const CASES = [
  { label: '1 KB', bytes: 1024, sessions: 1, count: quick ? 300 : 1000 },
  { label: '1 KB', bytes: 1024, sessions: 20, count: quick ? 1000 : 4000 },
  { label: '100 KB', bytes: 100 * 1024, sessions: 1, count: quick ? 100 : 300 },
  { label: '100 KB', bytes: 100 * 1024, sessions: 20, count: quick ? 300 : 1000 },
  { label: '5 MB', bytes: 5 * 1024 * 1024, sessions: 1, count: quick ? 10 : 40 },
  { label: '5 MB', bytes: 5 * 1024 * 1024, sessions: 20, count: quick ? 40 : 100 },
];


async function waitForLine(child, pattern, what) {
  let out = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what} did not start:\n${out}`)), 15000);
    const onData = (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}

async function startSink(extra = []) {
  const port = await freePort();
  const args = [...extra, `127.0.0.1:${port}`, '1024'];
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody');
  const child = spawn(SMTP_SINK, args, { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { port, stop: () => child.kill('SIGKILL') };
}

async function startBare(upstreamPort) {
  const child = spawn(process.execPath, [join(root, 'bench/bare-passthrough.mjs'), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(child, /listening (\d+)/, 'bare pass-through');
  return { port: Number(m[1]), pid: child.pid, stop: () => child.kill('SIGKILL') };
}

async function startMailwarden(upstreamPort) {
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-'));
  const file = join(dir, 'bench.yaml');
  // the relay also listens for metrics: its SMTP port is chosen here rather than found
  const port = await freePort();
  const certDir = await benchCertificate(root);
  writeFileSync(
    file,
    `smtp:
  host: 127.0.0.1
  port: ${port}
  hostname: relay.bench
  tls: { devCertDir: ${certDir} }
  limits: { maxConnectionsPerIp: 100, maxMessageBytes: 20971520 }
upstream:
  host: 127.0.0.1
  port: ${upstreamPort}
  starttls: off
  pool: { maxIdle: 32 }
# limits high enough never to refuse: every bucket is still computed and charged
limits:
  messages: [{ limit: 100000000, per: minute }]
  recipients: [{ limit: 100000000, per: minute }]
  perSender: [{ limit: 100000000, per: minute }]
  perRecipientDomain: [{ limit: 100000000, per: minute }]
tenants:
  - id: bench
    domains: [bench.test]
    networks: [127.0.0.0/8]
metrics: { port: 0 }
feedback: { port: 0 }
admin: { port: 0 }
log:
  level: warn
`,
  );
  const child = await spawnListening([join(root, 'dist/cli/main.js'), 'serve'], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: file } }, port, 'mailwarden');
  return { port, pid: child.pid, stop: () => child.kill('SIGKILL') };
}

function hwmMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
}

function resetHwm(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not permitted: the figure then covers the process's whole life */
  }
}

function run(port, c) {
  const args = ['-s', String(c.sessions), '-m', String(c.count), '-l', String(c.bytes), '-f', 'bench@bench.test', '-t', 'rcpt@example.org', `127.0.0.1:${port}`];
  const started = process.hrtime.bigint();
  return new Promise((res, rej) => {
    const child = spawn(SMTP_SOURCE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return rej(new Error(`smtp-source ${args.join(' ')} exited ${code}: ${err}`));
      res({ seconds, msgs: c.count / seconds, mbs: (c.count * c.bytes) / seconds / 1e6 });
    });
  });
}

const ROUNDS = quick ? 1 : 3;
const median = (runs) => [...runs].sort((x, y) => x.seconds - y.seconds)[Math.floor(runs.length / 2)];
const fmt = (n, d = 0) => n.toFixed(d).padStart(8);
const pct = (a, b) => `${((a / b) * 100).toFixed(0).padStart(4)}%`;

async function main() {
  const sink = await startSink();
  const bare = await startBare(sink.port);
  const mw = await startMailwarden(sink.port);
  const rows = [];
  try {
    console.log(`relay benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
    console.log('size     sess  direct msg/s   MB/s |   bare msg/s   MB/s | mailwarden msg/s   MB/s | mw/direct mw/bare');
    for (const c of CASES.filter((k) => !only || `${k.label.replace(' ', '')}/${k.sessions}` === only)) {
      // warm-up, so the first case does not pay for JIT and pool start-up
      await run(mw.port, { ...c, count: Math.min(c.count, c.sessions * 2) });
      await run(bare.port, { ...c, count: Math.min(c.count, c.sessions * 2) });
      // three rounds, the paths taking turns, and the median of each: on two cores shared by
      // three processes a single run varies by 10% or more
      const rounds = { direct: [], bare: [], mw: [] };
      const measureRss = c.bytes >= 5 * 1024 * 1024 && c.sessions === 20;
      if (measureRss) resetHwm(mw.pid);
      for (let round = 0; round < ROUNDS; round++) {
        rounds.direct.push(await run(sink.port, c));
        rounds.bare.push(await run(bare.port, c));
        rounds.mw.push(await run(mw.port, c));
      }
      const rss = measureRss ? hwmMB(mw.pid) : undefined;
      const direct = median(rounds.direct);
      const b = median(rounds.bare);
      const m = median(rounds.mw);
      rows.push({ c, direct, b, m, rss });
      console.log(
        `${c.label.padEnd(8)} ${String(c.sessions).padStart(4)} ${fmt(direct.msgs)} ${fmt(direct.mbs, 1)} | ${fmt(b.msgs)} ${fmt(b.mbs, 1)} | ${fmt(m.msgs)} ${fmt(m.mbs, 1)} | ${pct(m.msgs, direct.msgs)}    ${pct(m.msgs, b.msgs)}`,
      );
    }
  } finally {
    mw.stop();
    bare.stop();
  }

  // peak RSS with 20 concurrent 5 MB messages and an upstream that waits 2 s before each DATA reply
  const slowSink = await startSink(['-w', '2']);
  const slowMw = await startMailwarden(slowSink.port);
  let slowRss;
  try {
    await run(slowMw.port, { bytes: 5 * 1024 * 1024, sessions: 20, count: 40 });
    slowRss = hwmMB(slowMw.pid);
  } finally {
    slowMw.stop();
    slowSink.stop();
    sink.stop();
  }

  const small = rows.find((r) => r.c.bytes === 1024 && r.c.sessions === 20);
  const big = rows.filter((r) => r.c.bytes >= 5 * 1024 * 1024);
  const fastRss = rows.find((r) => r.rss !== undefined)?.rss;
  console.log('');
  console.log('targets (ratios from this run):');
  if (small) console.log(`  1 KB, 20 sessions: mailwarden ${pct(small.m.msgs, small.direct.msgs)} of direct, ${pct(small.m.msgs, small.b.msgs)} of bare (target: >= bare, aim 40% of direct)`);
  for (const r of big) console.log(`  5 MB, ${String(r.c.sessions).padStart(2)} session(s): mailwarden ${pct(r.m.mbs, r.direct.mbs)} of direct MB/s (target 75%, aim 85%)`);
  console.log(`  peak RSS, 20 concurrent 5 MB messages: ${fastRss === undefined ? '(not in this run)' : `${fastRss.toFixed(0)} MB`} fast upstream, ${slowRss.toFixed(0)} MB slow upstream (target < 150 MB, flat)`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
