// The compliance policy: what MAIL FROM and RCPT TO must pass. Local checks first, then one
// store round trip per command. A store that does not answer within its deadline fails
// closed: 451 4.3.0, never an accept (ARCHITECTURE invariant 2). When the store answers but
// refuses writes and store.rateLimitFallback is on, rates come from a per-process limiter:
// one extra round trip for the command that found out, then one per command again. A store
// that lost its identity (restarted empty, flushed, an empty replica) is no answer either:
// 451 4.3.0 until an operator restores or re-initialises it, never a 250 or 5xx on its word.
import { ACCEPT, reject, type Verdict } from '../domain/verdict.js';
import type { MailAddress, Transaction } from '../domain/envelope.js';
import type { TenantId } from '../domain/tenant.js';
import { StoreWriteRefusedError, type MailAnswer, type MailQuestion, type PolicyStore, type RecipientAnswer, type RecipientQuestion, type StoreFailureKind } from '../store/ports.js';
import type { RateBucket } from '../domain/policy.js';
import type { Admission } from './gcra.js';
import type { ProcessRateLimiter } from './rate-fallback.js';
import { mailBuckets, recipientBuckets } from './rate-buckets.js';
import { checkSenderDomain } from './sender-domain.js';

export interface PolicyDeps {
  readonly store: PolicyStore;
  /** how long a store question may take before the command gets 451 4.3.0 */
  readonly deadlineMs: number;
  /** the tenant's keyed pseudonym of an address in matching form; null when the tenant has no key */
  readonly pseudonym: (tenant: TenantId, matchForm: string) => string | null;
  readonly now: () => number;
  /** the identity this process knows the store by; null while it is lost or has none */
  readonly storeId: () => string | null;
  /** told when the store answered that it is not the store this process knows */
  readonly onStoreLost?: () => void;
  /** the per-process limiter for rates the store cannot record; absent unless configured */
  readonly rateFallback?: ProcessRateLimiter;
  /** told about every store failure, for logs and metrics */
  readonly onStoreFailure?: (stage: 'mail' | 'recipient', kind: StoreFailureKind, err: unknown) => void;
  /** told each time the per-process limiter decided a command's rates */
  readonly onRateFallback?: (stage: 'mail' | 'recipient') => void;
}

export interface Policy {
  mail(tx: Transaction): Promise<Verdict>;
  /** `pseudonym`: the tenant's pseudonym of the recipient, when the caller has it already */
  recipient(tx: Transaction, rcpt: MailAddress, pseudonym?: string | null): Promise<Verdict>;
}

type Answer = MailAnswer | RecipientAnswer;

export function createPolicy(deps: PolicyDeps): Policy {
  const fallback = deps.rateFallback;

  const ask = async <Q extends { buckets: readonly RateBucket[]; now: number }, A extends Answer>(
    stage: 'mail' | 'recipient',
    q: Q,
    check: (q: Q) => Promise<A>,
    local: (q: Q) => Admission,
  ): Promise<A | RateLimitedAnswer | null> => {
    const attempt = async (question: Q): Promise<A | null> => {
      try {
        return await withDeadline(check(question), deps.deadlineMs);
      } catch (err) {
        deps.onStoreFailure?.(stage, failureKind(err), err);
        if (fallback && err instanceof StoreWriteRefusedError) fallback.storeRefusedWrites(q.now);
        return null;
      }
    };
    // the store's own buckets first, unless it refused to record them a moment ago
    if (!fallback?.active(q.now)) {
      const answer = await attempt(q);
      if (answer !== null || !fallback?.active(q.now)) return answer;
    }
    // suspensions and suppressions from the store, rates from this process
    const answer = await attempt({ ...q, buckets: [] });
    if (answer === null || answer.kind !== 'ok') return answer;
    deps.onRateFallback?.(stage);
    const admission = local(q);
    return admission.allowed ? answer : { kind: 'rate-limited', bucket: admission.bucket, retryAfterMs: admission.retryAfterMs };
  };

  const lost = (): Verdict => {
    deps.onStoreLost?.();
    return reject('STORE_LOST');
  };

  return {
    async mail(tx) {
      const local = checkSenderDomain(tx);
      if (local.kind !== 'accept') return local;
      const store = deps.storeId();
      if (store === null) return reject('STORE_LOST');
      const sender = tx.sender?.matchForm ?? null;
      const q: MailQuestion = {
        tenant: tx.tenant.id,
        store,
        senderDomain: tx.sender?.domain ?? null,
        sender,
        buckets: mailBuckets(tx.tenant.id, sender, tx.tenant.limits),
        now: deps.now(),
      };
      const answer = await ask('mail', q, (x) => deps.store.checkMail(x), (x) => fallback!.admit(x.buckets, x.now));
      if (answer === null) return reject('POLICY_UNAVAILABLE');
      if (answer.kind === 'lost') return lost();
      if (answer.kind === 'suspended') return reject('SUSPENDED', `ref ${answer.ref}`);
      if (answer.kind === 'rate-limited') return rateLimited(answer.bucket, answer.retryAfterMs);
      return ACCEPT;
    },
    async recipient(tx, rcpt, known) {
      const pseudonym = known ?? deps.pseudonym(tx.tenant.id, rcpt.matchForm);
      if (pseudonym === null) return reject('POLICY_UNAVAILABLE');
      const store = deps.storeId();
      if (store === null) return reject('STORE_LOST');
      const q: RecipientQuestion = { tenant: tx.tenant.id, store, pseudonym, buckets: recipientBuckets(tx.tenant.id, rcpt.domain, tx.tenant.limits), now: deps.now() };
      const answer = await ask('recipient', q, (x) => deps.store.checkRecipient(x), (x) => fallback!.admit(x.buckets, x.now));
      if (answer === null) return reject('POLICY_UNAVAILABLE');
      if (answer.kind === 'lost') return lost();
      if (answer.kind === 'suppressed') return reject('SUPPRESSED');
      if (answer.kind === 'rate-limited') return rateLimited(answer.bucket, answer.retryAfterMs);
      return ACCEPT;
    },
  };
}

type RateLimitedAnswer = Extract<Answer, { kind: 'rate-limited' }>;

function failureKind(err: unknown): StoreFailureKind {
  if (err instanceof DeadlineError) return 'timeout';
  if (err instanceof StoreWriteRefusedError) return 'write_refused';
  return 'unavailable';
}

function rateLimited(bucket: string, retryAfterMs: number): Verdict {
  return reject('RATE_LIMITED', `${bucket}; retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`);
}

export class DeadlineError extends Error {
  readonly code = 'STORE_DEADLINE';
}

/** Rejects with DeadlineError when the store question takes longer than `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineError(`store did not answer within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
