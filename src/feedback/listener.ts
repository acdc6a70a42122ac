// The feedback SMTP listener (default port 2526): where the provider's feedback-loop and
// bounce mailboxes deliver. Any sender and recipient are taken; each message is read as a
// report at the end of DATA. 250 once it is recorded (with the record id), 554 5.6.0 for a
// message that is no report, 451 4.3.0 when it could not be recorded, so the sending MTA
// retries and nothing is lost. The port faces mailbox providers, so it holds at most
// maxMessageBytes of a message (the rest is read and dropped, to answer 552), and has the
// relay's connection caps, idle timeout and session deadline.
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import type { TlsMaterial } from '../tls/certificates.js';
import { replyFor, smtpError } from '../smtp/reply-table.js';
import { ConnectionCaps, endSessionPastDeadline } from '../smtp/connection-caps.js';
import { listenError } from '../observability/listen.js';
import type { FeedbackIntake, IntakeResult } from './intake.js';
import type { DroppedBytes } from '../observability/young-gc.js';

export interface FeedbackConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** a connection silent this long is closed */
  readonly idleTimeoutMs: number;
  /** a connection open this long gets 421 4.4.2 and is closed */
  readonly sessionTimeoutMs: number;
}

export interface FeedbackListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
  readonly maxMessageBytes: number;
  readonly limits: FeedbackConnectionLimits;
  readonly tls: TlsMaterial;
  readonly minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly intake: FeedbackIntake;
  readonly log: Logger;
  /** told about every report taken in or refused, for metrics */
  readonly onReport?: (result: IntakeResult | null) => void;
  /** false while the store is not the store this relay knows: reports get 451 4.3.0 and are sent again later */
  readonly storeServing?: () => boolean;
  /** told of what an oversized message had read and dropped, so that it is freed as it goes */
  readonly dropped?: DroppedBytes;
}

export class FeedbackListener {
  readonly #server: SMTPServer;
  readonly #options: FeedbackListenerOptions;
  readonly #caps: ConnectionCaps;
  /** session id -> the client's address and its deadline */
  readonly #sessions = new Map<string, { ip: string; timer: NodeJS.Timeout }>();

  constructor(options: FeedbackListenerOptions) {
    this.#options = options;
    this.#caps = new ConnectionCaps(options.limits);
    const serverOptions: SMTPServerOptions = {
      name: options.hostname,
      banner: 'mailwarden feedback',
      key: options.tls.key,
      cert: options.tls.cert,
      minVersion: options.minTlsVersion,
      authOptional: true,
      disabledCommands: ['AUTH'],
      size: options.maxMessageBytes,
      rejectOversized: true,
      disableReverseLookup: true,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      socketTimeout: options.limits.idleTimeoutMs,
      logger: false,
      onConnect: (session, cb) => cb(this.#connect(session)),
      onClose: (session) => this.#closed(session),
      onData: (stream, session, cb) => {
        this.#take(stream, session.id).then(
          (text) => cb(null, text),
          (err: Error) => cb(err),
        );
      },
    };
    this.#server = new SMTPServer(serverOptions);
    this.#server.on('error', (err: Error & { code?: string; syscall?: string }) => {
      if (err.syscall !== 'listen') options.log.warn({ code: err.code ?? 'ERROR' }, 'feedback connection error');
    });
  }

  listen(): Promise<AddressInfo> {
    const { host, port } = this.#options;
    return new Promise((resolve, reject) => {
      const failed = (err: Error) => reject(listenError('feedback.port', host, port, err));
      this.#server.server.once('error', failed);
      this.#server.listen(port, host, () => {
        this.#server.server.removeListener('error', failed);
        resolve(this.#server.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #connect(session: SMTPServerSession): Error | null {
    const ip = session.remoteAddress;
    if (!this.#caps.admit(ip)) {
      this.#options.log.warn({ session: session.id, ip, connections: this.#caps.count(ip) }, 'feedback connection refused: too many connections');
      return smtpError(replyFor('TOO_MANY_CONNECTIONS'));
    }
    const timer = setTimeout(() => this.#expire(session.id), this.#options.limits.sessionTimeoutMs);
    timer.unref();
    this.#sessions.set(session.id, { ip, timer });
    return null;
  }

  #closed(session: SMTPServerSession): void {
    const state = this.#sessions.get(session.id);
    if (!state) return;
    clearTimeout(state.timer);
    this.#sessions.delete(session.id);
    this.#caps.release(state.ip);
  }

  #expire(id: string): void {
    if (endSessionPastDeadline(this.#server, id)) this.#options.log.info({ session: id, reason: 'SESSION_TIME_EXCEEDED' }, 'feedback session closed: time limit');
  }

  async #take(stream: Readable & { sizeExceeded?: boolean }, session: string): Promise<string> {
    // at most maxMessageBytes kept; past it what was kept is let go, and the rest is read and
    // dropped, to answer 552
    let chunks: Buffer[] = [];
    let kept = 0;
    for await (const chunk of stream) {
      if (kept > this.#options.maxMessageBytes) {
        this.#options.dropped?.dropped((chunk as Buffer).length);
        continue;
      }
      kept += (chunk as Buffer).length;
      if (kept > this.#options.maxMessageBytes) chunks = [];
      else chunks.push(chunk as Buffer);
    }
    const log = this.#options.log.child({ session });
    if (stream.sizeExceeded || kept > this.#options.maxMessageBytes) throw smtpError(replyFor('MESSAGE_TOO_BIG'));
    if (this.#options.storeServing?.() === false) {
      log.warn({ reason: 'STORE_LOST' }, 'feedback report deferred: the store is not the store this relay knows');
      throw smtpError(replyFor('FEEDBACK_UNAVAILABLE'));
    }
    let result: IntakeResult;
    try {
      result = await this.#options.intake.ingest(Buffer.concat(chunks), 'smtp');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'feedback report not recorded');
      this.#options.onReport?.(null);
      throw smtpError(replyFor('FEEDBACK_UNAVAILABLE'));
    }
    this.#options.onReport?.(result);
    if (result.plan.kind === 'rejected') {
      log.info({ reason: 'NOT_A_REPORT', why: result.plan.reason }, 'feedback message refused');
      throw smtpError(replyFor('NOT_A_REPORT'));
    }
    for (const { record, duplicate } of result.records) {
      log.info({ report: record.id, kind: record.kind, outcome: record.outcome, attribution: record.attribution, tenant: record.tenant, duplicate, ...record.counts }, 'feedback report taken in');
    }
    const ids = result.records.map((r) => `${r.record.id} ${r.duplicate ? 'seen before' : r.record.outcome}`).join(', ');
    return `2.0.0 Report recorded: ${ids}`;
  }
}
