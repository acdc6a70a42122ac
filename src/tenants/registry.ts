// The tenants this process serves, read from the store (so every replica sees the same
// ones) and refreshed in the background: who may relay, with which credentials, from which
// networks, for which sender domains, under which limits, and each one's key.
import { BlockList, isIP } from 'node:net';
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Tenant, TenantId } from '../domain/tenant.js';
import type { MasterKey, TenantKey } from '../crypto/keys.js';
import type { AdminStore, TenantRecord } from '../store/ports.js';
import { verifyPassword } from './password.js';

/** What the registry asks before it believes a tenant list: is the store still the one known? */
export interface StoreTrust {
  serving(): boolean;
  /** looks at the store again */
  check(): Promise<string>;
}

export interface AuthCacheOptions {
  /** how long a verified username and password are taken without scrypt; 0 turns the cache off */
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** scrypt runs at once at most */
  readonly maxConcurrentHashes: number;
  /** told how each check was decided: from the cache, or by scrypt (matched or not) */
  readonly onVerify?: (how: 'cached' | 'hashed_ok' | 'hashed_failed') => void;
}

interface Cached {
  readonly tenant: TenantId;
  /** the password hash the entry was verified against: a changed one makes it worthless */
  readonly passwordHash: string;
  readonly expiresAt: number;
}

interface Entry {
  readonly tenant: Tenant;
  readonly key: TenantKey;
  /** the wrapped form the key came from: a refresh unwraps again only when it changed */
  readonly wrappedKey: string;
  readonly username?: string;
  readonly passwordHash?: string;
  readonly networks: BlockList;
  readonly hasNetworks: boolean;
}

export class TenantRegistry {
  /** by tenant id: policy asks for a tenant's key on every RCPT */
  #entries = new Map<TenantId, Entry>();
  #timer: NodeJS.Timeout | undefined;
  /** tenants in the store at the last load, whether or not their key unwrapped */
  #inStore = 0;

  constructor(
    private readonly store: AdminStore,
    private readonly master: MasterKey,
    private readonly log: Logger,
    /** after each load, the ids of the tenants served */
    private readonly onLoad?: (ids: readonly TenantId[]) => void,
    /** without it every list is believed */
    private readonly trust?: StoreTrust,
    auth: AuthCacheOptions = { ttlMs: 0, maxEntries: 0, maxConcurrentHashes: 2 },
  ) {
    this.#auth = auth;
  }

  readonly #auth: AuthCacheOptions;
  /**
   * Recent successful logins, keyed by an HMAC of username and password under a secret this
   * process draws at start and never shows: neither the password nor an unkeyed hash of it is
   * kept. Failures are never cached.
   */
  readonly #cache = new Map<string, Cached>();
  readonly #cacheSecret = randomBytes(32);
  /** scrypt calls running, and those waiting for one to end */
  #hashing = 0;
  readonly #waiting: Array<() => void> = [];

