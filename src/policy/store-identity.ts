// Whether the store is still the store this process knows (ARCHITECTURE invariant 2). A store
// that lost its identity — a Redis restarted without persistence, flushed, failed over to an
// empty replica — answers every question, wrongly: no suppression, no suspension, no tenant.
// While it is lost, nothing it says is taken as an answer and nothing is created in it; an
// operator decides (`mailwarden store restore FILE`, `mailwarden store init --empty --yes`).
import { randomUUID } from 'node:crypto';
import type { IdentityStore, StoreIdentity, TenantRecord } from '../store/ports.js';
import { withDeadline } from './pipeline.js';

/**
 * serving: the store shows the identity this process knows (or the one an operator put in its
 * place with `store init --empty`); uninitialised: no identity, and none known; lost: the
 * known identity is gone; changed: the store shows another identity.
 */
export type StoreState = 'serving' | 'uninitialised' | 'lost' | 'changed';

export function newIdentity(now: number, replaces?: string): StoreIdentity {
  return { id: randomUUID(), createdAt: now, ...(replaces ? { replaces } : {}) };
}

/**
 * Gives an identity to a store that plainly needs one, and to no other: a database this
 * process has just created, or a store written by a mailwarden from before identities (it has
 * tenants, and no replica ever reported it lost). An empty Redis is neither: it may be one that
 * lost its data. Returns what was done, for the log.
 */
export async function prepareStore(store: Pick<IdentityStore, 'fresh' | 'getIdentity' | 'createIdentity' | 'getLostIdentity'> & { listTenants(): Promise<TenantRecord[]> }, now: number): Promise<'created' | 'adopted' | null> {
  if ((await store.getIdentity()) !== null) return null;
  if (store.fresh) return (await store.createIdentity(newIdentity(now))) ? 'created' : null;
  if ((await store.getLostIdentity()) !== null) return null;
  if ((await store.listTenants()).length === 0) return null;
  return (await store.createIdentity(newIdentity(now))) ? 'adopted' : null;
}

export interface IdentityWatchOptions {
  readonly store: Pick<IdentityStore, 'getIdentity' | 'reportLostIdentity'>;
  readonly deadlineMs: number;
  /**
   * Before the watch serves under an identity it did not know (the first one it sees, or the
   * one an operator put in place of a lost store): the tenants and keys of that store are read
   * here, so that no command is decided with another store's keys. A failure is tried again at
   * the next look.
   */
  readonly onAdopt?: (identity: StoreIdentity) => Promise<void>;
  /** after every change of state, or of the identity known */
  readonly onChange?: (state: StoreState, watch: StoreIdentityWatch) => void;
}

export class StoreIdentityWatch {
  readonly #o: IdentityWatchOptions;
  #known: StoreIdentity | null = null;
  /** what the store showed at the last look */
  #found: StoreIdentity | null = null;
  #state: StoreState = 'uninitialised';
  #checking: Promise<StoreState> | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: IdentityWatchOptions) {
    this.#o = options;
  }

  get state(): StoreState {
    return this.#state;
  }

  get known(): StoreIdentity | null {
    return this.#known;
  }

  serving(): boolean {
    return this.#state === 'serving';
  }

  /** the identity store questions carry; null unless serving */
  current(): string | null {
    return this.#state === 'serving' ? this.#known!.id : null;
  }

  /** One look at the store; a store that does not answer changes nothing (its deadlines fail closed on their own). */
  check(): Promise<StoreState> {
    return this.look().catch(() => this.#state);
  }

  /** The same look, rejecting when the store does not answer within the deadline (readiness asks this way). */
  look(): Promise<StoreState> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  /** A store answer said it is not the store known: look again now. */
  suspect(): void {
    void this.check();
  }

  start(everyMs: number): void {
    this.#timer = setInterval(() => void this.check(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One sentence for /readyz and the log when not serving; null while serving. */
  describe(): string | null {
    const todo = 'run `mailwarden store restore FILE` with a backup, or `mailwarden store init --empty --yes` for a fresh start';
    switch (this.#state) {
      case 'serving':
        return null;
      case 'uninitialised':
        return `the store has no identity: a new store, or one that lost its data; ${todo}`;
      case 'lost':
        return `the store lost its identity ${this.#known!.id} (restarted empty, flushed, or failed over to an empty replica); ${todo}`;
      case 'changed':
        return `the store shows identity ${this.#found!.id}, not ${this.#known!.id} that this relay serves: it is another store; restore this one, or restart the relay to serve the other`;
    }
  }

  async #check(): Promise<StoreState> {
    const found = await withDeadline(this.#o.store.getIdentity(), this.#o.deadlineMs);
    const known = this.#known;
    let next: StoreState;
    let adopt: StoreIdentity | null = null;
    if (known === null) {
      next = found ? 'serving' : 'uninitialised';
      adopt = found;
    } else if (found?.id === known.id) {
      next = 'serving';
    } else if (found && found.replaces === known.id) {
      // an operator re-initialised the lost store on purpose
      next = 'serving';
      adopt = found;
    } else if (found === null) {
      next = 'lost';
      await this.#o.store.reportLostIdentity(known.id).catch(() => {});
    } else {
      next = 'changed';
    }
    if (adopt) {
      try {
        await this.#o.onAdopt?.(adopt);
      } catch {
        return this.#state;
      }
      this.#known = adopt;
    }
    this.#found = found;
    if (next !== this.#state || this.#known !== known) {
      this.#state = next;
      this.#o.onChange?.(next, this);
    }
    return next;
  }
}
