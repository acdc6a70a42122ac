// Policy records: suspensions, suppression entries, rate limits. Plain data, no behaviour.
import type { TenantId } from './tenant.js';

export const SUSPENSION_SCOPES = ['tenant', 'domain', 'sender'] as const;
export type SuspensionScope = (typeof SUSPENSION_SCOPES)[number];

export interface Suspension {
  /** short reference shown to the client in the 550 reply; carries no internal detail */
  readonly id: string;
  readonly tenant: TenantId;
  readonly scope: SuspensionScope;
  /** the sender domain (A-label) or sender address the suspension covers; absent for a whole tenant */
  readonly value?: string;
  readonly reason: string;
  readonly actor: string;
  readonly ticket?: string;
  readonly source: 'manual' | 'automatic';
  /** ms since the epoch */
  readonly createdAt: number;
  readonly expiresAt?: number;
  /** figures that triggered an automatic suspension */
  readonly evidence?: Record<string, unknown>;
  readonly lifted?: { readonly at: number; readonly by: string; readonly reason: string };
}

export const SUPPRESSION_REASONS = ['complaint', 'hard-bounce', 'unsubscribe', 'manual', 'import'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export interface SuppressionEntry {
  /** keyed pseudonym of the address in its matching form */
  readonly pseudonym: string;
  /** the address encrypted under the tenant's key, for export; absent once erased */
  readonly sealed?: string;
  readonly reason: SuppressionReason;
  readonly source?: string;
  readonly createdAt: number;
  readonly expiresAt?: number;
}

/** A rate: at most `limit` in every window of `windowMs`. */
export interface Rate {
  readonly limit: number;
  readonly windowMs: number;
}

export interface TenantLimits {
  /** messages (MAIL commands) per tenant */
  readonly messages: readonly Rate[];
  /** recipients (RCPT commands) per tenant */
  readonly recipients: readonly Rate[];
  /** messages per sender address */
  readonly perSender: readonly Rate[];
  /** recipients per recipient domain, per tenant */
  readonly perRecipientDomain: readonly Rate[];
  /** messages with the null sender, per tenant: a stricter bucket for bounces */
  readonly nullSender: readonly Rate[];
}

/**
 * What a rate bucket counts. Per tenant: messages, null-sender messages, messages per sender,
 * recipients, recipients per recipient domain; of no tenant: failed AUTHs per client address
 * and per username.
 */
export type RateScope = 'msg' | 'null' | 'snd' | 'rcpt' | 'rdom' | 'ip' | 'user';

/**
 * One rate bucket a command charges. Policy decides which buckets a command charges and how
 * (GCRA); each store keeps a bucket's state under a key of its own layout.
 */
export interface RateBucket {
  /** whose bucket it is; null for one that belongs to no tenant (failed AUTHs) */
  readonly tenant: TenantId | null;
  readonly scope: RateScope;
  /** the sender, recipient domain, client address or username hash it counts; '' for a tenant-wide bucket */
  readonly subject: string;
  readonly rate: Rate;
  /** shown in the reply's retry hint and in logs, e.g. "messages/1h" */
  readonly name: string;
}
