// Notices to people: a tenant nearing or over its complaint or bounce threshold, an
// automatic suspension. Each goes to the tenant's abuse contact and to the provider's abuse
// desk, by signed webhook and by email, in the background with retries: mail flow never
// waits for it. A notice names counts and ids, never a recipient address.
//
// Webhook: POST of the notice as JSON with
//   X-Mailwarden-Event: rate.warning | suspension.automatic
//   X-Mailwarden-Delivery: a unique id (the same on every retry of one delivery)
//   X-Mailwarden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>
import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { TenantId } from '../domain/tenant.js';
import type { Notice } from '../domain/notice.js';

export type { Notice } from '../domain/notice.js';

export interface Contact {
  readonly email?: string;
  readonly webhook?: string;
}

export interface NotifierDeps {
  readonly contactOf: (tenant: TenantId) => Promise<Contact | null>;
  readonly abuseDesk: Contact | null;
  /** signs webhook bodies; without it webhooks are not sent */
  readonly secret: string | null;
  /** From: of notice emails */
  readonly from: string;
  /** sends one email (with the null envelope sender, as automatic mail should) */
  readonly sendMail: (to: string, raw: Buffer) => Promise<void>;
  readonly retryDelaysMs: readonly number[];
  readonly timeoutMs: number;
  readonly log: Logger;
  /** told about every final outcome: channel webhook|email, ok or not */
  readonly onOutcome?: (channel: 'webhook' | 'email', ok: boolean) => void;
}

class PermanentFailure extends Error {}

export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #pending = new Set<Promise<void>>();
  readonly #timers = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
  }

  /** Queues a notice; returns at once and never throws. */
  notify(notice: Notice): void {
    const job = this.#fanOut(notice)
      .catch((err: unknown) => this.#deps.log.error({ err: (err as Error).message, event: notice.event, tenant: notice.tenant }, 'notice not sent'))
      .finally(() => this.#pending.delete(job));
    this.#pending.add(job);
  }

  /** Resolves when every queued notice has been delivered or given up on. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Stops retrying; deliveries still waiting for a retry are logged as not sent. */
  close(): void {
    this.#closed = true;
    for (const [t, resolve] of this.#timers) {
      clearTimeout(t);
      resolve();
    }
    this.#timers.clear();
  }

  async #fanOut(notice: Notice): Promise<void> {
    const tenantContact = await this.#deps.contactOf(notice.tenant);
    const targets: Array<{ who: 'tenant' | 'abuse-desk'; contact: Contact }> = [];
    if (tenantContact) targets.push({ who: 'tenant', contact: tenantContact });
    if (this.#deps.abuseDesk) targets.push({ who: 'abuse-desk', contact: this.#deps.abuseDesk });
    const body = JSON.stringify({ ...notice, at: new Date(notice.at).toISOString() });
    const jobs: Promise<void>[] = [];
    for (const { who, contact } of targets) {
      if (contact.webhook) {
        const delivery = randomUUID();
        jobs.push(this.#withRetries('webhook', who, notice, () => this.#post(contact.webhook!, notice, body, delivery)));
      }
      if (contact.email) jobs.push(this.#withRetries('email', who, notice, () => this.#mail(contact.email!, notice)));
    }
    if (targets.length === 0) this.#deps.log.warn({ event: notice.event, tenant: notice.tenant }, 'no abuse contact to notify: set notifications.abuseDesk and tenants[].abuseContact');
    await Promise.all(jobs);
  }

  async #withRetries(channel: 'webhook' | 'email', who: string, notice: Notice, attempt: () => Promise<void>): Promise<void> {
    const log = this.#deps.log.child({ channel, to: who, event: notice.event, tenant: notice.tenant });
    for (let i = 0; ; i++) {
      try {
        await attempt();
        log.info({ attempt: i + 1 }, 'notice sent');
        this.#deps.onOutcome?.(channel, true);
        return;
      } catch (err) {
        const permanent = err instanceof PermanentFailure;
        const last = permanent || i >= this.#deps.retryDelaysMs.length || this.#closed;
        log.warn({ attempt: i + 1, err: (err as Error).message, final: last }, 'notice not delivered');
        if (last) {
          this.#deps.onOutcome?.(channel, false);
          return;
        }
        await this.#sleep(this.#deps.retryDelaysMs[i]!);
        if (this.#closed) {
          this.#deps.onOutcome?.(channel, false);
          log.warn('notice dropped at shutdown');
          return;
        }
      }
    }
  }

  /** A wait that close() cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.set(t, resolve);
    });
  }

  async #post(url: string, notice: Notice, body: string, delivery: string): Promise<void> {
    if (!this.#deps.secret) throw new PermanentFailure('no webhook secret configured (notifications.webhookSecret or MAILWARDEN_WEBHOOK_SECRET)');
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'mailwarden',
        'x-mailwarden-event': notice.event,
        'x-mailwarden-delivery': delivery,
        'x-mailwarden-signature': signature(this.#deps.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(this.#deps.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return;
    const message = `webhook answered ${res.status}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new PermanentFailure(message);
    throw new Error(message);
  }

  async #mail(to: string, notice: Notice): Promise<void> {
    const text =
      `${notice.summary}\n\n` +
      `Tenant: ${notice.tenant}\nTime: ${new Date(notice.at).toISOString()}\n\n` +
      Object.entries(notice.details)
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('\n') +
      `\n\nThis notice was sent by mailwarden. Details: mailwarden suspensions --tenant ${notice.tenant}\n`;
    const raw = await new MailComposer({
      from: this.#deps.from,
      to,
      subject: `[mailwarden] ${notice.summary}`,
      text,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Mailwarden-Event': notice.event },
    })
      .compile()
      .build();
    await this.#deps.sendMail(to, raw);
  }
}
