// Reading accounting segments: the files of one tenant in a range of days, open or sealed,
// active or archived, and the per-segment index written when a day is sealed (the sorted
// pseudonyms and Message-IDs it holds), which lets a query skip segments that cannot match.
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip, gzipSync } from 'node:zlib';
import type { AccountingRecord } from './records.js';

const FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl(\.gz)?$/;

/** a tenant's directory under active/ or archive/: its id */
export const TENANT_DIR = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The names in a directory; none when it does not exist. Any other failure is thrown, never taken for "empty". */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface Segment {
  readonly day: string;
  readonly file: string;
  readonly sealed: boolean;
  readonly archived: boolean;
}

export interface SegmentIndex {
  readonly v: 1;
  readonly pseudonyms: readonly string[];
  readonly messageIds: readonly string[];
  readonly records: number;
}

export function indexFile(segmentFile: string): string {
  return segmentFile.replace(/\.jsonl(\.gz)?$/, '.idx.json');
}

/** A tenant's segments, oldest first, archived ones included unless told otherwise. */
export async function segmentsOf(dir: string, tenant: string, range: { from?: string; to?: string } = {}, archived = true): Promise<Segment[]> {
  const out: Segment[] = [];
  for (const [where, isArchive] of [['archive', true], ['active', false]] as const) {
    if (isArchive && !archived) continue;
    let names: string[];
    try {
      names = await readdir(join(dir, where, tenant));
    } catch {
      continue;
    }
    for (const name of names) {
      const m = FILE.exec(name);
      if (!m) continue;
      const day = m[1]!;
      if ((range.from && day < range.from) || (range.to && day > range.to)) continue;
      out.push({ day, file: join(dir, where, tenant, name), sealed: Boolean(m[2]), archived: isArchive });
    }
  }
  return out.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : Number(a.sealed) - Number(b.sealed)));
}

/** Every record of a segment, in order; a line that does not parse is skipped (a torn tail being written). */
export async function* readSegment(file: string): AsyncIterable<AccountingRecord> {
  const input = file.endsWith('.gz') ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    try {
      yield JSON.parse(line) as AccountingRecord;
    } catch {
      // a partial last line of an open segment
    }
  }
}

/** Builds and writes the index of a sealed segment. */
export async function writeIndex(file: string): Promise<SegmentIndex> {
  const pseudonyms = new Set<string>();
  const messageIds = new Set<string>();
  let records = 0;
  for await (const r of readSegment(file)) {
    records++;
    if ('sender' in r && r.sender) pseudonyms.add(r.sender.p);
    if ('recipient' in r && r.recipient) pseudonyms.add(r.recipient.p);
    if ('messageId' in r && r.messageId) messageIds.add(r.messageId);
  }
  const index: SegmentIndex = { v: 1, pseudonyms: [...pseudonyms].sort(), messageIds: [...messageIds].sort(), records };
  await writeFile(indexFile(file), JSON.stringify(index), { mode: 0o600 });
  return index;
}

export async function readIndex(segmentFile: string): Promise<SegmentIndex | null> {
  try {
    return JSON.parse(await readFile(indexFile(segmentFile), 'utf8')) as SegmentIndex;
  } catch {
    return null;
  }
}

export function sortedHas(sorted: readonly string[], value: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * Rewrites a segment without the records `drop` selects; returns how many were dropped.
 * A sealed segment is rewritten gzipped and its index rebuilt; nothing changes when no
 * record is dropped. The new file replaces the old one by rename, after it is synced.
 */
export async function rewriteSegment(file: string, drop: (r: AccountingRecord) => boolean): Promise<number> {
  const kept: string[] = [];
  let dropped = 0;
  for await (const r of readSegment(file)) {
    if (drop(r)) dropped++;
    else kept.push(JSON.stringify(r));
  }
  if (dropped === 0) return 0;
  const body = Buffer.from(kept.length ? `${kept.join('\n')}\n` : '');
  const tmp = `${file}.rewrite.tmp`;
  const h = await open(tmp, 'w', 0o600);
  await h.write(file.endsWith('.gz') ? gzipSync(body) : body);
  await h.sync();
  await h.close();
  await rename(tmp, file);
  if (file.endsWith('.gz')) await writeIndex(file);
  return dropped;
}
