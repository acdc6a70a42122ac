// Every Redis key mailwarden uses. One tenant's keys share the "{tenant}" hash tag, so Redis
// Cluster keeps them in one slot and a Lua script may touch them all.
import type { TenantId } from '../../domain/tenant.js';
import type { FeedbackScope } from '../../domain/feedback.js';
import type { RateBucket } from '../../domain/policy.js';

export const TENANTS_KEY = 'mw:tenants';
/** string: the store's identity as JSON ({ id, createdAt, replaces? }) */
export const IDENTITY_KEY = 'mw:identity';
/** string: the identity a replica knew when it found the store without one */
export const LOST_IDENTITY_KEY = 'mw:identity:lost';
/** hash: token id -> API token JSON (role, tenant, SHA-256 of the secret; never the secret) */
export const TOKENS_KEY = 'mw:tokens';
/** stream: every replica's audit lines (field e: the entry as JSON), trimmed to about admin.sharedAuditEntries */
export const AUDIT_KEY = 'mw:audit';

/** Feedback records of a tenant, or of the review queue ("{~review}": no tenant id starts with "~"). */
export function feedbackKeys(scope: FeedbackScope) {
  const t = `mw:{${typeof scope === 'string' ? scope : '~review'}}`;
  return {
    /** hash: record id -> record JSON */
    records: `${t}:fb`,
    /** hash: report SHA-256 -> record id */
    bySha: `${t}:fb:sha`,
    /** sorted set: record id by time received */
    byTime: `${t}:fb:time`,
    /** hash: review record id -> the abuse desk's decision (JSON), claimed once with HSETNX */
    resolutions: `${t}:fb:resolved`,
  } as const;
}

export function keys(tenant: TenantId) {
  const t = `mw:{${tenant}}`;
  return {
    /** string: the store identity this tenant was written under; the hot-path scripts compare it, in the tenant's own slot */
    seal: `${t}:store`,
    /** hash: suspension id -> "scope<TAB>value<TAB>expiresAt" for the active ones */
    activeSuspensions: `${t}:susp:active`,
    /** hash: suspension id -> suspension JSON, active and lifted */
    suspensionRecords: `${t}:susp:records`,
    /** hash: recipient pseudonym -> "expiresAt<TAB>entry JSON" */
    suppressions: `${t}:supp`,
    /** hash: an import's entries, staged (invisible) or committed and not yet merged into supp */
    suppressionImport: `${t}:supp:import`,
    /** string: "staging <import id>" while invisible, "merging <import id>" once committed */
    suppressionImportState: `${t}:supp:import:state`,
    /** hash per hour: "d", "c", "h" (and ":domain" variants) -> deliveries, complaints, hard bounces */
    volume: (hour: number) => `${t}:vol:${hour}`,
    /** hash: delivery id -> pending notice JSON */
    notices: `${t}:notices`,
    /** string with expiry: a notice already sent this period */
    claim: (name: string) => `${t}:claim:${name}`,
  } as const;
}

/**
 * string with expiry: a rate bucket's theoretical arrival time. A tenant's buckets are in its
 * slot ("mw:{tenant}:rate:<scope>[:<subject>]:<windowMs>"); buckets of no tenant (failed
 * AUTHs) share the "{auth}" slot ("mw:{auth}:<scope>:<subject>:<windowMs>").
 */
export function bucketKey(b: RateBucket): string {
  const prefix = b.tenant === null ? 'mw:{auth}' : `mw:{${b.tenant}}:rate`;
  return `${prefix}:${b.scope}${b.subject === '' ? '' : `:${b.subject}`}:${b.rate.windowMs}`;
}
