// Turns what happens in an SMTP transaction into accounting records: addresses become the
// tenant's keyed pseudonyms with their domains before anything is kept.
import type { TenantKey } from '../crypto/keys.js';
import type { MailAddress, Recipient } from '../domain/envelope.js';
import type { TenantId } from '../domain/tenant.js';
import type { DeliveryOutcome } from '../forward/upstream.js';
import { parseMailAddress } from '../domain/mailbox.js';
import { ACCOUNTING_SCHEMA_VERSION, messageIdOf, type AccountingRecord, type PseudonymousAddress, type RejectedRecord } from './records.js';

export interface AccountingSink {
  add(record: AccountingRecord): void;
  /** `count` records already serialised, each a line ending in LF, of one tenant and UTC day */
  addLines(tenant: string, day: string, lines: string, count: number): void;
}

/** what a transactional record adds to the fields it shares with the others of its transaction */
type Tail<R> = R extends unknown ? Omit<R, keyof Base> : never;

/** the fields every transactional record starts with */
type Base = Pick<RejectedRecord, 'v' | 'time' | 'tenant' | 'session' | 'tx' | 'sender' | 'messageId' | 'size'>;

export interface TransactionFacts {
  readonly tenant: TenantId;
  readonly session: string;
  readonly sender: MailAddress | null;
  readonly tx?: string;
  readonly headers?: string;
  readonly size?: number;
  /** the transaction's recipients, with the pseudonyms the front computed */
  readonly recipients?: readonly Recipient[];
}

export class Accountant {
  readonly #sink: AccountingSink;
  readonly #keyOf: (tenant: TenantId) => TenantKey | null;
  readonly #now: () => number;

  constructor(sink: AccountingSink, keyOf: (tenant: TenantId) => TenantKey | null, now: () => number) {
    this.#sink = sink;
    this.#keyOf = keyOf;
    this.#now = now;
  }

  /** MAIL FROM refused after the tenant was known. */
  mailRefused(t: TransactionFacts, reason: string, code: number): void {
    const base = this.#base(t);
    if (base) this.#sink.add({ ...base, type: 'rejected', stage: 'mail', reason, code });
  }

  /** RCPT TO refused; `recipient` as the client gave it (parsed here, never kept in clear). */
  recipientRefused(t: TransactionFacts, recipient: MailAddress | null, reason: string, code: number): void {
    const base = this.#base(t);
    if (!base) return;
    const r = recipient ? this.#pseudonymous(t.tenant, recipient) : null;
    this.#sink.add({ ...base, type: 'rejected', stage: 'rcpt', ...(r ? { recipient: r } : {}), reason, code });
  }

  /** The upstream's verdict on a message it took: relayed, bounced (5xx) or deferred (4xx) per recipient. */
  delivered(t: TransactionFacts, outcome: DeliveryOutcome): void {
    const base = this.#base(t);
    if (!base) return;
    const upstream = parseReply(outcome.response);
    // the upstream names recipients by the forward paths it was given
    const byPath = new Map<string, PseudonymousAddress>();
    for (const r of t.recipients ?? []) if (r.pseudonym) byPath.set(r.mailbox.address, r.pseudonym);
    const tails: Array<Tail<AccountingRecord>> = [];
    for (const address of outcome.accepted) {
      const recipient = byPath.get(address);
      if (recipient) tails.push({ type: 'relayed', recipient, upstream });
    }
    for (const r of outcome.rejected) {
      const recipient = byPath.get(r.recipient);
      if (!recipient) continue;
      if (r.code >= 500) tails.push({ type: 'bounced', via: 'upstream', recipient, code: r.code, enhanced: r.enhanced });
      else tails.push({ type: 'deferred', recipient, reason: 'UPSTREAM_TEMPFAIL', code: r.code, enhanced: r.enhanced });
    }
    this.#emit(base, tails);
  }

