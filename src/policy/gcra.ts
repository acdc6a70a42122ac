// Generic cell rate algorithm over several buckets at once: a request is admitted only if
// every bucket has room, and only then are they all charged. State is one number per bucket,
// its theoretical arrival time (TAT), kept wherever the caller keeps it: process memory, LMDB,
// or Redis, whose Lua scripts (gcra.lua) run the same arithmetic.
import type { RateBucket } from '../domain/policy.js';

export type Admission = { readonly allowed: true } | { readonly allowed: false; readonly bucket: string; readonly retryAfterMs: number };

export interface TatState {
  get(bucket: RateBucket): number | undefined;
  /** `tat` is also when the bucket is empty again: state may be dropped from then on */
  set(bucket: RateBucket, tat: number): void;
}

/** What admit would answer, without charging anything. */
export function wouldAdmit(state: Pick<TatState, 'get'>, buckets: readonly RateBucket[], now: number, cost = 1): Admission {
  return admit({ get: (b) => state.get(b), set: () => {} }, buckets, now, cost);
}

export function admit(state: TatState, buckets: readonly RateBucket[], now: number, cost = 1): Admission {
  const updates: Array<[RateBucket, number]> = [];
  let worst: { bucket: string; retryAfterMs: number } | null = null;
  for (const b of buckets) {
    const interval = b.rate.windowMs / b.rate.limit;
    const tat = Math.max(state.get(b) ?? now, now);
    const next = tat + cost * interval;
    const allowAt = next - b.rate.windowMs;
    if (allowAt > now) {
      const retryAfterMs = Math.ceil(allowAt - now);
      if (!worst || retryAfterMs > worst.retryAfterMs) worst = { bucket: b.name, retryAfterMs };
    } else {
      updates.push([b, next]);
    }
  }
  if (worst) return { allowed: false, ...worst };
  for (const [b, tat] of updates) state.set(b, tat);
  return { allowed: true };
}

export function windowName(windowMs: number): string {
  if (windowMs % 86_400_000 === 0) return `${windowMs / 86_400_000}d`;
  if (windowMs % 3_600_000 === 0) return `${windowMs / 3_600_000}h`;
  if (windowMs % 60_000 === 0) return `${windowMs / 60_000}m`;
  return `${windowMs / 1000}s`;
}

/** In-process state with expiry: a TAT in the past carries no information and is dropped. */
export class MemoryTatState implements TatState {
  readonly #tats = new Map<string, number>();

  get(b: RateBucket): number | undefined {
    return this.#tats.get(mapKey(b));
  }

  set(b: RateBucket, tat: number): void {
    this.#tats.set(mapKey(b), tat);
  }

  sweep(now: number): void {
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
  }

  get size(): number {
    return this.#tats.size;
  }
}

function mapKey(b: RateBucket): string {
  return `${b.tenant ?? ''}\u0000${b.scope}\u0000${b.subject}\u0000${b.rate.windowMs}`;
}
