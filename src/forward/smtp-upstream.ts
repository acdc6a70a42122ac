// The SMTP upstream: nodemailer's SMTPConnection, one transaction per message, with a small
// pool of idle connections so that clients sending one message per connection do not pay
// for an upstream connect, greeting and EHLO each time.
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config/schema.js';
import { redactAddresses } from '../smtp/address.js';
import { MessageBody } from './message-body.js';
import {
  UpstreamError,
  parseReply,
  type DeliveryOutcome,
  type RecipientRejection,
  type Upstream,
  type UpstreamEnvelope,
  type UpstreamTimings,
  type UpstreamTransaction,
} from './upstream.js';

interface SmtpError extends Error {
  code?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

const BODY_BUFFER_BYTES = 256 * 1024;

interface Idle {
  readonly conn: SMTPConnection;
  readonly timer: NodeJS.Timeout;
}

export class SmtpUpstream implements Upstream {
  readonly #config: UpstreamConfig;
  readonly #log: Logger;
  readonly #heloName: string;
  readonly #timings: UpstreamTimings | undefined;
  #idle: Idle[] = [];
  #closed = false;

  constructor(config: UpstreamConfig, heloName: string, log: Logger, timings?: UpstreamTimings) {
    this.#config = config;
    this.#timings = timings;
    this.#heloName = config.heloName ?? heloName;
    this.#log = log;
  }

  begin(envelope: UpstreamEnvelope): UpstreamTransaction {
    // room for the client to keep sending while the upstream answers MAIL, RCPT and DATA
    const body = new MessageBody(BODY_BUFFER_BYTES);
    let conn: SMTPConnection | null = null;
    let aborted = false;
    let settled = false;
    let finalTimer: NodeJS.Timeout | undefined;
    const began = performance.now();
    let bodyEnded = 0;

    const result = new Promise<DeliveryOutcome>((resolve, reject) => {
      const fail = (err: UpstreamError) => {
        if (settled) return;
        settled = true;
        clearTimeout(finalTimer);
        if (err.kind === 'tempfail' || err.kind === 'permfail') this.#observe(began, bodyEnded);
        if (conn) destroy(conn);
        reject(err);
      };
      const succeed = (c: SMTPConnection, outcome: DeliveryOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(finalTimer);
        this.#observe(began, bodyEnded);
        this.#release(c);
        resolve(outcome);
      };
      // after the last byte went out the upstream owes one reply; bound the wait for it
      body.once('finish', () => {
        bodyEnded = performance.now();
        finalTimer = setTimeout(
          () => fail(new UpstreamError('timeout', 'no reply from upstream after end of data')),
          this.#config.timeouts.finalReplyMs,
        );
      });
      this.#acquire().then(
        (c) => {
          conn = c;
          if (aborted) {
            destroy(c);
            return fail(new UpstreamError('aborted', 'transaction aborted'));
          }
          const missing = missingExtension(c, envelope);
          if (missing) return fail(missing);
          c.once('error', (err: SmtpError) => fail(toUpstreamError(err)));
          c.once('end', () => fail(new UpstreamError('unavailable', 'upstream closed the connection')));
          c.send(
            {
              from: envelope.from,
              to: [...envelope.to],
              use8BitMime: envelope.eightBitMime,
              smtpUtf8: envelope.smtpUtf8,
            } as SMTPConnection.Envelope,
            body,
            (err, info) => {
              if (err) return fail(toUpstreamError(err as SmtpError));
              c.removeAllListeners('error');
              c.removeAllListeners('end');
              c.on('error', () => {});
              succeed(c, {
                accepted: info.accepted,
                rejected: (info.rejectedErrors ?? []).map((e) => rejection(e as SmtpError)),
                response: redactAddresses(info.response),
              });
            },
          );
        },
        (err: SmtpError) => fail(aborted ? new UpstreamError('aborted', 'transaction aborted') : toUpstreamError(err)),
      );
    });
    // an unobserved rejection must not crash the process; callers await `result`
    result.catch(() => {});

    return {
      body,
      result,
      abort: () => {
        if (aborted) return;
        aborted = true;
        if (conn) destroy(conn);
        body.destroy();
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const { conn, timer } of this.#idle.splice(0)) {
      clearTimeout(timer);
      conn.quit();
    }
  }

  #observe(began: number, bodyEnded: number): void {
    if (!this.#timings) return;
    const now = performance.now();
    if (bodyEnded > 0) this.#timings.finalReply((now - bodyEnded) / 1000);
    this.#timings.transaction((now - began) / 1000);
  }

  #acquire(): Promise<SMTPConnection> {
    while (this.#idle.length > 0) {
      const idle = this.#idle.pop()!;
      clearTimeout(idle.timer);
      idle.conn.removeAllListeners('error');
      idle.conn.removeAllListeners('end');
      if (isUsable(idle.conn)) return Promise.resolve(idle.conn);
    }
    return this.#connect();
  }

