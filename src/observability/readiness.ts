// Readiness for load balancers and Kubernetes (/readyz): ready only while the store answers
// within its deadline, the upstream was reachable recently, and the relay is not shutting
// down. Relayed messages keep the upstream's state fresh; when there was no traffic lately,
// a TCP connection to it is tried.
import { connect } from 'node:net';
import { withDeadline } from '../policy/pipeline.js';

export interface ReadinessOptions {
  /** a cheap question to the store */
  readonly pingStore: () => Promise<unknown>;
  /** the upstream's address; null for the development outbox (always reachable) */
  readonly upstream: { readonly host: string; readonly port: number } | null;
  readonly deadlineMs: number;
  /** how long a success of the upstream counts without a new probe */
  readonly upstreamFreshMs: number;
  readonly now: () => number;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly store: 'ok' | 'unavailable';
  readonly upstream: 'ok' | 'unreachable';
  readonly draining: boolean;
}

export class Readiness {
  readonly #o: ReadinessOptions;
  #upstreamOkAt = 0;
  #upstreamFailedAt = 0;
  #draining = false;

  constructor(options: ReadinessOptions) {
    this.#o = options;
  }

  /** what the relay learned from a transaction: the upstream answered (true) or could not be reached (false) */
  noteUpstream(reached: boolean): void {
    if (reached) this.#upstreamOkAt = this.#o.now();
    else this.#upstreamFailedAt = this.#o.now();
  }

  draining(): void {
    this.#draining = true;
  }

  async check(): Promise<ReadinessReport> {
    const [store, upstream] = await Promise.all([this.#store(), this.#upstream()]);
    return { ready: store === 'ok' && upstream === 'ok' && !this.#draining, store, upstream, draining: this.#draining };
  }

  async #store(): Promise<'ok' | 'unavailable'> {
    try {
      await withDeadline(this.#o.pingStore(), this.#o.deadlineMs);
      return 'ok';
    } catch {
      return 'unavailable';
    }
  }

  async #upstream(): Promise<'ok' | 'unreachable'> {
    const target = this.#o.upstream;
    if (!target) return 'ok';
    const now = this.#o.now();
    if (this.#upstreamOkAt > this.#upstreamFailedAt && now - this.#upstreamOkAt < this.#o.upstreamFreshMs) return 'ok';
    const reached = await new Promise<boolean>((resolve) => {
      const socket = connect(target.port, target.host);
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(this.#o.deadlineMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
    this.noteUpstream(reached);
    return reached ? 'ok' : 'unreachable';
  }
}
