// The compliance policy: what MAIL FROM and RCPT TO must pass. Local checks first, then one
// store round trip per command. A store that does not answer within its deadline fails
// closed: 451 4.3.0, never an accept (ARCHITECTURE invariant 2).
import { ACCEPT, reject, type Verdict } from '../domain/verdict.js';
import type { MailAddress, Transaction } from '../domain/envelope.js';
import type { TenantId } from '../domain/tenant.js';
import type { PolicyStore } from '../store/ports.js';
import { checkSenderDomain } from './sender-domain.js';

export interface PolicyDeps {
  readonly store: PolicyStore;
  /** how long a store question may take before the command gets 451 4.3.0 */
  readonly deadlineMs: number;
  /** the tenant's keyed pseudonym of an address in matching form; null when the tenant has no key */
  readonly pseudonym: (tenant: TenantId, matchForm: string) => string | null;
  readonly now: () => number;
  /** told about every store failure, for logs and metrics */
  readonly onStoreFailure?: (what: 'mail' | 'recipient', err: unknown) => void;
}

export interface Policy {
  mail(tx: Transaction): Promise<Verdict>;
  recipient(tx: Transaction, rcpt: MailAddress): Promise<Verdict>;
}

export function createPolicy(deps: PolicyDeps): Policy {
  const ask = async <T>(what: 'mail' | 'recipient', question: () => Promise<T>): Promise<T | null> => {
    try {
      return await withDeadline(question(), deps.deadlineMs);
    } catch (err) {
      deps.onStoreFailure?.(what, err);
      return null;
    }
  };
  return {
    async mail(tx) {
      const local = checkSenderDomain(tx);
      if (local.kind !== 'accept') return local;
      const answer = await ask('mail', () =>
        deps.store.checkMail({
          tenant: tx.tenant.id,
          senderDomain: tx.sender?.domain ?? null,
          sender: tx.sender?.matchForm ?? null,
          limits: tx.tenant.limits,
          now: deps.now(),
        }),
      );
      if (answer === null) return reject('POLICY_UNAVAILABLE');
      if (answer.kind === 'suspended') return reject('SUSPENDED', `ref ${answer.ref}`);
      if (answer.kind === 'rate-limited') return rateLimited(answer.bucket, answer.retryAfterMs);
      return ACCEPT;
    },
    async recipient(tx, rcpt) {
      const pseudonym = deps.pseudonym(tx.tenant.id, rcpt.matchForm);
      if (pseudonym === null) return reject('POLICY_UNAVAILABLE');
      const answer = await ask('recipient', () =>
        deps.store.checkRecipient({ tenant: tx.tenant.id, pseudonym, recipientDomain: rcpt.domain, limits: tx.tenant.limits, now: deps.now() }),
      );
      if (answer === null) return reject('POLICY_UNAVAILABLE');
      if (answer.kind === 'suppressed') return reject('SUPPRESSED');
      if (answer.kind === 'rate-limited') return rateLimited(answer.bucket, answer.retryAfterMs);
      return ACCEPT;
    },
  };
}

function rateLimited(bucket: string, retryAfterMs: number): Verdict {
  return reject('RATE_LIMITED', `${bucket}; retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`);
}

class DeadlineError extends Error {
  readonly code = 'STORE_DEADLINE';
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
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
