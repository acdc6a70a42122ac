// Not part of `npm run bench`: the cost of the STARTTLS handshake, full and resumed, on the
// relay's own listener (smtp-server, patched as mailwarden runs it, with a development
// certificate), TLS 1.2 and 1.3, 300 sequential connections each. Prints the median handshake
// time and the CPU per connection of this one process (client and server both in it).
// Usage: node bench/tls-resumption.mjs
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpuUsage } from 'node:process';
import { benchCertificate } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const N = 300;
const { SMTPServer } = await import(join(root, 'node_modules/smtp-server/dist/esm/smtp-server.js'));
const certDir = await benchCertificate(root);
const server = new SMTPServer({ key: readFileSync(join(certDir, 'dev-key.pem')), cert: readFileSync(join(certDir, 'dev-cert.pem')), authOptional: true, logger: false, greetingDelay: 0 });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.server.address().port;

async function handshake(session, maxVersion) {
  const s = connect(port, '127.0.0.1');
  let buf = '';
  const read = () =>
    new Promise((r) => {
      const f = (d) => {
        buf += d;
        const m = /^(?:\d{3}-[^\n]*\n)*\d{3} [^\n]*\n/.exec(buf);
        if (m) {
          s.off('data', f);
          buf = buf.slice(m[0].length);
          r(m[0]);
        }
      };
      s.on('data', f);
    });
  await read();
  s.write('EHLO bench\r\n');
  await read();
  s.write('STARTTLS\r\n');
  await read();
  const t0 = process.hrtime.bigint();
  const t = tlsConnect({ socket: s, rejectUnauthorized: false, session, maxVersion });
  let ticket;
  t.on('session', (x) => (ticket = x));
  await new Promise((r) => t.once('secureConnect', r));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.write('EHLO bench\r\n');
  await new Promise((r) => t.once('data', r));
  const reused = t.isSessionReused();
  t.destroy();
  return { ms, ticket: ticket ?? t.getSession(), reused };
}

console.log(`STARTTLS handshakes — ${new Date().toISOString()} — node ${process.version}, ${N} connections per case`);
for (const version of ['TLSv1.2', 'TLSv1.3']) {
  const first = await handshake(undefined, version);
  for (const mode of ['full', 'resumed']) {
    const times = [];
    const c0 = cpuUsage();
    for (let i = 0; i < N; i++) {
      const r = await handshake(mode === 'resumed' ? first.ticket : undefined, version);
      if (r.reused !== (mode === 'resumed')) throw new Error(`${version} ${mode}: session ${r.reused ? '' : 'not '}reused`);
      times.push(r.ms);
    }
    const cpu = cpuUsage(c0);
    times.sort((a, b) => a - b);
    console.log(`  ${version} ${mode.padEnd(7)}: median handshake ${times[N >> 1].toFixed(2)} ms, CPU per connection ${((cpu.user + cpu.system) / N / 1000).toFixed(2)} ms`);
  }
}
server.close();
