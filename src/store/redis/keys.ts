// Every Redis key mailwarden uses. One tenant's keys share the "{tenant}" hash tag, so Redis
// Cluster keeps them in one slot and a Lua script may touch them all.
import type { TenantId } from '../../domain/tenant.js';

export const TENANTS_KEY = 'mw:tenants';

export function keys(tenant: TenantId) {
  const t = `mw:{${tenant}}`;
  return {
    /** hash: suspension id -> "scope<TAB>value<TAB>expiresAt" for the active ones */
    activeSuspensions: `${t}:susp:active`,
    /** hash: suspension id -> suspension JSON, active and lifted */
    suspensionRecords: `${t}:susp:records`,
    /** hash: recipient pseudonym -> "expiresAt<TAB>entry JSON" */
    suppressions: `${t}:supp`,
  } as const;
}
