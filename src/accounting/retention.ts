// Retention of accounting segments: a sealed day's segment stays in active/ for
// `activeDays`, then moves to archive/, and is deleted once it is older than
// `archiveDays`. Ages are counted in whole UTC days from the segment's date, so with the
// defaults a day's records move on day 91 and are gone on day 731. The open segment of
// the current day is never touched.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { indexFile, listDir, TENANT_DIR } from './segments.js';

const DAY = 86_400_000;
const SEALED = /^(\d{4}-\d{2}-\d{2})\.jsonl\.gz$/;

export interface RetentionOptions {
  readonly dir: string;
  readonly activeDays: number;
  readonly archiveDays: number;
  readonly now: number;
  /** told after each tenant: its id, and the running totals */
  readonly onProgress?: (tenant: string, done: number, of: number, totals: RetentionResult) => void;
  /** say what would happen, change nothing */
  readonly dryRun?: boolean;
}

export interface RetentionResult {
  archived: number;
  deleted: number;
  /** bytes of the segments deleted */
  bytesDeleted: number;
}

export function ageInDays(day: string, now: number): number {
  return Math.floor((now - Date.parse(`${day}T00:00:00Z`)) / DAY);
}

export async function runRetention(o: RetentionOptions): Promise<RetentionResult> {
  const totals: RetentionResult = { archived: 0, deleted: 0, bytesDeleted: 0 };
  const active = join(o.dir, 'active');
  const archive = join(o.dir, 'archive');
  const tenants = [...new Set([...(await listDir(active)), ...(await listDir(archive))])].filter((t) => TENANT_DIR.test(t)).sort();
  for (const [i, tenant] of tenants.entries()) {
    for (const name of await listDir(join(active, tenant))) {
      const m = SEALED.exec(name);
      if (!m) continue;
      const age = ageInDays(m[1]!, o.now);
      if (age > o.archiveDays) {
        totals.bytesDeleted += (await stat(join(active, tenant, name))).size;
        if (!o.dryRun) await removeSegment(join(active, tenant, name));
        totals.deleted++;
      } else if (age > o.activeDays) {
        if (!o.dryRun) {
          await mkdir(join(archive, tenant), { recursive: true, mode: 0o700 });
          // the index first: a segment is never without it where queries look
          await rename(indexFile(join(active, tenant, name)), indexFile(join(archive, tenant, name))).catch(() => undefined);
          await rename(join(active, tenant, name), join(archive, tenant, name));
        }
        totals.archived++;
      }
    }
    for (const name of await listDir(join(archive, tenant))) {
      const m = SEALED.exec(name);
      if (!m || ageInDays(m[1]!, o.now) <= o.archiveDays) continue;
      totals.bytesDeleted += (await stat(join(archive, tenant, name))).size;
      if (!o.dryRun) await removeSegment(join(archive, tenant, name));
      totals.deleted++;
    }
    o.onProgress?.(tenant, i + 1, tenants.length, totals);
  }
  return totals;
}

async function removeSegment(file: string): Promise<void> {
  await rm(file);
  await rm(indexFile(file), { force: true });
}

