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

/** A delivery on its way, kept in the store: a notice to a contact, or a DSN to a sender. */
export type PendingNotice = PendingContactNotice | PendingDsn;

export interface PendingContactNotice {
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

/**
 * A delivery status notification on its way to the envelope sender of a message whose
 * recipients the upstream partly refused. It names those recipients, so everything but its
 * id is sealed under the tenant's key (erased with it).
 */
export interface PendingDsn {
  readonly id: string;
  readonly tenant: TenantId;
  readonly channel: 'dsn';
  /** the SMTP session of the message it reports on, for the logs */
  readonly session: string;
  /** { to, message (base64), eightBitMime, smtpUtf8 } as JSON, sealed under the tenant's key */
  readonly sealed: string;
  /** attempts made so far */
  readonly attempts: number;
  /** ms since the epoch: no other process takes the delivery over before this */
  readonly leaseUntil: number;
}
