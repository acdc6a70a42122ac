// Queries over a tenant's segments: by time, pseudonym and Message-ID; sealed days whose
// index cannot match are skipped unread.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AccountingLog } from '../../src/accounting/writer.js';
import { queryAccounting } from '../../src/accounting/query.js';
import type { AccountingRecord, RelayedRecord } from '../../src/accounting/records.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1, 12);

function relayed(tenant: string, at: number, rcpt: string, messageId: string): RelayedRecord {
  return { v: 1, type: 'relayed', time: new Date(at).toISOString(), tenant, session: 's', tx: 's.1', sender: { p: 'SENDER', d: 'acme.test' }, messageId, recipient: { p: rcpt, d: 'example.org' }, upstream: { code: 250, text: 'ok' } };
}

async function collect(it: AsyncIterable<AccountingRecord>): Promise<AccountingRecord[]> {
  const out: AccountingRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('accounting queries', () => {
  it('finds records by time, pseudonym and Message-ID, skipping sealed days that cannot match', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-query-'));
    let clock = T0;
    const log = await AccountingLog.open({ dir, flushMs: 1000, maxBufferedRecords: 10_000, minFreeBytes: 0, now: () => clock, log: pino({ level: 'silent' }) });
    for (let d = 0; d < 6; d++) {
      clock = T0 + d * DAY;
      for (let i = 0; i < 50; i++) log.add(relayed('acme', clock + i, `R${d}-${i}`, `<m${d}-${i}@acme.test>`));
      log.add(relayed('acme', clock + 99, 'SUBJECT', `<subject${d}@acme.test>`));
      log.add(relayed('globex', clock, 'SUBJECT', '<other@globex.test>'));
      await log.flush();
    }
    await log.close();

    const days: Array<[string, boolean]> = [];
    const bySubject = await collect(queryAccounting({ dir, tenant: 'acme', pseudonym: 'SUBJECT', onSegment: (day, read) => days.push([day, read]) }));
    expect(bySubject).toHaveLength(6);
    expect(bySubject.every((r) => r.tenant === 'acme')).toBe(true);

    const seen: Array<[string, boolean]> = [];
    const one = await collect(queryAccounting({ dir, tenant: 'acme', pseudonym: 'R2-7', onSegment: (day, read) => seen.push([day, read]) }));
    expect(one.map((r) => (r as RelayedRecord).messageId)).toEqual(['<m2-7@acme.test>']);
    // five days sealed with an index; only 2026-11-03 holds R2-7; the open day is read
    expect(seen).toEqual([
      ['2026-11-01', false],
      ['2026-11-02', false],
      ['2026-11-03', true],
      ['2026-11-04', false],
      ['2026-11-05', false],
      ['2026-11-06', true],
    ]);
    expect(await collect(queryAccounting({ dir, tenant: 'acme', messageId: '<m4-0@acme.test>' }))).toHaveLength(1);
    const window = await collect(queryAccounting({ dir, tenant: 'acme', from: T0 + DAY, to: T0 + 3 * DAY }));
    expect(window).toHaveLength(2 * 51);
    expect(await collect(queryAccounting({ dir, tenant: 'globex', messageId: '<m4-0@acme.test>' }))).toEqual([]);
  });
});
