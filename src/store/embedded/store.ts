// The embedded store for one host: LMDB on local disk (crash-safe, memory-mapped, opened by
// every worker process of the relay and by the CLI at once). A write is acknowledged only
// once LMDB committed it, so a SIGKILL loses nothing acknowledged. Rate buckets live in an
// LMDB environment of their own beside it ("rates"), shared by every process like the rest,
// so N workers admit exactly each limit together; it is written without fsync: a bucket is a
// few numbers per active sender, and a host crash at worst restarts some rate windows.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Suspension, SuppressionEntry } from '../../domain/policy.js';
import type { TenantId } from '../../domain/tenant.js';
import { REVIEW, scopeOf, type FeedbackRecord, type FeedbackScope, type ReviewResolution, type VolumeCounts } from '../../domain/feedback.js';
import type { ApiToken } from '../../domain/access.js';
import type { PendingNotice } from '../../domain/notice.js';
import { hourOf, totalsFields, volumeFields, VOLUME_KEEP_MS } from '../volume.js';
import { admit, wouldAdmit, type TatState } from '../../policy/gcra.js';
import type { RateBucket } from '../../domain/policy.js';
import { StoreIdentityMissingError, StoreNotEmptyError, type AuthAnswer, type AuthQuestion, type BackupItem, type Durability, type MailAnswer, type MailQuestion, type RecipientAnswer, type RecipientQuestion, type SharedAuditTrail, type Store, type StoreIdentity, type TenantRecord } from '../ports.js';
import { activeMatch, isActive } from '../suspension-match.js';

const SEP = '\u0000';
const END = '\u0001';

/** a tenant id, or "~review" (no tenant id starts with "~") */
function hourKey(hour: number): string {
  return String(hour).padStart(8, '0');
}

/** the parts of a key written as "a\0b\0c", whichever form lmdb reads it back in */
function keyParts(key: unknown): string[] {
  return Array.isArray(key) ? key.map(String) : String(key).split(SEP);
}

function rateKey(b: RateBucket): string {
  return `${b.tenant ?? ''}\u001f${b.scope}\u001f${b.subject}\u001f${b.rate.windowMs}`;
}

function scopeKey(scope: FeedbackScope): string {
  return typeof scope === 'string' ? scope : '~review';
}

const IDENTITY = 'identity';
const LOST = 'lost';
/** staged entries per transaction of an import */
const IMPORT_BATCH = 5000;
/** writes per transaction while a backup is loaded */
const RESTORE_BATCH = 5000;

export class EmbeddedStore implements Store {
  /** a new database, created by this process: its files did not exist */
  readonly fresh: boolean;
  readonly #root: RootDatabase;
  /** "identity" -> StoreIdentity; "lost" -> the identity a replica reported lost */
  readonly #meta: Database<StoreIdentity | string, string>;
  readonly #tenants: Database<TenantRecord, string>;
  readonly #active: Database<Suspension, string>;
  readonly #history: Database<Suspension, string>;
  readonly #suppressions: Database<SuppressionEntry, string>;
  /** "<import id>/<pseudonym>" -> entry: an import staged, not yet visible */
  readonly #suppressionImports: Database<SuppressionEntry, string>;
  readonly #feedback: Database<FeedbackRecord, string>;
  readonly #feedbackBySha: Database<string, string>;
  /** tenant \0 hour (8 digits) \0 field -> count */
  readonly #volume: Database<number, string>;
  /** tenant \0 name -> expiry */
  readonly #claims: Database<number, string>;
  readonly #tokens: Database<ApiToken, string>;
  readonly #notices: Database<PendingNotice, string>;
  readonly #ratesRoot: RootDatabase;
  /** "tenant US scope US subject US windowMs" -> theoretical arrival time (US: U+001F) */
  readonly #rates: Database<number, string>;
  readonly #tats: TatState;
  #sweeps = 0;

