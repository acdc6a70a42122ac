// Deliveries counted toward complaint and bounce rates, gathered in memory and written to
// the store once a second: off the reply path and one store call per tenant, sender domain
// and hour instead of one per message. A crash loses at most the last second's counts,
// which only makes the rates a little higher for that second's share of the window.
import type { TenantId } from '../domain/tenant.js';
import { hourOf, HOUR_MS } from '../store/volume.js';
import type { AdminStore } from '../store/ports.js';

export class DeliveryCounter {
  readonly #store: Pick<AdminStore, 'countVolume'>;
  readonly #pending = new Map<string, { tenant: TenantId; domain: string | null; hour: number; n: number }>();
  readonly #timer: NodeJS.Timeout;
  readonly #onError: (err: unknown, lost: number) => void;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: Pick<AdminStore, 'countVolume'>, onError: (err: unknown, lost: number) => void, flushMs = 1000) {
    this.#store = store;
    this.#onError = onError;
    this.#timer = setInterval(() => void this.flush(), flushMs);
    this.#timer.unref();
  }

  add(tenant: TenantId, senderDomain: string | null, recipients: number, now: number): void {
    if (recipients <= 0) return;
    const hour = hourOf(now);
    const key = `${tenant}\u0000${senderDomain ?? ''}\u0000${hour}`;
    const entry = this.#pending.get(key);
    if (entry) entry.n += recipients;
    else this.#pending.set(key, { tenant, domain: senderDomain, hour, n: recipients });
  }

  /** Writes what is pending; resolves when it is written (or given up on). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const batch = [...this.#pending.values()];
      this.#pending.clear();
      for (const e of batch) {
        try {
          await this.#store.countVolume(e.tenant, e.domain, { delivered: e.n }, e.hour * HOUR_MS);
        } catch (err) {
          this.#onError(err, e.n);
        }
      }
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
