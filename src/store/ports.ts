// What policy, the CLI and the admin API need from the store, in business terms. Keys,
// scripts and error mapping stay inside the adapters. The caller passes `now`.
import type { RateBucket, Suspension, SuppressionEntry, TenantLimits } from '../domain/policy.js';
import type { TenantId } from '../domain/tenant.js';
import type { FeedbackRecord, FeedbackScope, ReviewResolution, VolumeCounts } from '../domain/feedback.js';
import type { PendingNotice } from '../domain/notice.js';
import type { ApiToken, TokenStore } from '../domain/access.js';

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

/**
 * Who a store is: given once when it is first set up (`mailwarden store init`, a restore, a
 * new embedded database) and read by every replica and the CLI. A store that lost it
 * (restarted empty, flushed, failed over to an empty replica) or shows another one is lost:
 * nothing it says is taken as an answer (ARCHITECTURE invariant 2).
 */
export interface StoreIdentity {
  readonly id: string;
  /** ms since the epoch */
  readonly createdAt: number;
  /** the lost store's identity an operator replaced on purpose (`store init --empty`) */
  readonly replaces?: string;
}

/** One record of a store backup (`mailwarden store backup`): addresses stay sealed as stored. */
export type BackupItem =
  | { readonly t: 'tenant'; readonly v: TenantRecord }
  /** `active`: in the index MAIL reads (not lifted, not yet expired) */
  | { readonly t: 'suspension'; readonly v: Suspension; readonly active: boolean }
  | { readonly t: 'suppression'; readonly tenant: TenantId; readonly v: SuppressionEntry }
  | { readonly t: 'feedback'; readonly v: FeedbackRecord }
  | { readonly t: 'volume'; readonly tenant: TenantId; readonly hour: number; readonly field: string; readonly n: number }
  | { readonly t: 'notice'; readonly v: PendingNotice }
  | { readonly t: 'token'; readonly v: ApiToken };

export interface MailQuestion {
  readonly tenant: TenantId;
  /** the identity the asker knows the store by: a store that shows another answers `lost` */
  readonly store: string;
  /** A-label; null for the null sender */
  readonly senderDomain: string | null;
  /** the sender address in matching form; null for the null sender */
  readonly sender: string | null;
  /** the rate buckets to charge, all or none (policy/rate-buckets.ts) */
  readonly buckets: readonly RateBucket[];
  readonly now: number;
}

export type MailAnswer =
  | { readonly kind: 'ok' }
  | { readonly kind: 'lost' }
  | { readonly kind: 'suspended'; readonly ref: string }
  | { readonly kind: 'rate-limited'; readonly bucket: string; readonly retryAfterMs: number };

export interface RecipientQuestion {
  readonly tenant: TenantId;
  /** as in MailQuestion */
  readonly store: string;
  readonly pseudonym: string;
  /** the rate buckets to charge, all or none */
  readonly buckets: readonly RateBucket[];
  readonly now: number;
}

export type RecipientAnswer =
  | { readonly kind: 'ok' }
  | { readonly kind: 'lost' }
  | { readonly kind: 'suppressed' }
  | { readonly kind: 'rate-limited'; readonly bucket: string; readonly retryAfterMs: number };

export interface AuthQuestion {
  /** the failed-AUTH buckets of the client address and the username */
  readonly buckets: readonly RateBucket[];
  readonly now: number;
}

export type AuthAnswer = { readonly kind: 'ok' } | { readonly kind: 'limited'; readonly bucket: string; readonly retryAfterMs: number };

/** The hot path: one round trip per SMTP command. */
export interface PolicyStore {
  /** AUTH: whether the client address and the username have failures left; charges nothing */
  checkAuth(q: AuthQuestion): Promise<AuthAnswer>;
  /** A failed AUTH charges the client address's and the username's failure buckets. */
  countAuthFailure(q: AuthQuestion): Promise<void>;
  /** MAIL FROM: active suspension of the tenant, sender domain or sender; then the question's rate buckets, charged only if all allow. */
  checkMail(q: MailQuestion): Promise<MailAnswer>;
  /** RCPT TO: suppression; then the question's rate buckets, charged only if all allow. */
  checkRecipient(q: RecipientQuestion): Promise<RecipientAnswer>;
}

export interface SuppressionFilter {
  readonly tenant: TenantId;
}

export interface Durability {
  /** null when the store would not say (a managed Redis that refuses CONFIG) */
  readonly persistent: boolean | null;
  /** for the log line: what was found */
  readonly detail: string;
}