  /**
   * Reads every tenant from the store. A tenant whose key does not unwrap is left out and
   * logged. A store that is not the one known keeps the last list, and so does a list that
   * shrank to nothing unless the store, looked at again, is still the one known (then the
   * tenants were offboarded). `trusted`: the caller vouches for the store (it is taking a new
   * one up).
   */
  async load(options: { trusted?: boolean } = {}): Promise<void> {
    const trusted = options.trusted || !this.trust;
    if (!trusted && !this.trust!.serving()) return;
    const records = await this.store.listTenants();
    if (records.length === 0 && this.#entries.size > 0 && !trusted && (await this.trust!.check()) !== 'serving') {
      this.log.warn({ last: this.#entries.size }, 'the store lists no tenants and is not the store this relay knows; keeping the last list');
      return;
    }
    this.#inStore = records.length;
    const entries = new Map<TenantId, Entry>();
    for (const r of records) {
      try {
        entries.set(r.id, this.#entry(r, this.#entries.get(r.id)));
      } catch (err) {
        this.log.error({ tenant: r.id, err: (err as Error).message }, 'tenant key does not unwrap with this master key; tenant disabled');
      }
    }
    // a tenant gone from the list is let go only when it was removed on purpose
    const listed = new Set(records.map((r) => r.id));
    const missing = [...this.#entries.keys()].filter((id) => !listed.has(id));
    if (missing.length > 0 && !trusted) {
      const removed = new Set(await this.store.tenantsRemoved(missing));
      for (const id of missing) {
        if (removed.has(id)) continue;
        entries.set(id, this.#entries.get(id)!);
        this.log.warn({ tenant: id }, 'tenant missing from the store\'s list but not offboarded (part of the store lost?); still served');
      }
    }
    this.#entries = entries;
    this.onLoad?.([...entries.keys()]);
  }

  /** Refreshes from the store every `ms`; a failed refresh keeps the last good list. */
  startRefresh(ms: number): void {
    this.#timer = setInterval(() => {
      this.load().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'tenant refresh failed; keeping the last list'));
    }, ms);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * The tenant these credentials belong to, or null. A login verified within the cache's TTL,
   * against the password hash the tenant still has, costs one HMAC; any other runs one scrypt
   * (also for an unknown username, so timing does not tell whether it exists), at most
   * maxConcurrentHashes at once.
   */
  async authenticate(username: string, password: string, now = Date.now()): Promise<Tenant | null> {
    let entry: Entry | undefined;
    for (const e of this.#entries.values()) {
      if (e.username === username) {
        entry = e;
        break;
      }
    }
    const cacheKey = this.#auth.ttlMs > 0 ? createHmac('sha256', this.#cacheSecret).update(username).update('\0').update(password).digest('base64url') : null;
    const cached = cacheKey ? this.#cache.get(cacheKey) : undefined;
    if (cached) {
      if (entry && cached.tenant === entry.tenant.id && cached.passwordHash === entry.passwordHash && cached.expiresAt > now) {
        this.#auth.onVerify?.('cached');
        return entry.tenant;
      }
      this.#cache.delete(cacheKey!);
    }
    const ok = await this.#limited(() => verifyPassword(password, entry?.passwordHash ?? DUMMY_HASH));
    this.#auth.onVerify?.(ok ? 'hashed_ok' : 'hashed_failed');
    if (!ok || !entry) return null;
    if (cacheKey && entry.passwordHash && this.#auth.maxEntries > 0) {
      // the oldest entry makes room: a Map iterates in insertion order
      if (this.#cache.size >= this.#auth.maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(cacheKey, { tenant: entry.tenant.id, passwordHash: entry.passwordHash, expiresAt: now + this.#auth.ttlMs });
    }
    return entry.tenant;
  }

  /** libuv's pool has four threads by default and file writes (accounting) need them too */
  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#hashing >= this.#auth.maxConcurrentHashes) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#hashing++;
    try {
      return await fn();
    } finally {
      this.#hashing--;
      this.#waiting.shift()?.();
    }
  }

  /** The tenant that relays without AUTH from this client address, or null. */
  byNetwork(address: string): Tenant | null {
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    for (const e of this.#entries.values()) if (e.hasNetworks && e.networks.check(plain, family)) return e.tenant;
    return null;
  }

  get(id: TenantId): Tenant | null {
    return this.#entries.get(id)?.tenant ?? null;
  }

  keyOf(id: TenantId): TenantKey | null {
    return this.#entries.get(id)?.key ?? null;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** null while the relay can serve its tenants; else why not, for /readyz */
  unservable(): string | null {
    if (this.#inStore > 0 && this.#entries.size === 0) return `none of the ${this.#inStore} tenant keys in the store unwraps with the configured master key`;
    return null;
  }

  #entry(r: TenantRecord, previous: Entry | undefined): Entry {
    const networks = new BlockList();
    for (const net of r.networks) {
      const [address, bits] = net.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) networks.addAddress(address, family);
      else networks.addSubnet(address, Number(bits), family);
    }
    return {
      tenant: Object.freeze({ id: r.id, domains: Object.freeze([...r.domains]), limits: r.limits }),
      key: previous?.wrappedKey === r.wrappedKey ? previous.key : this.master.unwrap(r.wrappedKey, r.id),
      wrappedKey: r.wrappedKey,
      username: r.username,
      passwordHash: r.passwordHash,
      networks,
      hasNetworks: r.networks.length > 0,
    };
  }
}

// a valid hash of a random password, checked when the username is unknown
const DUMMY_HASH = '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$q3Fz2eYdE3rI0T5m5vT4vQ3y7L1q2wqz8n0Y9w8p6mM=';
