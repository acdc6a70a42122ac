// The load generator of auth-bench: clients as real MTAs and applications are, a new
// connection for every message, STARTTLS on each, and AUTH PLAIN unless told not to.
// Usage: node bench/auth-client.mjs PORT SESSIONS MESSAGES [--no-auth] [--user U --pass P]
// Prints one JSON line: { messages, seconds, failures, replies: { code: count } }.
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const [port, sessions, messages] = process.argv.slice(2, 5).map(Number);
const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const auth = !process.argv.includes('--no-auth');
const user = process.argv.includes('--user') ? arg('--user') : 'bench';
const pass = process.argv.includes('--pass') ? arg('--pass') : 'bench-secret';
// 1 KB of text in lines of 78 characters and CRLF, as a mail client writes them (one line of
// 1,000 would be over RFC 5321's 998 and refused)
const body = `From: bench@bench.test\r\nTo: rcpt@example.org\r\nSubject: bench\r\n\r\n${`${'x'.repeat(78)}\r\n`.repeat(12)}${'x'.repeat(38)}\r\n.\r\n`;
const plain = `AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}\r\n`;

/** Reads whole replies (multi-line aware) from a socket. */
function replies(socket) {
  let buffer = '';
  const waiting = [];
  const pump = () => {
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(buffer);
      if (!m || waiting.length === 0) return;
      buffer = buffer.slice(m[0].length);
      waiting.shift().resolve(m[0]);
    }
  };
  socket.on('data', (d) => {
    buffer += d.toString('latin1');
    pump();
  });
  const fail = (err) => {
    for (const w of waiting.splice(0)) w.reject(err);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('closed')));
  return () =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      pump();
    });
}

const counts = {};
let failures = 0;
let sent = 0;
let next = 0;

async function one() {
  const plainSocket = connect(port, '127.0.0.1');
  plainSocket.setNoDelay(true);
  let read = replies(plainSocket);
  const say = async (line) => {
    socket.write(line);
    return read();
  };
  let socket = plainSocket;
  try {
    await read();
    await say('EHLO client.bench\r\n');
    if (!(await say('STARTTLS\r\n')).startsWith('220')) throw new Error('no STARTTLS');
    plainSocket.removeAllListeners('data');
    socket = tlsConnect({ socket: plainSocket, rejectUnauthorized: false });
    read = replies(socket);
    await new Promise((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    await say('EHLO client.bench\r\n');
    if (auth) {
      const r = await say(plain);
      counts[r.slice(0, 3)] = (counts[r.slice(0, 3)] ?? 0) + 1;
      if (!r.startsWith('235')) throw new Error(r);
    }
    for (const line of ['MAIL FROM:<bench@bench.test>\r\n', 'RCPT TO:<rcpt@example.org>\r\n', 'DATA\r\n']) {
      const r = await say(line);
      if (!/^[23]/.test(r)) throw new Error(r);
    }
    const r = await say(body);
    counts[`data ${r.slice(0, 3)}`] = (counts[`data ${r.slice(0, 3)}`] ?? 0) + 1;
    if (!r.startsWith('250')) throw new Error(r);
    sent++;
    socket.write('QUIT\r\n');
  } catch {
    failures++;
  } finally {
    socket.destroy();
  }
}

const started = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: sessions }, async () => {
    while (next++ < messages) await one();
  }),
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ messages: sent, seconds, failures, replies: counts })}\n`);