  #connect(): Promise<SMTPConnection> {
    const { host, port, starttls, rejectUnauthorized, timeouts } = this.#config;
    const conn = new SMTPConnection({
      host,
      port,
      name: this.#heloName,
      secure: false,
      ignoreTLS: starttls === 'off',
      requireTLS: starttls === 'required',
      opportunisticTLS: starttls === 'opportunistic',
      tls: { rejectUnauthorized, minVersion: 'TLSv1.2' },
      connectionTimeout: timeouts.connectMs,
      greetingTimeout: timeouts.greetingMs,
      socketTimeout: timeouts.socketMs,
      logger: false,
      debug: false,
    } as SMTPConnection.Options);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        destroy(conn);
        reject(err);
      };
      conn.once('error', onError);
      conn.connect(() => {
        conn.removeListener('error', onError);
        // nodemailer leaves Nagle on: the final dot would wait for the ACK of the last data
        // segment, which the peer delays by up to 40 ms
        (conn as unknown as { _socket?: { setNoDelay?(on: boolean): void } })._socket?.setNoDelay?.(true);
        this.#timings?.connected((performance.now() - started) / 1000);
        resolve(conn);
      });
    });
  }

  #release(conn: SMTPConnection): void {
    if (this.#closed || this.#idle.length >= this.#config.pool.maxIdle || !isUsable(conn)) {
      conn.quit();
      conn.on('error', () => {});
      return;
    }
    const entry: Idle = {
      conn,
      timer: setTimeout(() => {
        this.#idle = this.#idle.filter((i) => i !== entry);
        conn.quit();
      }, this.#config.pool.idleTimeoutMs),
    };
    entry.timer.unref();
    const drop = () => {
      clearTimeout(entry.timer);
      this.#idle = this.#idle.filter((i) => i !== entry);
    };
    conn.removeAllListeners('error');
    conn.removeAllListeners('end');
    conn.once('error', (err: SmtpError) => {
      this.#log.debug({ code: err.code }, 'idle upstream connection failed');
      drop();
    });
    conn.once('end', drop);
    this.#idle.push(entry);
  }
}

/**
 * The message needs an extension the upstream does not offer. Converting it (to 7bit, or
 * to ASCII addresses) would change its bytes and break its signatures, so it is refused
 * as RFC 6531 section 3.4 and RFC 6152 ask.
 */
function missingExtension(conn: SMTPConnection, envelope: UpstreamEnvelope): UpstreamError | null {
  const offered = (conn as unknown as { _supportedExtensions?: string[] })._supportedExtensions ?? [];
  if (envelope.smtpUtf8 && !offered.includes('SMTPUTF8')) {
    return new UpstreamError('permfail', 'upstream does not offer SMTPUTF8', { code: 550, enhanced: '5.6.7', text: 'the next server does not accept internationalized mail (SMTPUTF8)' });
  }
  if (envelope.eightBitMime && !offered.includes('8BITMIME')) {
    return new UpstreamError('permfail', 'upstream does not offer 8BITMIME', { code: 554, enhanced: '5.6.3', text: 'the next server does not accept 8-bit content (8BITMIME)' });
  }
  return null;
}

function isUsable(conn: SMTPConnection): boolean {
  const internals = conn as unknown as { _closing?: boolean; _destroyed?: boolean };
  return !internals._closing && !internals._destroyed;
}

/** Tears the connection down at once: whatever was not yet followed by the final dot is never delivered. */
function destroy(conn: SMTPConnection): void {
  conn.on('error', () => {});
  const socket = (conn as unknown as { _socket?: { destroy(): void } })._socket;
  conn.close();
  socket?.destroy();
}

function rejection(err: SmtpError): RecipientRejection {
  const reply = parseReply(err.response ?? '', 550);
  return { recipient: err.recipient ?? '', code: reply.code, enhanced: reply.enhanced, text: redactAddresses(reply.text) };
}

function toUpstreamError(err: SmtpError): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const rejected = (err.rejectedErrors ?? []).map(rejection);
  if (rejected.length > 0 && err.command === 'RCPT TO') {
    // every recipient refused: permanent only when every refusal was permanent
    const permanent = rejected.every((r) => r.code >= 500);
    const first = rejected.find((r) => (r.code >= 500) === permanent) ?? rejected[0]!;
    const reply = { code: first.code, enhanced: first.enhanced, text: first.text };
    return new UpstreamError(permanent ? 'permfail' : 'tempfail', `upstream refused every recipient (${reply.code} ${reply.enhanced})`, reply, rejected);
  }
  if (err.responseCode && err.response) {
    const reply = parseReply(err.response, err.responseCode);
    const text = redactAddresses(reply.text);
    const kind = reply.code >= 500 ? 'permfail' : 'tempfail';
    return new UpstreamError(kind, `upstream replied ${reply.code} ${reply.enhanced} to ${err.code ?? 'command'}`, { ...reply, text }, rejected);
  }
  if (err.code === 'ETIMEDOUT') return new UpstreamError('timeout', 'upstream timed out');
  return new UpstreamError('unavailable', `upstream connection failed (${err.code ?? 'unknown'})`);
}