  constructor(path: string) {
    // made here, not by lmdb, which hangs on a path it cannot create: this fails at once instead
    this.fresh = mkdirSync(path, { recursive: true }) !== undefined;
    this.#root = open({ path, compression: false });
    this.#meta = this.#root.openDB<StoreIdentity | string, string>({ name: 'meta' });
    this.#tenants = this.#root.openDB<TenantRecord, string>({ name: 'tenants' });
    this.#active = this.#root.openDB<Suspension, string>({ name: 'suspensions-active' });
    this.#history = this.#root.openDB<Suspension, string>({ name: 'suspensions-history' });
    this.#suppressions = this.#root.openDB<SuppressionEntry, string>({ name: 'suppressions' });
    this.#suppressionImports = this.#root.openDB<SuppressionEntry, string>({ name: 'suppression-imports' });
    this.#feedback = this.#root.openDB<FeedbackRecord, string>({ name: 'feedback' });
    this.#feedbackBySha = this.#root.openDB<string, string>({ name: 'feedback-sha' });
    this.#volume = this.#root.openDB<number, string>({ name: 'volume' });
    this.#claims = this.#root.openDB<number, string>({ name: 'claims' });
    this.#tokens = this.#root.openDB<ApiToken, string>({ name: 'tokens' });
    this.#notices = this.#root.openDB<PendingNotice, string>({ name: 'notices' });
    // writemap and no sync: a commit is a few stores into the map, no system call (about 3 µs against 13)
    this.#ratesRoot = open({ path: join(path, 'rates'), compression: false, noSync: true, useWritemap: true });
    this.#rates = this.#ratesRoot.openDB<number, string>({ name: 'tats' });
    this.#tats = { get: (b) => this.#rates.get(rateKey(b)), set: (b, tat) => this.#rates.putSync(rateKey(b), tat) };
  }

  /** Admits and charges in one LMDB write transaction: every process of the host sees the same buckets. */
  #admit(buckets: readonly RateBucket[], now: number) {
    if (buckets.length === 0) return { allowed: true } as const;
    if (++this.#sweeps % 10_000 === 0) this.#sweepRates(now);
    return this.#ratesRoot.transactionSync(() => admit(this.#tats, buckets, now));
  }

