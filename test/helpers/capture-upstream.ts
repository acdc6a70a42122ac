// An upstream MTA built on smtp-server that keeps the exact bytes it received, and can be
// told to refuse some recipients or to fall silent after the final dot.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface Captured {
  readonly from: string;
  readonly to: string[];
  readonly raw: Buffer;
  readonly bodyType?: string;
  readonly smtpUtf8?: boolean;
}

export interface CaptureOptions {
  /** recipient → reply, e.g. { 'bad@x.test': [550, '5.1.1 No such user'] } */
  readonly refuseRcpt?: Record<string, [number, string]>;
  /** never answer after the final dot */
  readonly silentAfterDot?: boolean;
  /** answer the final dot with this reply */
  readonly dataReply?: [number, string];
  /** 452 4.5.3 to recipients past this many in one transaction */
  readonly maxRecipients?: number;
  /** answer the final dot this much later */
  readonly finalReplyDelayMs?: number;
  /** do not offer these extensions */
  readonly without?: { readonly smtpUtf8?: boolean; readonly eightBitMime?: boolean };
}

export interface CaptureUpstream {
  readonly port: number;
  readonly messages: Captured[];
  /** DATA transactions that started, complete or not */
  started: number;
  /** while true, MAIL FROM:<> (a DSN) gets 451 4.3.0 */
  deferNullSender: boolean;
  close(): Promise<void>;
}

export async function startCaptureUpstream(options: CaptureOptions = {}): Promise<CaptureUpstream> {
  const state: CaptureUpstream = { port: 0, messages: [], started: 0, deferNullSender: false, close: async () => {} };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    hideSMTPUTF8: Boolean(options.without?.smtpUtf8),
    hide8BITMIME: Boolean(options.without?.eightBitMime),
    disableReverseLookup: true,
    logger: false,
    onMailFrom(address, _session, cb) {
      if (state.deferNullSender && address.address === '') {
        const err = new Error('4.3.0 Try again later') as Error & { responseCode: number };
        err.responseCode = 451;
        return cb(err);
      }
      cb();
    },
    onRcptTo(address, session, cb) {
      if (options.maxRecipients !== undefined && session.envelope.rcptTo.length >= options.maxRecipients) {
        const err = new Error('4.5.3 Too many recipients') as Error & { responseCode: number };
        err.responseCode = 452;
        return cb(err);
      }
      const refusal = options.refuseRcpt?.[address.address];
      if (refusal) {
        const err = new Error(refusal[1]) as Error & { responseCode: number };
        err.responseCode = refusal[0];
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      state.started++;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => {});
      stream.on('end', () => {
        if (options.silentAfterDot) return;
        if (options.dataReply) {
          const err = new Error(options.dataReply[1]) as Error & { responseCode: number };
          err.responseCode = options.dataReply[0];
          return cb(err);
        }
        const accept = () => {
          state.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
            bodyType: session.envelope.bodyType,
            smtpUtf8: session.envelope.smtpUtf8,
          });
          cb(null, 'Ok: queued as CAPTURE');
        };
        if (options.finalReplyDelayMs) setTimeout(accept, options.finalReplyDelayMs);
        else accept();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (state as { port: number }).port = (server.server.address() as AddressInfo).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const c of server.connections) (c as unknown as { close(): void }).close();
      server.close(() => resolve());
    });
  return state;
}
