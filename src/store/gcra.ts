// Generic cell rate algorithm over several buckets at once: a request is admitted only if
// every bucket has room, and only then are they all charged. State is one number per bucket,
// its theoretical arrival time. The Redis adapter runs the same arithmetic in Lua.
import type { Rate } from '../domain/policy.js';

export interface Bucket {
  readonly key: string;
  /** shown in the reply's retry hint and in logs, e.g. "messages/1h" */
  readonly name: string;
  readonly rate: Rate;
}

export type Admission = { readonly allowed: true } | { readonly allowed: false; readonly bucket: string; readonly retryAfterMs: number };

export interface TatState {
  get(key: string): number | undefined;
  set(key: string, tat: number): void;
}

/** What admit would answer, without charging anything. */
export function wouldAdmit(state: TatState, buckets: readonly Bucket[], now: number, cost = 1): Admission {
  return admit({ get: (key) => state.get(key), set: () => {} }, buckets, now, cost);
}

export function admit(state: TatState, buckets: readonly Bucket[], now: number, cost = 1): Admission {
  const updates: Array<[string, number]> = [];
  let worst: { bucket: string; retryAfterMs: number } | null = null;
  for (const b of buckets) {
    const interval = b.rate.windowMs / b.rate.limit;
    const tat = Math.max(state.get(b.key) ?? now, now);
    const next = tat + cost * interval;
    const allowAt = next - b.rate.windowMs;
    if (allowAt > now) {
      const retryAfterMs = Math.ceil(allowAt - now);
      if (!worst || retryAfterMs > worst.retryAfterMs) worst = { bucket: b.name, retryAfterMs };
    } else {
      updates.push([b.key, next]);
    }
  }
  if (worst) return { allowed: false, ...worst };
  for (const [key, tat] of updates) state.set(key, tat);
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

  get(key: string): number | undefined {
    return this.#tats.get(key);
  }

  set(key: string, tat: number): void {
    this.#tats.set(key, tat);
  }

  sweep(now: number): void {
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
  }

  get size(): number {
    return this.#tats.size;
  }
}