  /** drops buckets that are empty again: a TAT in the past carries no information */
  #sweepRates(now: number): void {
    this.#ratesRoot.transactionSync(() => {
      let seen = 0;
      for (const { key, value } of this.#rates.getRange()) {
        if (value <= now) this.#rates.removeSync(key);
        if (++seen >= 100_000) break;
      }
    });
  }

  #is(store: string): boolean {
    return (this.#meta.get(IDENTITY) as StoreIdentity | undefined)?.id === store;
  }

  async checkMail(q: MailQuestion): Promise<MailAnswer> {
    if (!this.#is(q.store)) return { kind: 'lost' };
    const active: Suspension[] = [];
    let expired: string[] | undefined;
    for (const { key, value } of this.#active.getRange({ start: q.tenant + SEP, end: q.tenant + END })) {
      if (value.expiresAt !== undefined && value.expiresAt <= q.now) (expired ??= []).push(key);
      else active.push(value);
    }
    if (expired) this.#retire(expired, q.now);
    const hit = activeMatch(active, q.senderDomain, q.sender, q.now);
    if (hit) return { kind: 'suspended', ref: hit.id };
    const admission = this.#admit(q.buckets, q.now);
    return admission.allowed ? { kind: 'ok' } : { kind: 'rate-limited', bucket: admission.bucket, retryAfterMs: admission.retryAfterMs };
  }

  async checkRecipient(q: RecipientQuestion): Promise<RecipientAnswer> {
    if (!this.#is(q.store)) return { kind: 'lost' };
    const entry = this.#suppressions.get(q.tenant + SEP + q.pseudonym);
    if (entry && (entry.expiresAt === undefined || entry.expiresAt > q.now)) return { kind: 'suppressed' };
    const admission = this.#admit(q.buckets, q.now);
    return admission.allowed ? { kind: 'ok' } : { kind: 'rate-limited', bucket: admission.bucket, retryAfterMs: admission.retryAfterMs };
  }

  async checkAuth(q: AuthQuestion): Promise<AuthAnswer> {
    const a = wouldAdmit(this.#tats, q.buckets, q.now);
    return a.allowed ? { kind: 'ok' } : { kind: 'limited', bucket: a.bucket, retryAfterMs: a.retryAfterMs };
  }

  async countAuthFailure(q: AuthQuestion): Promise<void> {
    this.#admit(q.buckets, q.now);
  }

  async putTenant(tenant: TenantRecord): Promise<void> {
    await this.#root.transaction(() => {
      if (this.#meta.get(IDENTITY) === undefined) throw new StoreIdentityMissingError();
      this.#tenants.putSync(tenant.id, tenant);
    });
  }

  /** one database: a tenant gone from it was deleted on purpose */
  async tenantsRemoved(ids: readonly TenantId[]): Promise<TenantId[]> {
    return ids.filter((id) => this.#tenants.get(id) === undefined);
  }

  async getIdentity(): Promise<StoreIdentity | null> {
    return (this.#meta.get(IDENTITY) as StoreIdentity | undefined) ?? null;
  }

  async createIdentity(identity: StoreIdentity): Promise<boolean> {
    return this.#root.transaction(() => {
      if (this.#meta.get(IDENTITY) !== undefined) return false;
      this.#meta.putSync(IDENTITY, identity);
      this.#meta.removeSync(LOST);
      return true;
    });
  }

  async reportLostIdentity(id: string): Promise<void> {
    await this.#root.transaction(() => {
      if (this.#meta.get(LOST) === undefined) this.#meta.putSync(LOST, id);
    });
  }

  async getLostIdentity(): Promise<string | null> {
    return (this.#meta.get(LOST) as string | undefined) ?? null;
  }

  /** Every range read in one LMDB read transaction: the backup is the store as of its start. */
  async *backup(): AsyncIterable<BackupItem> {
    const transaction = this.#root.useReadTransaction();
    const t = { transaction };
    try {
      for (const { value } of this.#tokens.getRange(t)) yield { t: 'token', v: value };
      for (const { value } of this.#tenants.getRange(t)) yield { t: 'tenant', v: value };
      for (const { value } of this.#active.getRange(t)) yield { t: 'suspension', v: value, active: true };
      for (const { value } of this.#history.getRange(t)) yield { t: 'suspension', v: value, active: false };
      // per tenant by range: lmdb may read a key with NULs in it back as an array of its parts
      for (const { key: tenant } of this.#tenants.getRange(t)) {
        const range = { ...t, start: tenant + SEP, end: tenant + END };
        for (const { value } of this.#suppressions.getRange(range)) yield { t: 'suppression', tenant, v: value };
        for (const { key, value } of this.#volume.getRange(range)) {
          const [, hour, field] = keyParts(key);
          yield { t: 'volume', tenant, hour: Number(hour), field: field!, n: value };
        }
      }
      for (const { value } of this.#feedback.getRange(t)) yield { t: 'feedback', v: value };
      for (const { value } of this.#notices.getRange(t)) yield { t: 'notice', v: value };
    } finally {
      transaction.done();
    }
  }

  /** In transactions of RESTORE_BATCH writes; the identity in the last one. */
  async restore(identity: StoreIdentity, items: AsyncIterable<BackupItem>): Promise<Record<string, number>> {
    const existing = await this.getIdentity();
    if (existing) throw new StoreNotEmptyError(existing);
    const counts: Record<string, number> = { tenants: 0, suspensions: 0, suppressions: 0, feedbackRecords: 0, volumeCounts: 0, notices: 0, tokens: 0 };
    let batch: BackupItem[] = [];
    const tenants: TenantRecord[] = [];
    const flush = async () => {
      const writes = batch;
      batch = [];
      await this.#root.transaction(() => {
        for (const item of writes) this.#load(item, counts);
      });
    };
    for await (const item of items) {
      if (item.t === 'tenant') tenants.push(item.v);
      else batch.push(item);
      if (batch.length >= RESTORE_BATCH) await flush();
    }
    await flush();
    await this.#root.transaction(() => {
      if (this.#meta.get(IDENTITY) !== undefined) throw new StoreNotEmptyError(this.#meta.get(IDENTITY) as StoreIdentity);
      for (const t of tenants) this.#tenants.putSync(t.id, t);
      counts.tenants = tenants.length;
      this.#meta.putSync(IDENTITY, identity);
      this.#meta.removeSync(LOST);
    });
    return counts;
  }

  #load(item: BackupItem, counts: Record<string, number>): void {
    switch (item.t) {
      case 'suspension':
        (item.active ? this.#active : this.#history).putSync(item.v.tenant + SEP + item.v.id, item.v);
        counts.suspensions!++;
        break;
      case 'suppression':
        this.#suppressions.putSync(item.tenant + SEP + item.v.pseudonym, item.v);
        counts.suppressions!++;
        break;
      case 'feedback': {
        const scope = scopeKey(scopeOf(item.v));
        this.#feedbackBySha.putSync(scope + SEP + item.v.sha256, item.v.id);
        this.#feedback.putSync(scope + SEP + item.v.id, item.v);
        counts.feedbackRecords!++;
        break;
      }
      case 'volume':
        this.#volume.putSync(item.tenant + SEP + hourKey(item.hour) + SEP + item.field, item.n);
        counts.volumeCounts!++;
        break;
      case 'notice':
        this.#notices.putSync(item.v.tenant + SEP + item.v.id, item.v);
        counts.notices!++;
        break;
      case 'token':
        this.#tokens.putSync(item.v.id, item.v);
        counts.tokens!++;
        break;
      case 'tenant':
        break;
    }
  }

  /** LMDB commits every write to disk before it is acknowledged. */
  async durability(): Promise<Durability> {
    return { persistent: true, detail: 'LMDB on local disk' };
  }

  async getTenant(id: TenantId): Promise<TenantRecord | null> {
    return this.#tenants.get(id) ?? null;
  }

  async listTenants(): Promise<TenantRecord[]> {
    return [...this.#tenants.getRange()].map(({ value }) => value);
  }

  async addSuspension(s: Suspension): Promise<void> {
    await this.#active.put(s.tenant + SEP + s.id, s);
  }

  /** Expired suspensions leave the active index for the history, so MAIL does not scan them again. */
  #retire(keys: readonly string[], now: number): void {
    this.#root
      .transaction(() => {
        for (const key of keys) {
          const s = this.#active.get(key);
          if (s?.expiresAt === undefined || s.expiresAt > now) continue;
          this.#active.removeSync(key);
          this.#history.putSync(key, s);
        }
      })
      .catch(() => {
        // retried at the next MAIL that finds them
      });
  }

  async liftSuspension(tenant: TenantId, id: string, lifted: NonNullable<Suspension['lifted']>): Promise<boolean> {
    const key = tenant + SEP + id;
    return this.#root.transaction(() => {
      const s = this.#active.get(key);
      if (!s) return false;
      this.#active.removeSync(key);
      this.#history.putSync(key, { ...s, lifted });
      return true;
    });
  }

  async listSuspensions(tenant?: TenantId, options: { includeLifted?: boolean; now?: number } = {}): Promise<Suspension[]> {
    const range = tenant === undefined ? {} : { start: tenant + SEP, end: tenant + END };
    const out = [...this.#active.getRange(range)].map(({ value }) => value);
    const now = options.now ?? Date.now();
    const current = options.includeLifted ? out : out.filter((s) => isActive(s, now));
    if (options.includeLifted) for (const { value } of this.#history.getRange(range)) current.push(value);
    return current.sort((a, b) => a.createdAt - b.createdAt);
  }

  async addSuppressions(tenant: TenantId, entries: readonly SuppressionEntry[]): Promise<void> {
    await this.#root.transaction(() => {
      for (const e of entries) this.#suppressions.putSync(tenant + SEP + e.pseudonym, e);
    });
  }

  /**
   * Staged in a database of its own, IMPORT_BATCH entries per transaction, then moved into the
   * list in one transaction: LMDB readers (the relay's RCPT) never wait for a writer, and see
   * all of it or none.
   */
  async importSuppressions(tenant: TenantId, batches: AsyncIterable<readonly SuppressionEntry[]>): Promise<number> {
    // "<import id>/<pseudonym>": no NUL inside, which lmdb's key encoding reads back as an array
    const id = randomUUID();
    const prefix = `${id}/`;
    const range = { start: prefix, end: `${id}0` };
    let n = 0;
    try {
      for await (const batch of batches) {
        for (let i = 0; i < batch.length; i += IMPORT_BATCH) {
          const slice = batch.slice(i, i + IMPORT_BATCH);
          await this.#root.transaction(() => {
            for (const e of slice) this.#suppressionImports.putSync(prefix + e.pseudonym, e);
          });
          n += slice.length;
        }
      }
      await this.#root.transaction(() => {
        for (const { key, value } of this.#suppressionImports.getRange(range)) {
          this.#suppressions.putSync(tenant + SEP + value.pseudonym, value);
          this.#suppressionImports.removeSync(key);
        }
      });
      return n;
    } catch (err) {
      await this.#root
        .transaction(() => {
          for (const key of this.#suppressionImports.getKeys(range)) this.#suppressionImports.removeSync(key);
        })
        .catch(() => {});
      throw err;
    }
  }

  async getSuppression(tenant: TenantId, pseudonym: string): Promise<SuppressionEntry | null> {
    return this.#suppressions.get(tenant + SEP + pseudonym) ?? null;
  }

  async removeSuppression(tenant: TenantId, pseudonym: string): Promise<boolean> {
    const key = tenant + SEP + pseudonym;
    return this.#root.transaction(() => {
      if (this.#suppressions.get(key) === undefined) return false;
      this.#suppressions.removeSync(key);
      return true;
    });
  }

  async *listSuppressions(tenant: TenantId): AsyncIterable<SuppressionEntry> {
    for (const { value } of this.#suppressions.getRange({ start: tenant + SEP, end: tenant + END })) yield value;
  }

  async countSuppressions(tenant: TenantId): Promise<number> {
    return this.#suppressions.getKeysCount({ start: tenant + SEP, end: tenant + END });
  }

  async countVolume(tenant: TenantId, senderDomain: string | null, counts: Partial<VolumeCounts>, now: number): Promise<void> {
    const fields = volumeFields(senderDomain, counts);
    if (fields.length === 0) return;
    const hour = hourKey(hourOf(now));
    await this.#root.transaction(() => {
      for (const [field, n] of fields) {
        const key = tenant + SEP + hour + SEP + field;
        this.#volume.putSync(key, (this.#volume.get(key) ?? 0) + n);
      }
      // drop this tenant's buckets that no window reaches any more
      const cutoff = tenant + SEP + hourKey(hourOf(now - VOLUME_KEEP_MS));
      for (const key of this.#volume.getKeys({ start: tenant + SEP, end: cutoff, limit: 1000 })) this.#volume.removeSync(key);
    });
  }

  async volumeTotals(tenant: TenantId, senderDomain: string | null, hours: number, now: number): Promise<VolumeCounts> {
    const [d, c, h] = totalsFields(senderDomain);
    const totals = { delivered: 0, complaints: 0, hardBounces: 0 };
    const first = hourOf(now) - hours + 1;
    for (const { key, value } of this.#volume.getRange({ start: tenant + SEP + hourKey(first), end: tenant + SEP + hourKey(hourOf(now) + 1) })) {
      const field = key.slice(key.lastIndexOf(SEP) + 1);
      if (field === d) totals.delivered += value;
      else if (field === c) totals.complaints += value;
      else if (field === h) totals.hardBounces += value;
    }
    return totals;
  }

  async claimOnce(tenant: TenantId, name: string, ttlMs: number, now: number): Promise<boolean> {
    const key = tenant + SEP + name;
    return this.#root.transaction(() => {
      const until = this.#claims.get(key);
      if (until !== undefined && until > now) return false;
      this.#claims.putSync(key, now + ttlMs);
      return true;
    });
  }

  async deleteTenantData(tenant: TenantId): Promise<Record<string, number>> {
    const range = { start: tenant + SEP, end: tenant + END };
    return this.#root.transaction(() => {
      const counts: Record<string, number> = {};
      const drop = (name: string, db: Database<unknown, string>, r = range) => {
        let n = 0;
        for (const key of db.getKeys(r)) {
          db.removeSync(key);
          n++;
        }
        counts[name] = n;
      };
      drop('suspensions', this.#active as Database<unknown, string>);
      drop('liftedSuspensions', this.#history as Database<unknown, string>);
      drop('suppressions', this.#suppressions as Database<unknown, string>);
      drop('feedbackRecords', this.#feedback as Database<unknown, string>);
      drop('feedbackIndex', this.#feedbackBySha as Database<unknown, string>);
      drop('volumeCounts', this.#volume as Database<unknown, string>);
      drop('claims', this.#claims as Database<unknown, string>);
      drop('pendingNotices', this.#notices as Database<unknown, string>);
      let tokens = 0;
      for (const { key, value } of this.#tokens.getRange()) {
        if (value.tenant === tenant) {
          this.#tokens.removeSync(key);
          tokens++;
        }
      }
      counts.tokens = tokens;
      counts.tenant = this.#tenants.get(tenant) ? 1 : 0;
      this.#tenants.removeSync(tenant);
      return counts;
    });
  }

  async putApiToken(token: ApiToken): Promise<void> {
    await this.#tokens.put(token.id, token);
  }

  async getApiToken(id: string): Promise<ApiToken | null> {
    return this.#tokens.get(id) ?? null;
  }

  async listApiTokens(): Promise<ApiToken[]> {
    return [...this.#tokens.getRange()].map(({ value }) => value);
  }

  async addFeedbackReport(record: FeedbackRecord): Promise<boolean> {
    const scope = scopeKey(scopeOf(record));
    return this.#root.transaction(() => {
      if (this.#feedbackBySha.get(scope + SEP + record.sha256) !== undefined) return false;
      this.#feedbackBySha.putSync(scope + SEP + record.sha256, record.id);
      this.#feedback.putSync(scope + SEP + record.id, record);
      return true;
    });
  }

  async findFeedbackReport(scope: FeedbackScope, sha256: string): Promise<FeedbackRecord | null> {
    const id = this.#feedbackBySha.get(scopeKey(scope) + SEP + sha256);
    return id === undefined ? null : this.getFeedbackReport(scope, id);
  }

  async getFeedbackReport(scope: FeedbackScope, id: string): Promise<FeedbackRecord | null> {
    return this.#feedback.get(scopeKey(scope) + SEP + id) ?? null;
  }

  async listFeedbackReports(scope: FeedbackScope, options: { limit?: number; before?: string } = {}): Promise<FeedbackRecord[]> {
    const s = scopeKey(scope);
    const limit = options.limit ?? 100;
    // ids sort by time: the page after `before` starts at it (the range takes its start) and leaves it out
    const start = options.before === undefined ? s + END : s + SEP + options.before;
    const range = this.#feedback.getRange({ start, end: s + SEP, reverse: true, limit: limit + 1 });
    return [...range]
      .filter(({ key }) => options.before === undefined || key !== start)
      .slice(0, limit)
      .map(({ value }) => value);
  }

  async eraseFeedbackReport(scope: FeedbackScope, id: string, at: number): Promise<boolean> {
    const key = scopeKey(scope) + SEP + id;
    return this.#root.transaction(() => {
      const record = this.#feedback.get(key);
      if (record === undefined) return false;
      this.#feedback.putSync(key, { ...record, sealedReport: '', erasedAt: at });
      return true;
    });
  }

  async resolveReviewReport(id: string, resolution: ReviewResolution): Promise<{ record: FeedbackRecord; resolved: boolean } | null> {
    const key = scopeKey(REVIEW) + SEP + id;
    return this.#root.transaction(() => {
      const record = this.#feedback.get(key);
      if (record === undefined) return null;
      if (record.resolution) return { record, resolved: false };
      const resolved = { ...record, resolution };
      this.#feedback.putSync(key, resolved);
      return { record: resolved, resolved: true };
    });
  }

  /** one host: its audit log file is the whole trail */
  auditTrail(): SharedAuditTrail | null {
    return null;
  }

  async savePendingNotice(pending: PendingNotice): Promise<void> {
    await this.#notices.put(pending.tenant + SEP + pending.id, pending);
  }

  async dropPendingNotice(tenant: TenantId, id: string): Promise<void> {
    await this.#notices.remove(tenant + SEP + id);
  }

  async listPendingNotices(): Promise<PendingNotice[]> {
    return [...this.#notices.getRange()].map(({ value }) => value);
  }

  async close(): Promise<void> {
    await this.#ratesRoot.close();
    await this.#root.close();
  }
}