  /** The message went nowhere: refused while it streamed (guard), or the upstream failed or refused it all. */
  notRelayed(t: TransactionFacts, outcome: { kind: 'rejected' | 'deferred' | 'bounced'; reason: string; code: number; enhanced?: string }): void {
    const base = this.#base(t);
    if (!base) return;
    const enhanced = outcome.enhanced ? { enhanced: outcome.enhanced } : {};
    const tails: Array<Tail<AccountingRecord>> = [];
    for (const { pseudonym: recipient } of t.recipients ?? []) {
      if (!recipient) continue;
      if (outcome.kind === 'rejected') tails.push({ type: 'rejected', stage: 'data', recipient, reason: outcome.reason, code: outcome.code });
      else if (outcome.kind === 'deferred') tails.push({ type: 'deferred', recipient, reason: outcome.reason, code: outcome.code, ...enhanced });
      else tails.push({ type: 'bounced', via: 'upstream', recipient, code: outcome.code, ...enhanced });
    }
    this.#emit(base, tails);
  }

  /** What an attributed report said about each recipient it could tie to a relayed message. */
  reportFindings(
    tenant: TenantId,
    report: string,
    findings: ReadonlyArray<{ type: string; recipient: { address: string } | { p: string; d: string } | null; feedbackType?: string; bounce?: { status: string | null; verdict: string; rule: string }; messageRef: string | null }>,
  ): void {
    const time = new Date(this.#now()).toISOString();
    for (const f of findings) {
      if (!f.recipient) continue;
      const recipient = 'address' in f.recipient ? this.#fromText(tenant, f.recipient.address) : { p: f.recipient.p, d: f.recipient.d };
      if (!recipient) continue;
      const common = { v: ACCOUNTING_SCHEMA_VERSION, time, tenant, recipient, ...(f.messageRef ? { tx: f.messageRef } : {}), report };
      if (f.bounce) {
        this.#sink.add({ ...common, type: 'bounced', via: 'report', ...(f.bounce.status ? { enhanced: f.bounce.status } : {}), verdict: f.bounce.verdict, rule: f.bounce.rule });
      } else if (f.feedbackType) {
        this.#sink.add({ ...common, type: 'complained', feedbackType: f.feedbackType, action: f.type });
      }
    }
  }

  /** An administrative action on a tenant. */
  admin(tenant: TenantId, action: string, actor: string, reason?: string, detail?: Record<string, string | number | boolean>): void {
    this.#sink.add({ v: ACCOUNTING_SCHEMA_VERSION, type: 'admin', time: new Date(this.#now()).toISOString(), tenant, action, actor, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}) });
  }

  /**
   * The records of one transaction, serialised as JSON.stringify({ ...base, ...tail }) would,
   * byte for byte, with the shared leading fields serialised once.
   */
  #emit(base: Base, tails: ReadonlyArray<Tail<AccountingRecord>>): void {
    if (tails.length === 0) return;
    const head = JSON.stringify(base).slice(0, -1);
    let lines = '';
    for (const tail of tails) lines += `${head},${JSON.stringify(tail).slice(1)}\n`;
    this.#sink.addLines(base.tenant, base.time.slice(0, 10), lines, tails.length);
  }

  #base(t: TransactionFacts): Base | null {
    const key = this.#keyOf(t.tenant);
    if (!key) return null;
    const messageId = t.headers ? messageIdOf(t.headers) : undefined;
    return {
      v: ACCOUNTING_SCHEMA_VERSION,
      time: new Date(this.#now()).toISOString(),
      tenant: t.tenant,
      session: t.session,
      ...(t.tx ? { tx: t.tx } : {}),
      sender: t.sender ? { p: key.pseudonym(t.sender.matchForm), d: t.sender.domain } : null,
      ...(messageId ? { messageId } : {}),
      ...(t.size !== undefined ? { size: t.size } : {}),
    };
  }

  #pseudonymous(tenant: TenantId, a: MailAddress): PseudonymousAddress | null {
    const key = this.#keyOf(tenant);
    return key ? { p: key.pseudonym(a.matchForm), d: a.domain } : null;
  }

  #fromText(tenant: TenantId, address: string): PseudonymousAddress | null {
    const parsed = parseMailAddress(address);
    return parsed ? this.#pseudonymous(tenant, parsed) : null;
  }
}

/** "250 2.0.0 Ok: queued as X" → { code, enhanced, text } */
function parseReply(response: string): { code: number; enhanced?: string; text: string } {
  const m = /^(\d{3})(?:[ -]([245]\.\d{1,3}\.\d{1,3}))?\s*(.*)$/s.exec(response.trim());
  if (!m) return { code: 0, text: response.slice(0, 500) };
  return { code: Number(m[1]), ...(m[2] ? { enhanced: m[2] } : {}), text: m[3]!.slice(0, 500) };
}
