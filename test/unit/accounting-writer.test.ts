// The accounting writer with a clock the test moves: segments per tenant and day, a day
// sealed once it is over, late records for a sealed day kept as a further gzip member,
// and MAIL refused while the buffer is full.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AccountingLog } from '../../src/accounting/writer.js';
import type { AdminRecord } from '../../src/accounting/records.js';

const DAY = 86_400_000;
const record = (tenant: string, at: number, action: string): AdminRecord => ({ v: 1, type: 'admin', time: new Date(at).toISOString(), tenant, action, actor: 'test' });

describe('accounting writer', () => {
  it('writes one segment per tenant and day, and seals a day once it is over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-'));
    let clock = Date.UTC(2026, 10, 21, 23, 59, 0);
    const log = await AccountingLog.open({ dir, flushMs: 1000, maxBufferedRecords: 1000, minFreeBytes: 0, now: () => clock, log: pino({ level: 'silent' }) });
    log.add(record('acme', clock, 'a1'));
    log.add(record('globex', clock, 'g1'));
    await log.flush();
    expect(readdirSync(join(dir, 'active', 'acme'))).toEqual(['2026-11-21.jsonl']);
    clock += 2 * 60_000;
    log.add(record('acme', clock, 'a2'));
    await log.flush();
    expect(readdirSync(join(dir, 'active', 'acme')).sort()).toEqual(['2026-11-21.idx.json', '2026-11-21.jsonl.gz', '2026-11-22.jsonl']);
    expect(gunzipSync(readFileSync(join(dir, 'active', 'acme', '2026-11-21.jsonl.gz'))).toString()).toContain('"action":"a1"');
    expect(readFileSync(join(dir, 'active', 'acme', '2026-11-22.jsonl'), 'utf8')).toContain('"action":"a2"');
    // a record stamped yesterday that was still buffered: a further gzip member of the sealed day
    log.add(record('acme', clock - DAY, 'late'));
    await log.flush();
    const day = gunzipSync(readFileSync(join(dir, 'active', 'acme', '2026-11-21.jsonl.gz'))).toString();
    expect(day.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as AdminRecord).action)).toEqual(['a1', 'late']);
    expect(existsSync(join(dir, 'active', 'acme', '2026-11-21.jsonl'))).toBe(false);
    await log.close();
    // every tenant's segment of the day that ended was sealed, not only the one written to
    expect(readdirSync(join(dir, 'active', 'globex')).sort()).toEqual(['2026-11-21.idx.json', '2026-11-21.jsonl.gz']);
  });

  it('says when its buffer is full or the disk nearly is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-'));
    const log = await AccountingLog.open({ dir, flushMs: 1000, maxBufferedRecords: 3, minFreeBytes: 0, now: Date.now, log: pino({ level: 'silent' }) });
    for (let i = 0; i < 3; i++) log.add(record('acme', Date.now(), `x${i}`));
    expect(log.accepting()).toBe('buffer-full');
    await log.flush();
    expect(log.accepting()).toBe('ok');
    await log.close();
    const full = await AccountingLog.open({ dir, flushMs: 1000, maxBufferedRecords: 3, minFreeBytes: Number.MAX_SAFE_INTEGER, now: Date.now, log: pino({ level: 'silent' }) });
    expect(full.accepting()).toBe('disk-low');
    await full.close();
  });
});
