// Queries over one tenant's accounting records: a time range, an address (by its
// pseudonym) or a Message-ID. Sealed segments whose index shows they cannot match are
// skipped unread, so a query over 90 days reads only the days that hold the subject.
import type { RecordQuery } from './port.js';
import type { AccountingRecord } from './records.js';
import { readIndex, readSegment, segmentsOf, sortedHas } from './segments.js';

/** a query of the records port, over the segments under `dir` */
export interface AccountingQuery extends RecordQuery {
  readonly dir: string;
}

/**
 * A bound of a query's time range as people write it: a day (2026-11-21, from its start,
 * UTC) or a time. `end`: a day as the end of a range includes that whole day. NaN when the
 * text is neither.
 */
export function rangeBound(value: string, end: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(`${value}T00:00:00Z`) + (end ? 86_400_000 : 0);
  return Date.parse(value);
}

export async function* queryAccounting(q: AccountingQuery): AsyncIterable<AccountingRecord> {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const segments = await segmentsOf(q.dir, q.tenant, { from: q.from === undefined ? undefined : day(q.from), to: q.to === undefined ? undefined : day(q.to - 1) }, q.archived ?? true);
  for (const s of segments) {
    if (s.sealed && (q.pseudonym || q.messageId)) {
      const index = await readIndex(s.file);
      if (index && ((q.pseudonym && !sortedHas(index.pseudonyms, q.pseudonym)) || (q.messageId && !sortedHas(index.messageIds, q.messageId)))) {
        q.onSegment?.(s.day, false);
        continue;
      }
    }
    q.onSegment?.(s.day, true);
    for await (const r of readSegment(s.file)) {
      const t = Date.parse(r.time);
      if (q.from !== undefined && t < q.from) continue;
      if (q.to !== undefined && t >= q.to) continue;
      if (q.pseudonym && !matchesPseudonym(r, q.pseudonym)) continue;
      if (q.messageId && !('messageId' in r && r.messageId === q.messageId)) continue;
      yield r;
    }
  }
}

function matchesPseudonym(r: AccountingRecord, p: string): boolean {
  return ('sender' in r && r.sender?.p === p) || ('recipient' in r && r.recipient?.p === p);
}
