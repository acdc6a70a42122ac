// Tenants named in the configuration are written to the store at start: the file sets
// their credentials, domains, networks and limits; the store keeps their keys. A tenant
// created at runtime (CLI, admin API) is left alone.
import type { Config, TenantConfig } from '../config/schema.js';
import type { MasterKey } from '../crypto/keys.js';
import type { AdminStore, TenantRecord } from '../store/ports.js';
import { toAsciiDomain } from '../domain/mailbox.js';
import { resolveLimits } from './limits.js';

export function normalizeDomain(d: string): string {
  return d.startsWith('*.') ? `*.${toAsciiDomain(d.slice(2)) ?? d.slice(2)}` : (toAsciiDomain(d) ?? d);
}

/** The stored form of a tenant as the configuration (or `tenant add`) describes it. */
export function tenantRecord(t: TenantConfig, defaults: Config['limits'], wrappedKey: string, createdAt: number): TenantRecord {
  return {
    id: t.id,
    username: t.username,
    passwordHash: t.password,
    domains: t.domains.map(normalizeDomain),
    networks: [...t.networks],
    limits: resolveLimits(defaults, t.limits),
    ...(t.abuseContact ? { abuseContact: { ...t.abuseContact } } : {}),
    wrappedKey,
    createdAt,
  };
}

/** A master key that is not the one the store's tenant keys were wrapped with. */
export class MasterKeyMismatchError extends Error {
  readonly code = 'MASTER_KEY_MISMATCH';
  constructor(tenants: number) {
    super(`the master key (MAILWARDEN_MASTER_KEY or keys.masterKeyFile) unwraps none of the ${tenants} tenant keys in the store: it is not the key this store was set up with`);
    this.name = 'MasterKeyMismatchError';
  }
}

/** Throws MasterKeyMismatchError when the store has tenants and the master key unwraps none of their keys: such a relay would serve nobody. */
export function checkMasterKey(records: readonly TenantRecord[], master: MasterKey): void {
  if (records.length === 0) return;
  for (const r of records) {
    try {
      master.unwrap(r.wrappedKey, r.id);
      return;
    } catch {
      // the next one may unwrap
    }
  }
  throw new MasterKeyMismatchError(records.length);
}

export async function bootstrapTenants(config: Config, store: AdminStore, master: MasterKey, now: number): Promise<number> {
  for (const t of config.tenants) {
    const existing = await store.getTenant(t.id);
    await store.putTenant(tenantRecord(t, config.limits, existing?.wrappedKey ?? master.newTenantKey(t.id).wrapped, existing?.createdAt ?? now));
  }
  return config.tenants.length;
}
