// Readiness for load balancers and Kubernetes (/readyz): ready only while the store answers
// within its deadline and is the store this relay knows, at least one tenant key unwraps
// (when there are tenants), the upstream was reachable recently, every SMTP worker listens,
// and the relay is not shutting down. Relayed messages keep the upstream's state fresh; when there was no traffic lately,
// a TCP connection to it is tried.
import { connect } from 'node:net';
import { withDeadline } from '../policy/pipeline.js';

export interface ReadinessOptions {
  /** a cheap question to the store */
  readonly pingStore: () => Promise<unknown>;
  /** whether the store is the one this relay knows, and if not why */
  readonly storeIdentity: () => { readonly state: 'serving' | 'uninitialised' | 'lost' | 'changed'; readonly cause: string | null };
  /** null while the relay can serve its tenants, else why not */
  readonly tenants: () => string | null;
  /** the upstream's address; null for the development outbox (always reachable) */
  readonly upstream: { readonly host: string; readonly port: number } | null;
  readonly deadlineMs: number;
  /** how long a success of the upstream counts without a new probe */
  readonly upstreamFreshMs: number;
  readonly now: () => number;
  /** with smtp.workers above 1: null while every worker listens, else why not */
  readonly workers?: () => string | null;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly store: 'ok' | 'unavailable' | 'uninitialised' | 'lost' | 'changed';
  readonly upstream: 'ok' | 'unreachable';
  readonly tenants: 'ok' | 'unservable';
  readonly draining: boolean;
  /** one sentence per reason the relay is not ready */
  readonly causes: readonly string[];
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
    const causes: string[] = [];
    if (store.cause) causes.push(store.cause);
    if (upstream === 'unreachable') causes.push('the upstream cannot be reached');
    const unservable = this.#o.tenants();
    if (unservable) causes.push(unservable);
    const workers = this.#o.workers?.() ?? null;
    if (workers) causes.push(workers);
    if (this.#draining) causes.push('shutting down');
    return { ready: causes.length === 0, store: store.state, upstream, tenants: unservable ? 'unservable' : 'ok', draining: this.#draining, causes };
  }

  async #store(): Promise<{ state: ReadinessReport['store']; cause: string | null }> {
    try {
      await withDeadline(this.#o.pingStore(), this.#o.deadlineMs);
    } catch {
      return { state: 'unavailable', cause: `the store does not answer within ${this.#o.deadlineMs} ms` };
    }
    const identity = this.#o.storeIdentity();
    return identity.state === 'serving' ? { state: 'ok', cause: null } : { state: identity.state, cause: identity.cause };
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
