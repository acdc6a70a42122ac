// Delivery status notifications (RFC 3464) for recipients the upstream refused while it
// accepted others. The client's single reply to DATA cannot say "some yes, some no", and
// mailwarden stores no message content to retry with, so the refused recipients are
// reported to the envelope sender the way any MTA would after accepting a message.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isAscii } from '../domain/mailbox.js';
import { rfc5322Date } from './trace.js';
import { UpstreamError, type RecipientRejection, type Upstream } from './upstream.js';

export interface DsnInput {
  readonly reportingMta: string;
  readonly upstreamName: string;
  readonly sender: string;
  readonly rejected: readonly RecipientRejection[];
  /** the original message's header section, CRLF line ends, or '' when unknown */
  readonly originalHeaders: string;
  readonly arrivalDate: Date;
  readonly now: Date;
}

export function buildDsn(input: DsnInput): string {
  const boundary = `mw-${randomUUID()}`;
  const lines = (s: string) => s.replace(/\r?\n/g, '\r\n');
  const recipients = input.rejected
    .map(
      (r) =>
        `Final-Recipient: ${isAscii(r.recipient) ? 'rfc822' : 'utf-8'}; ${r.recipient}\r\n` +
        `Action: failed\r\n` +
        `Status: ${r.enhanced}\r\n` +
        `Remote-MTA: dns; ${input.upstreamName}\r\n` +
        `Diagnostic-Code: smtp; ${r.code} ${r.enhanced} ${r.text}\r\n`,
    )
    .join('\r\n');
  const listing = input.rejected.map((r) => `  <${r.recipient}>: ${r.code} ${r.enhanced} ${r.text}`).join('\r\n');
  const anyTemporary = input.rejected.some((r) => r.code < 500);
  const explanation =
    `This is the mail relay at ${input.reportingMta}.\r\n\r\n` +
    `Your message was accepted for the other recipients, but the next server refused the\r\n` +
    `recipients below, so it was not delivered to them.\r\n` +
    (anyTemporary
      ? `A 4.x.x status is a temporary refusal; this relay keeps no copy to retry with, so send\r\n` +
        `the message to those recipients again if they still need it.\r\n`
      : '') +
    `\r\n${listing}\r\n`;
  const headers = input.originalHeaders ? lines(input.originalHeaders).replace(/(\r\n)*$/, '\r\n') : '';
  return (
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>\r\n` +
    `To: <${input.sender}>\r\n` +
    `Subject: Undelivered Mail Returned to Sender\r\n` +
    `Date: ${rfc5322Date(input.now)}\r\n` +
    `Message-ID: <${randomUUID()}@${input.reportingMta}>\r\n` +
    `Auto-Submitted: auto-replied\r\n` +
    `MIME-Version: 1.0\r\n` +
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"\r\n` +
    `\r\n` +
    `--${boundary}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n` +
    `Content-Transfer-Encoding: 8bit\r\n\r\n` +
    explanation +
    `\r\n--${boundary}\r\n` +
    `Content-Type: message/${input.rejected.every((r) => isAscii(r.recipient)) ? '' : 'global-'}delivery-status\r\n\r\n` +
    `Reporting-MTA: dns; ${input.reportingMta}\r\n` +
    `Arrival-Date: ${rfc5322Date(input.arrivalDate)}\r\n\r\n` +
    recipients +
    (headers ? `\r\n--${boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n${headers}` : '') +
    `\r\n--${boundary}--\r\n`
  );
}

export interface DsnSenderOptions {
  readonly upstream: Upstream;
  readonly log: Logger;
  /** delays between attempts, in ms */
  readonly retryDelays?: readonly number[];
}

/**
 * Sends DSNs off the reply path, retrying a few times; tracks them so shutdown can wait for
 * attempts under way. A retry's wait never holds shutdown: close() ends the waits, and a DSN
 * still waiting is given up with an error line naming its session.
 */
export class DsnSender {
  readonly #pending = new Set<Promise<void>>();
  readonly #opts: DsnSenderOptions;
  readonly #waits = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  constructor(opts: DsnSenderOptions) {
    this.#opts = opts;
  }

  send(input: DsnInput, sessionId: string): void {
    const job = this.#deliver(input, sessionId).finally(() => this.#pending.delete(job));
    this.#pending.add(job);
  }

  /** No more retries: waits end now; attempts under way finish (idle() waits for them). */
  close(): void {
    this.#closed = true;
    for (const [timer, wake] of this.#waits) {
      clearTimeout(timer);
      wake();
    }
    this.#waits.clear();
  }

  async idle(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async #deliver(input: DsnInput, sessionId: string): Promise<void> {
    const text = Buffer.from(buildDsn(input), 'utf8');
    // 8BITMIME only for a DSN that has 8-bit octets (a UTF-8 address or header): an upstream without it takes the rest
    const eightBitMime = !isAscii(text.toString('latin1'));
    const delays = this.#opts.retryDelays ?? [1_000, 10_000, 60_000];
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) {
        this.#opts.log.error({ session: sessionId, refused: input.rejected.length, attempt }, 'delivery status notification not sent: the relay stopped before its next attempt');
        return;
      }
      const tx = this.#opts.upstream.begin({ from: '', to: [input.sender], eightBitMime, smtpUtf8: !isAscii(input.sender) });
      tx.body.end(text);
      try {
        await tx.result;
        this.#opts.log.info({ session: sessionId, refused: input.rejected.length, attempt }, 'delivery status notification sent');
        return;
      } catch (err) {
        const e = err as UpstreamError;
        const final = e.kind === 'permfail' || attempt >= delays.length;
        this.#opts.log.warn({ session: sessionId, kind: e.kind, code: e.reply?.code, attempt, final }, 'delivery status notification not sent');
        if (final) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#waits.delete(timer);
            resolve();
          }, delays[attempt]);
          this.#waits.set(timer, resolve);
        });
      }
    }
  }
}
