// The accounting records as JSON Lines segments on one host (accounting.kind: files, the
// default): <dir>/active/<tenant>/<day>.jsonl[.gz] and <dir>/archive/... The relay's writer
// (writer.ts) appends them; this adapter reads, ages and deletes them. Where a relay runs,
// erasure and tenant deletion go through its writer, which may have a segment open.
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TenantId } from '../../domain/tenant.js';
import type { AccountingStore, RecordQuery, RetentionResult, RetentionRun, TenantReturn } from '../port.js';
import type { AccountingRecord } from '../records.js';
import { queryAccounting } from '../query.js';
import { runRetention } from '../retention.js';
import { listDir, readSegment, segmentsOf } from '../segments.js';
import { eraseFromSegments } from '../subject.js';

/** what a running writer does for the segments it may have open */
export interface SegmentWriter {
  eraseSubject(tenant: string, pseudonym: string): Promise<{ segments: number; removed: number }>;
  releaseTenant(tenant: string): Promise<void>;
}

export class FileAccounting implements AccountingStore {
  readonly kind = 'files';
  readonly #dir: string;
  readonly #writer: SegmentWriter | null;

  constructor(dir: string, writer: SegmentWriter | null = null) {
    this.#dir = dir;
    this.#writer = writer;
  }

  query(q: RecordQuery): AsyncIterable<AccountingRecord> {
    return queryAccounting({ dir: this.#dir, ...q });
  }

  async retention(run: RetentionRun): Promise<RetentionResult> {
    return { ...(await runRetention({ dir: this.#dir, ...run })), ran: true };
  }

  async eraseSubject(tenant: TenantId, pseudonym: string): Promise<{ removed: number; segments: number }> {
    return this.#writer ? this.#writer.eraseSubject(tenant, pseudonym) : eraseFromSegments(this.#dir, tenant, pseudonym);
  }

  async returnTenant(tenant: TenantId, dir: string): Promise<TenantReturn> {
    let files = 0;
    let bytes = 0;
    let records = 0;
    for (const where of ['active', 'archive']) {
      const from = join(this.#dir, where, tenant);
      const names = (await listDir(from)).filter((n) => /\.jsonl(\.gz)?$/.test(n));
      if (names.length) await mkdir(join(dir, where), { recursive: true, mode: 0o700 });
      for (const name of names) {
        await copyFile(join(from, name), join(dir, where, name));
        files++;
        bytes += (await stat(join(from, name))).size;
        for await (const _ of readSegment(join(from, name))) records++;
      }
    }
    return { files, bytes, records };
  }

  async deleteTenant(tenant: TenantId): Promise<{ records: number }> {
    await this.#writer?.releaseTenant(tenant);
    const records = await this.countTenant(tenant);
    for (const where of ['active', 'archive']) await rm(join(this.#dir, where, tenant), { recursive: true, force: true });
    return { records };
  }

  async countTenant(tenant: TenantId): Promise<number> {
    let n = 0;
    for (const s of await segmentsOf(this.#dir, tenant)) for await (const _ of readSegment(s.file)) n++;
    return n;
  }

  async close(): Promise<void> {}
}