/** Who the store is, and its whole state as a backup. */
export interface IdentityStore {
  /** true when this process created the store just now (an embedded database on a new path); a Redis is never fresh: an empty one may have lost its data */
  readonly fresh: boolean;
  getIdentity(): Promise<StoreIdentity | null>;
  /**
   * Gives a store without an identity this one; false, and nothing written, when it has one.
   * Tenants already in it (a store from before identities) are sealed with it too.
   */
  createIdentity(identity: StoreIdentity): Promise<boolean>;
  /** A replica that found its store lost says which identity it knew, for `store init --empty` to name what it replaces; the first report stays. */
  reportLostIdentity(id: string): Promise<void>;
  /** the identity a replica reported lost, until an identity is created or restored */
  getLostIdentity(): Promise<string | null>;
  /** everything `restore` needs, streamed; one tenant's records read together */
  backup(now: number): AsyncIterable<BackupItem>;
  /**
   * Loads a backup into a store without an identity, the identity last: until the load is
   * complete no replica takes the store as found. Returns how many of each kind were loaded.
   * Throws StoreNotEmptyError when the store has an identity.
   */
  restore(identity: StoreIdentity, items: AsyncIterable<BackupItem>): Promise<Record<string, number>>;
  /** whether the store keeps its state across a restart (a Redis with neither AOF nor RDB snapshots does not) */
  durability(): Promise<Durability>;
}

/** Everything else: the CLI, the admin API, bootstrap. */
/**
 * The audit trail every replica appends to and reads from, where the store is shared: the
 * newest lines of all of them (each relay's own log file keeps all of its own). A line is an
 * audit entry as JSON; `seq` orders them and is the paging cursor.
 */
export interface SharedAuditTrail {
  append(line: string): Promise<void>;
  /** newest first, the lines before `before` that `wanted` keeps, `limit` of them; `next` when there are more */
  read(wanted: (line: string) => boolean, page: { limit: number; before?: number }): Promise<{ lines: Array<{ seq: number; line: string }>; next: number | null }>;
}

export interface AdminStore extends TokenStore, IdentityStore {
  /** Throws StoreIdentityMissingError into a store without an identity: no tenant or key is created in a lost store. */
  putTenant(tenant: TenantRecord): Promise<void>;
  getTenant(id: TenantId): Promise<TenantRecord | null>;
  listTenants(): Promise<TenantRecord[]>;
  /**
   * Of tenants a replica served and no longer finds in the list, those removed on purpose
   * (offboarded: every key of theirs deleted). One missing from the list but not removed was
   * lost with part of the store (a Redis Cluster shard that failed over empty).
   */
  tenantsRemoved(ids: readonly TenantId[]): Promise<TenantId[]>;

  addSuspension(s: Suspension): Promise<void>;
  /** false when there is no such active suspension */
  liftSuspension(tenant: TenantId, id: string, lifted: NonNullable<Suspension['lifted']>): Promise<boolean>;
  listSuspensions(tenant?: TenantId, options?: { includeLifted?: boolean; now?: number }): Promise<Suspension[]>;

  /** all or nothing; an entry for a pseudonym already present replaces it */
  addSuppressions(tenant: TenantId, entries: readonly SuppressionEntry[]): Promise<void>;
  /**
   * A large import, streamed: batches are staged out of sight, in writes small enough to leave
   * the store free for the relays between them, then made visible together in one short step.
   * When `batches` throws (a bad line) or the store fails before that step, nothing is visible
   * and the staging is dropped. Entries replace those of the same pseudonym. Returns how many
   * were imported. One import per tenant at a time: a later one takes over an unfinished one.
   */
  importSuppressions(tenant: TenantId, batches: AsyncIterable<readonly SuppressionEntry[]>): Promise<number>;
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
  /** newest first; `before`: only those older than the record with this id (the next page after it) */
  listFeedbackReports(scope: FeedbackScope, options?: { limit?: number; before?: string }): Promise<FeedbackRecord[]>;
  /** Removes the report itself (a data-subject erasure), keeping its figures; false when there is no such record. */
  eraseFeedbackReport(scope: FeedbackScope, id: string, at: number): Promise<boolean>;
  /**
   * Records what was decided about a review record, once: the record with it, `resolved`
   * false when it had been decided before (the earlier decision stays); null when there is
   * no such review record.
   */
  resolveReviewReport(id: string, resolution: ReviewResolution): Promise<{ record: FeedbackRecord; resolved: boolean } | null>;
  /** the audit trail replicas share, keeping its newest `keep` lines; null where the store is one host's (the log file is the trail) */
  auditTrail(keep: number): SharedAuditTrail | null;

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

/** A write that would set up state in a store without an identity (a new or lost one). */
export class StoreIdentityMissingError extends Error {
  readonly code = 'STORE_NO_IDENTITY';
  constructor() {
    super('the store has no identity (a new store, or one that lost its data): run `mailwarden store restore FILE` or `mailwarden store init --empty --yes`');
    this.name = 'StoreIdentityMissingError';
  }
}

export class StoreNotEmptyError extends Error {
  readonly code = 'STORE_NOT_EMPTY';
  constructor(identity: StoreIdentity) {
    super(`the store already has identity ${identity.id} (created ${new Date(identity.createdAt).toISOString()}): restore and init load only into a store without one`);
    this.name = 'StoreNotEmptyError';
  }
}

export type StoreFailureKind = 'timeout' | 'unavailable' | 'write_refused';
