// Delivery status notifications (RFC 3464) for recipients the upstream refused while it
// accepted others. The client's single reply to DATA cannot say "some yes, some no", and
// mailwarden stores no message content to retry with, so the refused recipients are
// reported to the envelope sender the way any MTA would after accepting a message.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isAscii } from '../domain/mailbox.js';
import { rfc5322Date } from './trace.js';
import { UpstreamError, type RecipientRejection, type Upstream } from './upstream.js';
import type { TenantKey } from '../crypto/keys.js';
import type { TenantId } from '../domain/tenant.js';
import type { PendingDsn } from '../domain/notice.js';
import type { AdminStore } from '../store/ports.js';
import { Waits } from '../notify/waits.js';

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
  /**
   * Where DSNs on their way are kept (sealed under the tenant's key) until they are delivered
   * or fail for good, so that a restart or a lost replica does not lose them; without it they
   * live in this process only.
   */
  readonly outbox?: Pick<AdminStore, 'savePendingNotice' | 'dropPendingNotice' | 'listPendingNotices' | 'claimOnce'>;
  /** the tenant's key, to seal a kept DSN and to open one taken over */
  readonly keyOf?: (tenant: TenantId) => TenantKey | null;
  /** how long a delivery stays with the process working on it beyond its next attempt */
  readonly leaseMs?: number;
  readonly now?: () => number;
}

/** what a kept DSN holds, sealed */
interface DsnContent {
  readonly to: string;
  /** base64 */
  readonly message: string;
  readonly eightBitMime: boolean;
  readonly smtpUtf8: boolean;
}

const LEASE_MS = 60_000;

/**
 * Sends DSNs off the reply path with retries, each kept in the store until it is delivered or
 * fails for good; start() takes over, once per installation, those a stopped or lost process
 * left on their way. A retry's wait never holds shutdown: close() ends the waits, and a DSN
 * still waiting stays kept for the next start (without a store it is given up, logged).
 */
export class DsnSender {
  readonly #pending = new Set<Promise<void>>();
  readonly #opts: DsnSenderOptions;
  readonly #waits = new Waits();
  readonly #now: () => number;
  readonly #lease: number;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: DsnSenderOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#lease = opts.leaseMs ?? LEASE_MS;
  }

  send(input: DsnInput & { readonly tenant: TenantId }, sessionId: string): void {
    const message = Buffer.from(buildDsn(input), 'utf8');
    // 8BITMIME only for a DSN that has 8-bit octets (a UTF-8 address or header): an upstream without it takes the rest
    const content: DsnContent = { to: input.sender, message: message.toString('base64'), eightBitMime: !isAscii(message.toString('latin1')), smtpUtf8: !isAscii(input.sender) };
    const key = this.#opts.keyOf?.(input.tenant) ?? null;
    const kept: PendingDsn | null =
      this.#opts.outbox && key
        ? { id: randomUUID(), tenant: input.tenant, channel: 'dsn', session: sessionId, sealed: key.sealReport(Buffer.from(JSON.stringify(content))), attempts: 0, leaseUntil: this.#now() + this.#lease }
        : null;
    this.#track((kept ? this.#keep(kept) : Promise.resolve()).then(() => this.#deliver(content, kept, sessionId)));
  }

  /** Takes over, now and every `intervalMs`, the kept DSNs that nobody works on. */
  start(intervalMs = this.#lease): void {
    if (!this.#opts.outbox) return;
    void this.sweep();
    this.#sweeper = setInterval(() => void this.sweep(), intervalMs);
    this.#sweeper.unref();
  }

  /** One pass of start(): how many kept DSNs it took over. */
  async sweep(): Promise<number> {
    const outbox = this.#opts.outbox;
    if (!outbox || this.#closed) return 0;
    let taken = 0;
    try {
      const now = this.#now();
      for (const p of await outbox.listPendingNotices()) {
        if (p.channel !== 'dsn' || p.leaseUntil > now) continue;
        const key = this.#opts.keyOf?.(p.tenant) ?? null;
        if (!key || !(await outbox.claimOnce(p.tenant, `dsn:${p.id}:${p.attempts}`, this.#lease, now))) continue;
        const content = JSON.parse(key.openReport(p.sealed).toString('utf8')) as DsnContent;
        const mine: PendingDsn = { ...p, leaseUntil: now + this.#lease };
        await this.#keep(mine);
        this.#opts.log.info({ session: p.session, tenant: p.tenant, attempts: p.attempts }, 'delivery status notification taken over');
        this.#track(this.#deliver(content, mine, p.session));
        taken++;
      }
    } catch (err) {
      this.#opts.log.warn({ err: (err as Error).message }, 'kept delivery status notifications not read; the next sweep tries again');
    }
    return taken;
  }

  /** No more retries: waits end now; attempts under way finish (idle() waits for them). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#waits.endAll();
  }

  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #track(job: Promise<void>): void {
    const tracked = job
      .catch((err: unknown) => this.#opts.log.error({ err: (err as Error).message }, 'delivery status notification failed'))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #deliver(content: DsnContent, kept: PendingDsn | null, sessionId: string): Promise<void> {
    const delays = this.#opts.retryDelays ?? [1_000, 10_000, 60_000, 300_000, 1_800_000];
    const log = this.#opts.log.child({ session: sessionId });
    let p = kept;
    for (let attempt = kept?.attempts ?? 0; ; attempt++) {
      if (this.#closed) {
        if (p) log.info({ attempt }, 'delivery status notification kept for the next start');
        else log.error({ attempt }, 'delivery status notification not sent: the relay stopped before its next attempt');
        return;
      }
      const tx = this.#opts.upstream.begin({ from: '', to: [content.to], eightBitMime: content.eightBitMime, smtpUtf8: content.smtpUtf8 });
      tx.body.end(Buffer.from(content.message, 'base64'));
      try {
        await tx.result;
        log.info({ attempt }, 'delivery status notification sent');
        if (p) await this.#drop(p);
        return;
      } catch (err) {
        const e = err as UpstreamError;
        const final = e.kind === 'permfail' || attempt >= delays.length;
        log.warn({ kind: e.kind, code: e.reply?.code, attempt, final }, 'delivery status notification not sent');
        if (final) {
          if (p) await this.#drop(p);
          return;
        }
        const delay = delays[attempt]!;
        if (p) {
          p = { ...p, attempts: attempt + 1, leaseUntil: this.#now() + delay + this.#lease };
          await this.#keep(p);
        }
        await this.#waits.sleep(delay);
      }
    }
  }

  async #keep(p: PendingDsn): Promise<void> {
    try {
      await this.#opts.outbox?.savePendingNotice(p);
    } catch (err) {
      this.#opts.log.warn({ err: (err as Error).message, session: p.session }, 'delivery status notification not kept in the store; it lives in this process only');
    }
  }

  async #drop(p: PendingDsn): Promise<void> {
    try {
      await this.#opts.outbox?.dropPendingNotice(p.tenant, p.id);
    } catch (err) {
      this.#opts.log.warn({ err: (err as Error).message, session: p.session }, 'finished delivery status notification not removed from the store');
    }
  }
}
