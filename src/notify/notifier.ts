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
import type { Notice, PendingContactNotice } from '../domain/notice.js';
import type { AdminStore } from '../store/ports.js';
import { Waits } from './waits.js';

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
  /**
   * Where deliveries on their way are kept, so that a restart or a lost replica does not
   * lose them; without it they live in this process only.
   */
  readonly outbox?: Pick<AdminStore, 'savePendingNotice' | 'dropPendingNotice' | 'listPendingNotices' | 'claimOnce'>;
  readonly now?: () => number;
}

class PermanentFailure extends Error {}

/** how long a delivery stays with the process working on it beyond its next attempt */
const LEASE_MS = 60_000;

export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #now: () => number;
  readonly #pending = new Set<Promise<void>>();
  readonly #waits = new Waits();
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Queues a notice; returns at once and never throws. */
  notify(notice: Notice): void {
    this.#track(this.#fanOut(notice), notice);
  }

  /**
   * Takes over, now and every `intervalMs`, the kept deliveries that nobody works on: those
   * of a process that stopped or was lost. Each is taken by one process only.
   */
  start(intervalMs = LEASE_MS): void {
    if (!this.#deps.outbox) return;
    void this.sweep();
    this.#sweeper = setInterval(() => void this.sweep(), intervalMs);
    this.#sweeper.unref();
  }

  /** One pass of start(): resolves once the deliveries it took over are started. */
  async sweep(): Promise<number> {
    const outbox = this.#deps.outbox;
    if (!outbox || this.#closed) return 0;
    let taken = 0;
    try {
      const now = this.#now();
      for (const p of await outbox.listPendingNotices()) {
        // DSNs on their way are the DSN sender's to take over
        if (p.channel === 'dsn') continue;
        if (p.leaseUntil > now || !(await outbox.claimOnce(p.tenant, `notice:${p.id}:${p.attempts}`, LEASE_MS, now))) continue;
        const mine = { ...p, leaseUntil: now + this.#deps.timeoutMs + LEASE_MS };
        await this.#keep(mine);
        this.#deps.log.info({ event: p.notice.event, tenant: p.tenant, channel: p.channel, to: p.who, attempts: p.attempts }, 'notice delivery taken over');
        this.#track(this.#deliver(mine), p.notice);
        taken++;
      }
    } catch (err) {
      this.#deps.log.warn({ err: (err as Error).message }, 'kept notices not read; next sweep tries again');
    }
    return taken;
  }

  /** Resolves when every queued notice has been delivered, given up on or kept for later. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Stops retrying; deliveries waiting for a retry stay kept for the next start (or are logged as not sent). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#waits.endAll();
  }

  #track(job: Promise<void>, notice: Notice): void {
    const tracked = job
      .catch((err: unknown) => this.#deps.log.error({ err: (err as Error).message, event: notice.event, tenant: notice.tenant }, 'notice not sent'))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #fanOut(notice: Notice): Promise<void> {
    const tenantContact = await this.#deps.contactOf(notice.tenant);
    const targets: Array<{ who: 'tenant' | 'abuse-desk'; contact: Contact }> = [];
    if (tenantContact) targets.push({ who: 'tenant', contact: tenantContact });
    if (this.#deps.abuseDesk) targets.push({ who: 'abuse-desk', contact: this.#deps.abuseDesk });
    if (targets.length === 0) this.#deps.log.warn({ event: notice.event, tenant: notice.tenant }, 'no abuse contact to notify: set notifications.abuseDesk and tenants[].abuseContact');
    const deliveries: PendingContactNotice[] = [];
    const lease = this.#now() + this.#deps.timeoutMs + LEASE_MS;
    for (const { who, contact } of targets) {
      const base = { tenant: notice.tenant, who, notice, attempts: 0, leaseUntil: lease };
      if (contact.webhook) deliveries.push({ ...base, id: randomUUID(), channel: 'webhook', target: contact.webhook });
      if (contact.email) deliveries.push({ ...base, id: randomUUID(), channel: 'email', target: contact.email });
    }
    for (const d of deliveries) await this.#keep(d);
    await Promise.all(deliveries.map((d) => this.#deliver(d)));
  }

  /** Attempts a delivery until it succeeds, fails for good, or runs out of retries. */
  async #deliver(first: PendingContactNotice): Promise<void> {
    const log = this.#deps.log.child({ channel: first.channel, to: first.who, event: first.notice.event, tenant: first.tenant });
    let p = first;
    for (;;) {
      try {
        await (p.channel === 'webhook' ? this.#post(p) : this.#mail(p.target, p.notice));
        log.info({ attempt: p.attempts + 1 }, 'notice sent');
        await this.#done(p);
        this.#deps.onOutcome?.(p.channel, true);
        return;
      } catch (err) {
        const permanent = err instanceof PermanentFailure;
        const last = permanent || p.attempts >= this.#deps.retryDelaysMs.length;
        log.warn({ attempt: p.attempts + 1, err: (err as Error).message, final: last }, 'notice not delivered');
        if (last) {
          await this.#done(p);
          this.#deps.onOutcome?.(p.channel, false);
          return;
        }
        const delay = this.#deps.retryDelaysMs[p.attempts]!;
        p = { ...p, attempts: p.attempts + 1, leaseUntil: this.#now() + delay + this.#deps.timeoutMs + LEASE_MS };
        await this.#keep(p);
        if (!this.#closed) await this.#waits.sleep(delay);
        if (this.#closed) {
          if (this.#deps.outbox) log.info({ attempts: p.attempts }, 'notice kept for the next start');
          else {
            this.#deps.onOutcome?.(p.channel, false);
            log.warn('notice dropped at shutdown');
          }
          return;
        }
      }
    }
  }

  async #keep(p: PendingContactNotice): Promise<void> {
    try {
      await this.#deps.outbox?.savePendingNotice(p);
    } catch (err) {
      this.#deps.log.warn({ err: (err as Error).message, tenant: p.tenant }, 'notice delivery not kept in the store; it lives in this process only');
    }
  }

  async #done(p: PendingContactNotice): Promise<void> {
    try {
      await this.#deps.outbox?.dropPendingNotice(p.tenant, p.id);
    } catch (err) {
      this.#deps.log.warn({ err: (err as Error).message, tenant: p.tenant }, 'finished notice delivery not removed from the store');
    }
  }

  async #post(p: PendingContactNotice): Promise<void> {
    const { notice, target: url, id: delivery } = p;
    const body = JSON.stringify({ ...notice, at: new Date(notice.at).toISOString() });
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
