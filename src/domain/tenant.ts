// A hosting client of the provider. Every key, record and call belongs to exactly one tenant.
import type { TenantLimits } from './policy.js';

export type TenantId = string;

export interface Tenant {
  readonly id: TenantId;
  /** sender domains in lower-case A-label form; an entry "*.example.com" also allows its subdomains */
  readonly domains: readonly string[];
  readonly limits: TenantLimits;
}
