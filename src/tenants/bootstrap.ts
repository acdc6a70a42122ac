// Tenants named in the configuration are written to the store at start: the file sets
// their credentials, domains, networks and limits; the store keeps their keys. A tenant
// created at runtime (CLI, admin API) is left alone.
import type { Config } from '../config/schema.js';
import type { MasterKey } from '../crypto/keys.js';
import type { AdminStore, TenantRecord } from '../store/ports.js';
import { toAsciiDomain } from '../smtp/address.js';
import { resolveLimits } from './limits.js';

export function normalizeDomain(d: string): string {
  return d.startsWith('*.') ? `*.${toAsciiDomain(d.slice(2)) ?? d.slice(2)}` : (toAsciiDomain(d) ?? d);
}

export async function bootstrapTenants(config: Config, store: AdminStore, master: MasterKey, now: number): Promise<number> {
  for (const t of config.tenants) {
    const existing = await store.getTenant(t.id);
    const record: TenantRecord = {
      id: t.id,
      username: t.username,
      passwordHash: t.password,
      domains: t.domains.map(normalizeDomain),
      networks: [...t.networks],
      limits: resolveLimits(config.limits, t.limits),
      wrappedKey: existing?.wrappedKey ?? master.newTenantKey(t.id).wrapped,
      createdAt: existing?.createdAt ?? now,
    };
    await store.putTenant(record);
  }
  return config.tenants.length;
}
