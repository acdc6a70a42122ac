// Small helpers the benchmark scripts share.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} did not open`);
}

const which = (names) => names.find((p) => existsSync(p));
export const SMTP_SINK = which(['/usr/sbin/smtp-sink', '/usr/bin/smtp-sink']);
export const SMTP_SOURCE = which(['/usr/sbin/smtp-source', '/usr/bin/smtp-source']);

export function requirePostfixTools() {
  if (!SMTP_SINK || !SMTP_SOURCE) throw new Error("smtp-sink and smtp-source are needed: Debian's postfix package");
}

/** utime + stime of a process, in seconds */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields from the third of stat(5): utime is the 14th field, stime the 15th
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** smtp-sink on a free port, answering every message with 250. */
export async function startSink() {
  const port = await freePort();
  const args = [`127.0.0.1:${port}`, '1024'];
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody');
  const child = spawn(SMTP_SINK, args, { stdio: 'ignore' });
  await waitPort(port);
  return { port, stop: () => child.kill('SIGKILL') };
}

/** smtp-source: `count` 1 KB messages with 5 recipients over `sessions` sessions; resolves with messages per second. */
export function smtpSource(port, sessions, count) {
  const started = process.hrtime.bigint();
  return new Promise((res, rej) => {
    const child = spawn(SMTP_SOURCE, ['-s', String(sessions), '-m', String(count), '-r', '5', '-l', '1024', '-f', 'bench@bench.test', '-t', 'rcpt@example.org', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? res(count / (Number(process.hrtime.bigint() - started) / 1e9)) : rej(new Error(`smtp-source: ${err}`))));
  });
}

let certificate;

/**
 * One development certificate for every relay of a bench run, made by a relay's code once,
 * as a relay's first start would. A relay that had to make its own would keep the
 * certificate library loaded (about 15 MB of RSS) that no relay with a certificate loads.
 */
export function benchCertificate(root) {
  certificate ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-bench-tls-'));
    const { loadTls } = await import(join(root, 'dist/tls/certificates.js'));
    await loadTls({ devCertDir: dir }, 'relay.bench', { warn() {} });
    return dir;
  })();
  return certificate;
}

/**
 * The configuration of a bench relay: an embedded store (or the one `storeYaml` names),
 * accounting in files (or as `accountingYaml` says), one
 * tenant owning 127.0.0.0/8, limits high enough never to refuse (every bucket is still
 * computed and charged), feedback and admin off. `yamlExtra` adds configuration keys,
 * `smtpExtra` keys of smtp and `tenantExtra` keys of the tenant (", key: value" each).
 * Returns the SMTP port and the file.
 */
async function writeBenchConfig(root, dir, upstreamPort, { yamlExtra = 'metrics: { port: 0 }', storeYaml, accountingYaml, tenantExtra = '', smtpExtra = '' } = {}) {
  const port = await freePort();
  const certDir = await benchCertificate(root);
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `smtp: { host: 127.0.0.1, port: ${port}, hostname: relay.bench, tls: { devCertDir: ${certDir} }, limits: { maxConnectionsPerIp: 200 }${smtpExtra} }
upstream: { host: 127.0.0.1, port: ${upstreamPort}, starttls: off, pool: { maxIdle: 32 } }
store: ${storeYaml ?? `{ kind: embedded, path: ${join(dir, 'store')} }`}
keys: { masterKeyFile: ${join(dir, 'master.key')} }
accounting: ${accountingYaml ?? `{ dir: ${join(dir, 'accounting')}, minFreeBytes: 0 }`}
limits:
  messages: [{ limit: 100000000, per: minute }]
  recipients: [{ limit: 100000000, per: minute }]
  perSender: [{ limit: 100000000, per: hour }]
  perRecipientDomain: [{ limit: 100000000, per: minute }]
tenants:
  - { id: bench, domains: [bench.test], networks: [127.0.0.0/8]${tenantExtra} }
${yamlExtra}
feedback: { enabled: false }
admin: { enabled: false }
log: { level: warn }
`,
  );
  return { port, file };
}

/**
 * mailwarden composed in a child process with `start(config, startOptions)`, configured as
 * writeBenchConfig says. Returns the relay and its configuration file.
 */
export async function startBenchRelay(root, dir, upstreamPort, { startOptions = {}, nodeArgs = [], ...config } = {}) {
  const { port, file } = await writeBenchConfig(root, dir, upstreamPort, config);
  const script = `const { loadConfigFile } = await import(${JSON.stringify(join(root, 'dist/config/load.js'))});
     const { start } = await import(${JSON.stringify(join(root, 'dist/main.js'))});
     const app = await start(loadConfigFile(${JSON.stringify(file)}).config, ${JSON.stringify(startOptions)});
     process.on('SIGTERM', () => app.close().then(() => process.exit(0)));`;
  const child = await spawnListening([...nodeArgs, '--input-type=module', '-e', script], { cwd: dir }, port, 'relay');
  return { port, pid: child.pid, configFile: file, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

/**
 * `mailwarden serve`, as an operator runs it (smtp.workers and all), configured as
 * writeBenchConfig says; `env` adds to the environment. Returns the relay, its configuration
 * file, and `pids()`: the primary and its workers.
 */
export async function startServedRelay(root, dir, upstreamPort, { env = {}, ...config } = {}) {
  const { port, file } = await writeBenchConfig(root, dir, upstreamPort, config);
  const child = await spawnListening([join(root, 'dist/cli/main.js'), 'serve'], { cwd: dir, env: { ...process.env, ...env, MAILWARDEN_CONFIG: file } }, port, 'relay');
  const pids = () => [child.pid, ...readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)];
  return { port, pid: child.pid, pids, configFile: file, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

/** Node with these arguments, once it listens on `port`; on failure, what it printed. */
export async function spawnListening(args, options, port, what) {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    await waitPort(port);
  } catch {
    child.kill('SIGKILL');
    throw new Error(`${what} did not start:\n${out}`);
  }
  return child;
}
