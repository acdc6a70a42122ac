// What a finished DATA transaction does, in one place: the client's reply, the accounting
// records, the metrics, the DSN for recipients the upstream refused while it took others,
// what readiness and the delivery count learn, and the upstream's recipient limit when its
// 452 showed one. The SMTP front hands each relay result here.
import type { Logger } from 'pino';
import type { Accountant } from '../accounting/accountant.js';
import type { Envelope } from '../domain/envelope.js';
import type { TenantId } from '../domain/tenant.js';
import type { DsnSender } from '../forward/dsn.js';
import type { RelayResult } from '../forward/relay.js';
import type { DeliveryOutcome } from '../forward/upstream.js';
import { acceptedText, replyFor, smtpError, upstreamFailureReply } from './reply-table.js';

export type TransactionOutcome = 'relayed' | 'partly_refused' | 'refused' | 'upstream_failed' | 'client_gone';

export interface TransactionEvents {
  transaction(outcome: TransactionOutcome, bytes: number, seconds: number): void;
  /** a message of a tenant: relayed to this many recipients, or (0) not relayed */
  tenantMessage(tenant: TenantId, deliveries: number): void;
  upstreamError(kind: string): void;
}

export interface TransactionEndDeps {
  readonly hostname: string;
  readonly upstreamName: string;
  readonly dsn: DsnSender;
  readonly now?: () => Date;
  readonly accountant?: Accountant;
  readonly events?: TransactionEvents;
  /** the upstream answered (true) or could not be reached (false) */
  readonly onUpstream?: (reached: boolean) => void;
  /** recipients the upstream accepted, toward complaint and bounce rates */
  readonly onDelivered?: (tenant: TenantId, senderDomain: string | null, recipients: number) => void;
}

/** One transaction as the front hands it over at the end of DATA. */
export interface FinishedTransaction {
  readonly tenant: TenantId;
  readonly session: string;
  readonly tx: string;
  /** the one copy of the envelope: recipients parsed once, with their pseudonyms */
  readonly envelope: Envelope;
  /** when DATA began: Date.now() */
  readonly startedMs: number;
  /** the arrival date its DSN gives */
  readonly arrival: Date;
  readonly log: Logger;
}

export type TransactionReply = { readonly error: Error } | { readonly message: string };

export class TransactionEnd {
  readonly #deps: TransactionEndDeps;
  /** recipients per message the upstream took before it answered 452 (too many recipients) */
  #upstreamRecipients = Infinity;

  constructor(deps: TransactionEndDeps) {
    this.#deps = deps;
  }

  /** at most this many recipients in one transaction: what the upstream showed it takes */
  get upstreamRecipientLimit(): number {
    return this.#upstreamRecipients;
  }

  finish(t: FinishedTransaction, result: RelayResult): TransactionReply {
    const { accountant, events } = this.#deps;
    const { sender, recipients } = t.envelope;
    const fields = { tx: t.tx, bytes: result.bytes, rcptCount: recipients.length, ms: Date.now() - t.startedMs };
    const facts = { tenant: t.tenant, session: t.session, sender, tx: t.tx, size: result.bytes, recipients };
    const seconds = (Date.now() - t.startedMs) / 1000;
    switch (result.kind) {
      case 'accepted': {
        const refused = result.outcome.rejected;
        t.log.info({ ...fields, accepted: result.outcome.accepted.length, refused: refused.length, upstream: replyCode(result.outcome.response) }, 'message relayed');
        if (refused.length > 0) {
          this.#learnRecipientLimit(t, result.outcome);
          this.#reportRefused(t, refused, result.headers);
        }
        accountant?.delivered({ ...facts, headers: result.headers }, result.outcome);
        this.#deps.onUpstream?.(true);
        events?.transaction(refused.length > 0 ? 'partly_refused' : 'relayed', result.bytes, seconds);
        events?.tenantMessage(t.tenant, result.outcome.accepted.length);
        this.#deps.onDelivered?.(t.tenant, sender?.domain ?? null, result.outcome.accepted.length);
        return { message: acceptedText(result.outcome, t.tx, sender === null) };
      }
      case 'refused': {
        const reply = replyFor(result.reason);
        t.log.warn({ ...fields, reason: result.reason, code: reply.code }, 'message refused');
        accountant?.notRelayed(facts, { kind: reply.code >= 500 ? 'rejected' : 'deferred', reason: result.reason, code: reply.code });
        events?.transaction('refused', result.bytes, seconds);
        events?.tenantMessage(t.tenant, 0);
        return { error: smtpError(reply) };
      }
      case 'upstream-failed': {
        const reply = upstreamFailureReply(result.error);
        t.log.warn({ ...fields, reason: reply.reason, kind: result.error.kind, code: reply.code, enhanced: reply.enhanced }, 'message not relayed');
        accountant?.notRelayed(facts, { kind: reply.code >= 500 ? 'bounced' : 'deferred', reason: reply.reason, code: reply.code, enhanced: reply.enhanced });
        this.#deps.onUpstream?.(result.error.kind !== 'unavailable' && result.error.kind !== 'timeout');
        events?.transaction('upstream_failed', result.bytes, seconds);
        events?.tenantMessage(t.tenant, 0);
        events?.upstreamError(result.error.kind);
        return { error: smtpError(reply) };
      }
      case 'client-gone':
        t.log.warn({ ...fields }, 'client disconnected during DATA; upstream transaction aborted');
        accountant?.notRelayed(facts, { kind: 'deferred', reason: 'CLIENT_GONE', code: 451 });
        events?.transaction('client_gone', result.bytes, seconds);
        return { error: smtpError(replyFor('LOCAL_ERROR')) };
    }
  }

  /** an upstream that answered 452 to recipients after taking `accepted` of them takes no more than that */
  #learnRecipientLimit(t: FinishedTransaction, outcome: DeliveryOutcome): void {
    const accepted = outcome.accepted.length;
    if (accepted === 0 || accepted >= this.#upstreamRecipients || !outcome.rejected.some((r) => r.code === 452)) return;
    this.#upstreamRecipients = accepted;
    t.log.warn({ upstreamRecipients: accepted }, 'the upstream takes at most this many recipients per message: later RCPTs past it get 452 4.5.3; set upstream.maxRecipients to say so from the start');
  }

  #reportRefused(t: FinishedTransaction, rejected: DeliveryOutcome['rejected'], headers: string): void {
    const sender = t.envelope.sender;
    if (!sender) {
      // RFC 5321 section 4.5.5: nothing is ever sent back to the null reverse-path
      t.log.warn({ refused: rejected.length }, 'recipients refused for a null-sender message; no notification possible');
      return;
    }
    this.#deps.dsn.send(
      {
        tenant: t.tenant,
        reportingMta: this.#deps.hostname,
        upstreamName: this.#deps.upstreamName,
        sender: sender.address,
        rejected,
        originalHeaders: headers,
        arrivalDate: t.arrival,
        now: this.#deps.now?.() ?? new Date(),
      },
      t.session,
    );
  }
}

/** the upstream's reply code, for the log line: its text may name recipients */
function replyCode(response: string): string {
  return response.slice(0, 3);
}
