// What AUTH on every connection costs, measured as real clients relay: a new connection per
// message, STARTTLS on each, AUTH PLAIN (bench/auth-client.mjs, 1 KB, 20 clients):
//   direct:     the same client against a TLS-capable sink (smtp-server, no relay): what the
//               client and TLS allow on this machine;
//   network:    through mailwarden, STARTTLS, relaying by client network (no AUTH);
//   auth:       through mailwarden, STARTTLS and AUTH (the login cache on, as by default);
//   auth-cold:  the same with smtp.auth.cacheTtlMs: 0, every AUTH a full scrypt (ln=15), as
//               every AUTH was before the cache.
// Per case: messages/s (median of the rounds, the cases taking turns), the relay's CPU per
// message (utime+stime from /proc), and its peak RSS during the case (VmHWM).
// Usage: node bench/auth-bench.mjs [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchCertificate, cpuSeconds, freePort, median, requirePostfixTools, startBenchRelay, startSink, waitPort } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const MESSAGES = quick ? 400 : 1500;
const COLD_MESSAGES = quick ? 60 : 150;
const SESSIONS = 20;
requirePostfixTools();

function client(port, messages, noAuth) {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'auth-client.mjs'), String(port), String(SESSIONS), String(messages), ...(noAuth ? ['--no-auth'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      try {
        const r = JSON.parse(out);
        if (code !== 0 || r.failures > 0) return rej(new Error(`client: exit ${code}, ${out}`));
        res({ ...r, rate: r.messages / r.seconds, pid: child.pid });
      } catch {
        rej(new Error(`client: ${out}`));
      }
    });
  });
}

function hwmMB(pid) {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

function resetHwm(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted: the figure then covers the process's whole life
  }
}

/** A TLS-capable sink on smtp-server: STARTTLS, any AUTH accepted, the message read and dropped. */
async function startDirect(certDir) {
  const port = await freePort();
  const script = `const { SMTPServer } = await import(${JSON.stringify(join(root, 'node_modules/smtp-server/dist/esm/smtp-server.js'))});
    const { readFileSync } = await import('node:fs');
    const server = new SMTPServer({ key: readFileSync(${JSON.stringify(join(certDir, 'dev-key.pem'))}), cert: readFileSync(${JSON.stringify(join(certDir, 'dev-cert.pem'))}), authOptional: true, disableReverseLookup: true, logger: false, greetingDelay: 0,
      onAuth: (a, s, cb) => cb(null, { user: a.username }), onData: (stream, s, cb) => { stream.on('data', () => {}); stream.on('end', () => cb()); } });
    server.on('error', () => {});
    server.listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  await waitPort(port);
  return { port, pid: child.pid, stop: () => child.kill('SIGKILL') };
}

async function main() {
  console.log(`auth benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'mw-auth-bench-'));
  const sink = await startSink();
  const { hashPassword } = await import(join(root, 'dist/tenants/password.js'));
  // the production cost: scrypt ln=15
  const hash = await hashPassword('bench-secret');
  const tenantExtra = `, username: bench, password: "${hash}"`;
  const certDir = await benchCertificate(root);
  const direct = await startDirect(certDir);
  const relay = (name, smtpExtra = '') => startBenchRelay(root, mkdtempSync(join(dir, `${name}-`)), sink.port, { tenantExtra, smtpExtra });
  const relays = { network: await relay('network'), auth: await relay('auth'), cold: await relay('cold', ', auth: { cacheTtlMs: 0 }') };
  const cases = [
    { name: 'direct', port: direct.port, pid: null, noAuth: false, messages: MESSAGES },
    { name: 'network', port: relays.network.port, pid: relays.network.pid, noAuth: true, messages: MESSAGES },
    { name: 'auth', port: relays.auth.port, pid: relays.auth.pid, noAuth: false, messages: MESSAGES },
    { name: 'cold', port: relays.cold.port, pid: relays.cold.pid, noAuth: false, messages: COLD_MESSAGES },
  ];
  const results = Object.fromEntries(cases.map((c) => [c.name, { rates: [], cpu: [], rss: 0 }]));
  try {
    for (const c of cases) await client(c.port, 40, c.noAuth); // warm-up: TLS contexts, JIT, the login cache
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of cases) {
        if (c.pid) resetHwm(c.pid);
        const cpu0 = c.pid ? cpuSeconds(c.pid) : 0;
        const run = await client(c.port, c.messages, c.noAuth);
        const out = results[c.name];
        out.rates.push(run.rate);
        if (c.pid) {
          out.cpu.push(((cpuSeconds(c.pid) - cpu0) * 1e6) / run.messages);
          out.rss = Math.max(out.rss, hwmMB(c.pid));
        }
      }
    }
  } finally {
    direct.stop();
    for (const r of Object.values(relays)) await r.stop();
    sink.stop();
  }
  const rate = (n) => median(results[n].rates);
  const cpu = (n) => median(results[n].cpu);
  console.log(`1 KB, ${SESSIONS} clients, a new connection and STARTTLS for every message, ${ROUNDS} round(s), medians:`);
  console.log(`  direct (TLS sink, no relay):          ${rate('direct').toFixed(0)} msg/s`);
  console.log(`  relay by client network (no AUTH):    ${rate('network').toFixed(0)} msg/s = ${((rate('network') / rate('direct')) * 100).toFixed(0)}% of direct; ${cpu('network').toFixed(0)} µs CPU/msg; peak RSS ${results.network.rss.toFixed(0)} MB`);
  console.log(`  relay, AUTH on every connection:      ${rate('auth').toFixed(0)} msg/s = ${((rate('auth') / rate('network')) * 100).toFixed(0)}% of by network (target >= 50%, aim 70%); ${cpu('auth').toFixed(0)} µs CPU/msg = ${(cpu('auth') / cpu('network')).toFixed(2)}x by network (target <= 2x); peak RSS ${results.auth.rss.toFixed(0)} MB (target < 150 MB)`);
  console.log(`  relay, AUTH without the login cache:  ${rate('cold').toFixed(0)} msg/s = ${((rate('cold') / rate('network')) * 100).toFixed(0)}% of by network; ${cpu('cold').toFixed(0)} µs CPU/msg; peak RSS ${results.cold.rss.toFixed(0)} MB`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
