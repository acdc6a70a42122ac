// The per-process rate limiter that takes over when the store still answers suspension and
// suppression questions but cannot charge rate buckets (Redis out of memory, or a replica
// turned read-only during a failover). Only when configured: store.rateLimitFallback.
// Each process enforces `share` of every limit, so N replicas sharing the load can be held
// near the configured rate with share = 1/N. A timeout is never a reason to fall back: a
// store that does not answer cannot say whether a recipient is suppressed (invariant 2).
import type { Rate, TenantLimits } from '../domain/policy.js';
import { mailBuckets, recipientBuckets } from '../store/buckets.js';
import { admit, MemoryTatState, type Admission } from '../store/gcra.js';
import type { MailQuestion, RecipientQuestion } from '../store/ports.js';

export const NO_RATES: TenantLimits = Object.freeze({ messages: [], recipients: [], perSender: [], perRecipientDomain: [], nullSender: [] });

export interface RateFallbackOptions {
  /** fraction of each configured limit this process admits, 0 < share <= 1 */
  readonly share: number;
  /** after a refused write, how long to use the local limiter before trying the store's buckets again */
  readonly retryStoreAfterMs: number;
}

export class ProcessRateLimiter {
  readonly #state = new MemoryTatState();
  readonly #options: RateFallbackOptions;
  readonly #scaled = new WeakMap<TenantLimits, TenantLimits>();
  #localUntil = 0;

  constructor(options: RateFallbackOptions) {
    this.#options = options;
  }

  /** true while the store recently refused to record rates: ask it without charging buckets */
  active(now: number): boolean {
    return now < this.#localUntil;
  }

  storeRefusedWrites(now: number): void {
    this.#localUntil = now + this.#options.retryStoreAfterMs;
  }

  admitMail(q: Omit<MailQuestion, 'store'>): Admission {
    return this.#admit(mailBuckets(q.tenant, q.sender, this.#scale(q.limits)), q.now);
  }

  admitRecipient(q: Omit<RecipientQuestion, 'store'>): Admission {
    return this.#admit(recipientBuckets(q.tenant, q.recipientDomain, this.#scale(q.limits)), q.now);
  }

  #admit(buckets: Parameters<typeof admit>[1], now: number): Admission {
    if (this.#state.size > 100_000) this.#state.sweep(now);
    return admit(this.#state, buckets, now);
  }

  #scale(limits: TenantLimits): TenantLimits {
    if (this.#options.share === 1) return limits;
    let scaled = this.#scaled.get(limits);
    if (!scaled) {
      const s = (rates: readonly Rate[]) => rates.map((r) => ({ windowMs: r.windowMs, limit: Math.max(1, Math.floor(r.limit * this.#options.share)) }));
      scaled = {
        messages: s(limits.messages),
        recipients: s(limits.recipients),
        perSender: s(limits.perSender),
        perRecipientDomain: s(limits.perRecipientDomain),
        nullSender: s(limits.nullSender),
      };
      this.#scaled.set(limits, scaled);
    }
    return scaled;
  }
}
