// The per-process rate limiter that takes over when the store still answers suspension and
// suppression questions but cannot charge rate buckets (Redis out of memory, or a replica
// turned read-only during a failover). Only when configured: store.rateLimitFallback.
// Each process enforces `share` of every limit, so N replicas sharing the load can be held
// near the configured rate with share = 1/N. A timeout is never a reason to fall back: a
// store that does not answer cannot say whether a recipient is suppressed (invariant 2).
import type { RateBucket } from '../domain/policy.js';
import { admit, MemoryTatState, type Admission } from './gcra.js';

export interface RateFallbackOptions {
  /** fraction of each configured limit this process admits, 0 < share <= 1 */
  readonly share: number;
  /** after a refused write, how long to use the local limiter before trying the store's buckets again */
  readonly retryStoreAfterMs: number;
}

export class ProcessRateLimiter {
  readonly #state = new MemoryTatState();
  readonly #options: RateFallbackOptions;
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

  /** the buckets a command charges, each at this process's share of its limit */
  admit(buckets: readonly RateBucket[], now: number): Admission {
    if (this.#state.size > 100_000) this.#state.sweep(now);
    return admit(this.#state, this.#options.share === 1 ? buckets : buckets.map((b) => this.#scale(b)), now);
  }

  #scale(b: RateBucket): RateBucket {
    return { ...b, rate: { windowMs: b.rate.windowMs, limit: Math.max(1, Math.floor(b.rate.limit * this.#options.share)) } };
  }
}
