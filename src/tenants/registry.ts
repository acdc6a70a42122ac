// The tenants known to this process: who may relay, with which credentials, from which
// networks, and for which sender domains. Bootstrapped from the configuration.
import { BlockList, isIP } from 'node:net';
import type { TenantConfig } from '../config/schema.js';
import type { Tenant } from '../domain/tenant.js';
import { toAsciiDomain } from '../smtp/address.js';
import { verifyPassword } from './password.js';


interface Entry {
  readonly tenant: Tenant;
  readonly username?: string;
  readonly passwordHash?: string;
  readonly networks: BlockList;
  readonly hasNetworks: boolean;
}

export class TenantRegistry {
  readonly #entries: Entry[];

  constructor(tenants: readonly TenantConfig[]) {
    this.#entries = tenants.map((t) => {
      const networks = new BlockList();
      for (const net of t.networks) {
        const [address, bits] = net.split('/') as [string, string | undefined];
        const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
        if (bits === undefined) networks.addAddress(address, family);
        else networks.addSubnet(address, Number(bits), family);
      }
      const domains = t.domains.map((d) => (d.startsWith('*.') ? `*.${toAsciiDomain(d.slice(2)) ?? d.slice(2)}` : (toAsciiDomain(d) ?? d)));
      return {
        tenant: Object.freeze({ id: t.id, domains: Object.freeze(domains) }),
        username: t.username,
        passwordHash: t.password,
        networks,
        hasNetworks: t.networks.length > 0,
      };
    });
  }

  /** The tenant these credentials belong to, or null. Always runs one scrypt, so timing does not tell whether the user exists. */
  async authenticate(username: string, password: string): Promise<Tenant | null> {
    const entry = this.#entries.find((e) => e.username === username);
    const hash = entry?.passwordHash ?? DUMMY_HASH;
    const ok = await verifyPassword(password, hash);
    return ok && entry ? entry.tenant : null;
  }

  /** The tenant that relays without AUTH from this client address, or null. */
  byNetwork(address: string): Tenant | null {
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    const entry = this.#entries.find((e) => e.hasNetworks && e.networks.check(plain, family));
    return entry?.tenant ?? null;
  }

  get(id: string): Tenant | null {
    return this.#entries.find((e) => e.tenant.id === id)?.tenant ?? null;
  }

  get size(): number {
    return this.#entries.length;
  }
}

// a valid hash of a random password, checked when the username is unknown
const DUMMY_HASH = '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$q3Fz2eYdE3rI0T5m5vT4vQ3y7L1q2wqz8n0Y9w8p6mM=';
