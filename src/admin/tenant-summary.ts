// A tenant as the abuse desk reads it: its domains and login, its open suspensions and
// suppressions, and per window its deliveries, complaints and hard bounces with their rates,
// the tenant's and each sender domain's. The admin API's tenant answer and `mailwarden
// tenant show`.
import { windowName } from '../feedback/rates.js';
import type { Store } from '../store/ports.js';
import { iso } from './views.js';

export interface WindowVolume {
  readonly delivered: number;
  readonly complaints: number;
  readonly hardBounces: number;
  /** null below the minimum volume, where no threshold applies */
  readonly complaintRate: number | null;
  readonly hardBounceRate: number | null;
}

export interface TenantSummary {
  readonly id: string;
  readonly domains: readonly string[];
  readonly networks: readonly string[];
  readonly username?: string;
  readonly createdAt: string;
  readonly activeSuspensions: number;
  readonly suppressions: number;
  /** per window ("24h", "7d") */
  readonly volume: Record<string, WindowVolume>;
  /** per sender domain, per window */
  readonly domainVolume: Record<string, Record<string, WindowVolume>>;
}

/** The summary of tenant `id`, which must exist. */
export async function tenantSummary(store: Store, id: string, rates: { readonly minVolume: number; readonly windowsHours: readonly number[] }, now: number): Promise<TenantSummary> {
  const record = (await store.getTenant(id))!;
  const volumeOf = async (domain: string | null) => {
    const out: Record<string, WindowVolume> = {};
    for (const hours of rates.windowsHours) {
      const v = await store.volumeTotals(id, domain, hours, now);
      const judged = v.delivered >= rates.minVolume;
      out[windowName(hours)] = { ...v, complaintRate: judged ? v.complaints / v.delivered : null, hardBounceRate: judged ? v.hardBounces / v.delivered : null };
    }
    return out;
  };
  const volume = await volumeOf(null);
  const domainVolume: Record<string, Record<string, WindowVolume>> = {};
  for (const domain of record.domains) domainVolume[domain] = await volumeOf(domain);
  return {
    id: record.id,
    domains: record.domains,
    networks: record.networks,
    ...(record.username ? { username: record.username } : {}),
    createdAt: iso(record.createdAt)!,
    activeSuspensions: (await store.listSuspensions(id, { now })).length,
    suppressions: await store.countSuppressions(id),
    volume,
    domainVolume,
  };
}
