// The tenants this process serves, read from the store (so every replica sees the same
// ones) and refreshed in the background: who may relay, with which credentials, from which
// networks, for which sender domains, under which limits, and each one's key.
import { BlockList, isIP } from 'node:net';
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
  ) {}

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

  /** The tenant these credentials belong to, or null. Always runs one scrypt, so timing does not tell whether the user exists. */
  async authenticate(username: string, password: string): Promise<Tenant | null> {
    let entry: Entry | undefined;
    for (const e of this.#entries.values()) {
      if (e.username === username) {
        entry = e;
        break;
      }
    }
    const ok = await verifyPassword(password, entry?.passwordHash ?? DUMMY_HASH);
    return ok && entry ? entry.tenant : null;
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
