// Notices to people about a tenant, and one notice's delivery to one contact while it is
// on its way: kept in the store so that a restart or a lost replica does not lose it.
import type { TenantId } from './tenant.js';

export interface Notice {
  readonly event: 'rate.warning' | 'suspension.automatic';
  readonly tenant: TenantId;
  /** ms since the epoch */
  readonly at: number;
  /** one line for people */
  readonly summary: string;
  /** the figures behind it; no addresses */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface PendingNotice {
  /** the delivery id: X-Mailwarden-Delivery of a webhook, the same on every attempt */
  readonly id: string;
  readonly tenant: TenantId;
  readonly channel: 'webhook' | 'email';
  readonly who: 'tenant' | 'abuse-desk';
  /** the abuse contact's webhook URL or email address (never a recipient's) */
  readonly target: string;
  readonly notice: Notice;
  /** attempts made so far */
  readonly attempts: number;
  /** ms since the epoch: no other process takes the delivery over before this */
  readonly leaseUntil: number;
}
