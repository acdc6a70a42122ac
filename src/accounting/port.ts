// The accounting port: where the records of every replica are kept, asked and let go, in
// business terms. Two adapters: files (JSON Lines segments on one host, the default) and
// postgres (one database that several replicas share). test/contract/accounting.test.ts
// runs one suite against both.
import type { TenantId } from '../domain/tenant.js';
import type { AccountingRecord } from './records.js';

export interface RecordQuery {
  readonly tenant: TenantId;
  /** ms since the epoch, inclusive */
  readonly from?: number;
  /** ms since the epoch, exclusive */
  readonly to?: number;
  /** the tenant's pseudonym of an address: records where it is the sender or the recipient */
  readonly pseudonym?: string;
  readonly messageId?: string;
  /** archived records too; true unless told otherwise */
  readonly archived?: boolean;
  /** files: told about each day's segment, read or skipped by its index (for progress output) */
  readonly onSegment?: (day: string, read: boolean) => void;
}

export interface RetentionRun {
  /** a day's records stay active this many whole days, then are archived */
  readonly activeDays: number;
  /** and are deleted once older than this */
  readonly archiveDays: number;
  readonly now: number;
  /** say what would happen, change nothing */
  readonly dryRun?: boolean;
  /** where replicas share the records: do nothing when any of them finished a run less than this long ago */
  readonly everyMs?: number;
  /** told as the run goes: what it is at, and the running totals */
  readonly onProgress?: (at: string, done: number, of: number, totals: RetentionResult) => void;
}

export interface RetentionResult {
  /** days' records moved to the archive (a tenant's day segment; a day's partition) */
  archived: number;
  /** days' records deleted */
  deleted: number;
  /** bytes deleted, where the adapter knows them */
  bytesDeleted: number;
  /** false when another replica was running it: this run did nothing */
  ran?: boolean;
}

export interface TenantReturn {
  /** files written */
  readonly files: number;
  readonly bytes: number;
  readonly records: number;
}

export interface AccountingStore {
  readonly kind: 'files' | 'postgres';
  /** a tenant's records, oldest first */
  query(q: RecordQuery): AsyncIterable<AccountingRecord>;
  /** archives and deletes by age; once per installation where replicas share the records */
  retention(run: RetentionRun): Promise<RetentionResult>;
  /** removes every record naming the pseudonym (sender or recipient), active and archived */
  eraseSubject(tenant: TenantId, pseudonym: string): Promise<{ removed: number; segments?: number }>;
  /** writes every record of the tenant, active and archived, into `dir` as JSON Lines (offboarding) */
  returnTenant(tenant: TenantId, dir: string): Promise<TenantReturn>;
  /** deletes every record of the tenant, active and archived */
  deleteTenant(tenant: TenantId): Promise<{ records: number }>;
  /** how many records of the tenant are kept, active and archived */
  countTenant(tenant: TenantId): Promise<number>;
  close(): Promise<void>;
}
