// SMTP clients for tests: nodemailer's SMTPConnection for well-formed transactions, and a
// raw socket session for what no well-behaved client library would send.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

export interface SendOptions {
  readonly port: number;
  readonly user?: string;
  readonly pass?: string;
  readonly from: string;
  readonly to: string[];
  readonly message: Buffer | string;
  readonly tls?: boolean;
}

export interface SendResult {
  readonly ok: boolean;
  readonly response: string;
  readonly code?: number;
  readonly accepted?: string[];
}

export async function sendMail(o: SendOptions): Promise<SendResult> {
  const conn = new SMTPConnection({
    host: '127.0.0.1',
    port: o.port,
    secure: false,
    ignoreTLS: o.tls === false,
    requireTLS: o.tls !== false,
    tls: { rejectUnauthorized: false },
    logger: false,
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 10000,
  } as SMTPConnection.Options);
  conn.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    if (o.user) {
      await new Promise<void>((resolve, reject) => conn.login({ user: o.user!, pass: o.pass ?? '' }, (err) => (err ? reject(err) : resolve())));
    }
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) =>
      conn.send({ from: o.from, to: o.to }, o.message as Buffer, (err, i) => (err ? reject(err) : resolve(i))),
    );
    return { ok: true, response: info.response, code: Number(info.response.slice(0, 3)), accepted: info.accepted };
  } catch (err) {
    const e = err as { response?: string; responseCode?: number; message: string };
    return { ok: false, response: e.response ?? e.message, code: e.responseCode };
  } finally {
    conn.quit();
    conn.close();
  }
}

/** A line-level SMTP session over a raw socket, with STARTTLS. */
export class RawSession {
  #socket: Socket | TLSSocket;
  #buffer = '';
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach(socket);
  }

  static async open(port: number): Promise<RawSession> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawSession(socket);
  }

  #attach(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.#buffer += d.toString('latin1');
      this.#wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Reads one whole reply (multi-line aware); '' when the connection closed first. */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.#buffer);
      if (m) {
        this.#buffer = this.#buffer.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.closed) return '';
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; buffer: ${JSON.stringify(this.#buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  async command(line: string, timeoutMs?: number): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  /** Sends STARTTLS (plus anything pipelined after it in the same packet) and upgrades. */
  async starttls(pipelined = '', tlsOptions: { maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; minVersion?: 'TLSv1' | 'TLSv1.1' } = {}): Promise<string> {
    this.write(`STARTTLS\r\n${pipelined}`);
    const r = await this.reply();
    if (!r.startsWith('220')) return r;
    const plain = this.#socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.#buffer = '';
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, ...tlsOptions });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.#socket = secure;
    this.#attach(secure);
    return r;
  }

  async login(user: string, pass: string): Promise<string> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  end(): void {
    this.#socket.end();
  }
}

/** Opens a session, EHLO, STARTTLS and EHLO again: ready for AUTH. */
export async function tlsSession(port: number): Promise<RawSession> {
  const s = await RawSession.open(port);
  await s.reply();
  await s.command('EHLO client.test');
  await s.starttls();
  await s.command('EHLO client.test');
  return s;
}

/** Opens a session, STARTTLS, EHLO and AUTH: ready for MAIL FROM. */
export async function authedSession(port: number, user: string, pass: string): Promise<RawSession> {
  const s = await tlsSession(port);
  const auth = await s.login(user, pass);
  if (!auth.startsWith('235')) throw new Error(`auth failed: ${auth}`);
  return s;
}

export function message(headers: Record<string, string>, body: string): string {
  return `${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${body}`;
}

/** Authenticated session in the middle of DATA: MAIL, one RCPT and DATA given, `head` sent. */
export async function sessionInData(port: number, user: string, pass: string, head: string, mail = 'MAIL FROM:<alice@acme.test>'): Promise<RawSession> {
  const s = await authedSession(port, user, pass);
  await s.command(mail);
  await s.command('RCPT TO:<bob@example.org>');
  const reply = await s.command('DATA');
  if (!reply.startsWith('354')) throw new Error(`DATA refused: ${reply}`);
  s.write(head);
  return s;
}
