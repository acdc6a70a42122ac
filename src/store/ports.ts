// What policy, the CLI and the admin API need from the store, in business terms. Keys,
// scripts and error mapping stay inside the adapters. The caller passes `now`.
import type { Suspension, SuppressionEntry, TenantLimits } from '../domain/policy.js';
import type { TenantId } from '../domain/tenant.js';
import type { FeedbackRecord, FeedbackScope, VolumeCounts } from '../domain/feedback.js';
import type { PendingNotice } from '../domain/notice.js';
import type { TokenStore } from '../admin/tokens.js';

export interface TenantRecord {
  readonly id: TenantId;
  readonly username?: string;
  readonly passwordHash?: string;
  readonly domains: readonly string[];
  readonly networks: readonly string[];
  readonly limits: TenantLimits;
  readonly abuseContact?: { readonly email?: string; readonly webhook?: string };
  /** the tenant's key, encrypted under the master key */
  readonly wrappedKey: string;
  readonly createdAt: number;
}

export interface MailQuestion {
  readonly tenant: TenantId;
  /** A-label; null for the null sender */
  readonly senderDomain: string | null;
  /** the sender address in matching form; null for the null sender */
  readonly sender: string | null;
  readonly limits: TenantLimits;
  readonly now: number;
}

export type MailAnswer =
  | { readonly kind: 'ok' }
  | { readonly kind: 'suspended'; readonly ref: string }
  | { readonly kind: 'rate-limited'; readonly bucket: string; readonly retryAfterMs: number };

export interface RecipientQuestion {
  readonly tenant: TenantId;
  readonly pseudonym: string;
  /** A-label */
  readonly recipientDomain: string;
  readonly limits: TenantLimits;
  readonly now: number;
}

export type RecipientAnswer =
  | { readonly kind: 'ok' }
  | { readonly kind: 'suppressed' }
  | { readonly kind: 'rate-limited'; readonly bucket: string; readonly retryAfterMs: number };

/** The hot path: one round trip per SMTP command. */
export interface PolicyStore {
  /** MAIL FROM: active suspension of the tenant, sender domain or sender; then the tenant and sender rates, consumed only if all allow. */
  checkMail(q: MailQuestion): Promise<MailAnswer>;
  /** RCPT TO: suppression; then the recipient and recipient-domain rates, consumed only if all allow. */
  checkRecipient(q: RecipientQuestion): Promise<RecipientAnswer>;
}

export interface SuppressionFilter {
  readonly tenant: TenantId;
}

/** Everything else: the CLI, the admin API, bootstrap. */
export interface AdminStore extends TokenStore {
  putTenant(tenant: TenantRecord): Promise<void>;
  getTenant(id: TenantId): Promise<TenantRecord | null>;
  listTenants(): Promise<TenantRecord[]>;

  addSuspension(s: Suspension): Promise<void>;
  /** false when there is no such active suspension */
  liftSuspension(tenant: TenantId, id: string, lifted: NonNullable<Suspension['lifted']>): Promise<boolean>;
  listSuspensions(tenant?: TenantId, options?: { includeLifted?: boolean; now?: number }): Promise<Suspension[]>;

  /** all or nothing; an entry for a pseudonym already present replaces it */
  addSuppressions(tenant: TenantId, entries: readonly SuppressionEntry[]): Promise<void>;
  removeSuppression(tenant: TenantId, pseudonym: string): Promise<boolean>;
  getSuppression(tenant: TenantId, pseudonym: string): Promise<SuppressionEntry | null>;
  listSuppressions(tenant: TenantId): AsyncIterable<SuppressionEntry>;
  countSuppressions(tenant: TenantId): Promise<number>;

  /**
   * Hourly counts behind complaint and bounce rates, for the tenant and, when given, for one
   * of its sender domains. Kept for 8 days.
   */
  countVolume(tenant: TenantId, senderDomain: string | null, counts: Partial<VolumeCounts>, now: number): Promise<void>;
  /** sums over the `hours` most recent hourly buckets, the current one included */
  volumeTotals(tenant: TenantId, senderDomain: string | null, hours: number, now: number): Promise<VolumeCounts>;
  /** true the first time `name` is claimed for a tenant until it expires: a notice sent once per period */
  claimOnce(tenant: TenantId, name: string, ttlMs: number, now: number): Promise<boolean>;

  /**
   * Deletes everything the store holds for a tenant: its record (and with it the wrapped
   * key), suspensions, suppressions, feedback records, counts, claims and API tokens.
   * Returns how many of each were deleted.
   */
  deleteTenantData(tenant: TenantId): Promise<Record<string, number>>;

  /** false, and nothing written, when a report with the same sha256 is already kept in that scope */
  addFeedbackReport(record: FeedbackRecord): Promise<boolean>;
  findFeedbackReport(scope: FeedbackScope, sha256: string): Promise<FeedbackRecord | null>;
  getFeedbackReport(scope: FeedbackScope, id: string): Promise<FeedbackRecord | null>;
  /** newest first */
  listFeedbackReports(scope: FeedbackScope, options?: { limit?: number }): Promise<FeedbackRecord[]>;
  /** Removes the report itself (a data-subject erasure), keeping its figures; false when there is no such record. */
  eraseFeedbackReport(scope: FeedbackScope, id: string, at: number): Promise<boolean>;

  /** Keeps (or updates) a notice delivery that is on its way. */
  savePendingNotice(pending: PendingNotice): Promise<void>;
  dropPendingNotice(tenant: TenantId, id: string): Promise<void>;
  /** every tenant's notice deliveries still on their way */
  listPendingNotices(): Promise<PendingNotice[]>;
}

export interface Store extends PolicyStore, AdminStore {
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  readonly code: string = 'STORE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store answered reads but refused to record anything (Redis out of memory under
 * `noeviction`, or a replica that became read-only during a failover). Suspensions and
 * suppressions can still be read; rate buckets cannot be charged.
 */
export class StoreWriteRefusedError extends StoreUnavailableError {
  override readonly code = 'STORE_WRITE_REFUSED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreWriteRefusedError';
  }
}

export type StoreFailureKind = 'timeout' | 'unavailable' | 'write_refused';
