// The accounting writer with a clock the test moves: segments per tenant and day, a day
// sealed once it is over, late records for a sealed day kept as a further gzip member,
// and MAIL refused while the buffer is full.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AccountingLog } from '../../src/accounting/writer.js';
import { Accountant, type AccountingSink } from '../../src/accounting/accountant.js';
import type { AccountingRecord, AdminRecord } from '../../src/accounting/records.js';
import { MasterKey } from '../../src/crypto/keys.js';
import { parseMailAddress } from '../../src/domain/mailbox.js';

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

  it('counts several records added as serialised lines against its buffer limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-'));
    const log = await AccountingLog.open({ dir, flushMs: 1000, maxBufferedRecords: 3, minFreeBytes: 0, now: Date.now, log: pino({ level: 'silent' }) });
    const line = (a: string) => `${JSON.stringify(record('acme', Date.now(), a))}\n`;
    log.addLines('acme', new Date().toISOString().slice(0, 10), line('l1') + line('l2'), 2);
    expect(log.accepting()).toBe('ok');
    log.add(record('acme', Date.now(), 'l3'));
    expect(log.accepting()).toBe('buffer-full');
    await log.flush();
    expect(log.written).toBe(3);
    await log.close();
  });

  it('keeps every record it could not write, also of the segments after the one that failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-'));
    const log = await AccountingLog.open({ dir, flushMs: 60_000, maxBufferedRecords: 100, minFreeBytes: 0, now: Date.now, log: pino({ level: 'silent' }) });
    // acme's directory cannot be made: a file is in its place
    mkdirSync(join(dir, 'active'), { recursive: true });
    writeFileSync(join(dir, 'active', 'acme'), '');
    log.add(record('acme', Date.now(), 'a1'));
    log.add(record('globex', Date.now(), 'g1'));
    log.add(record('initech', Date.now(), 'i1'));
    await expect(log.flush()).rejects.toThrow();
    expect(log.accepting()).toBe('ok');
    rmSync(join(dir, 'active', 'acme'));
    await log.flush();
    const actions = (tenant: string) => readFileSync(join(dir, 'active', tenant, readdirSync(join(dir, 'active', tenant))[0]!), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as AdminRecord).action);
    expect([actions('acme'), actions('globex'), actions('initech')]).toEqual([['a1'], ['g1'], ['i1']]);
    expect(log.written).toBe(3);
    await log.close();
  });
});

describe('accountant', () => {
  it('writes the records of one transaction exactly as JSON.stringify would write each', () => {
    const lines: string[] = [];
    const records: AccountingRecord[] = [];
    const sink: AccountingSink = {
      add: (r) => records.push(r),
      addLines: (tenant, day, text, count) => {
        expect(tenant).toBe('acme');
        expect(day).toBe('2026-11-22');
        const split = text.split('\n');
        expect(split.pop()).toBe('');
        expect(split).toHaveLength(count);
        lines.push(...split);
      },
    };
    const tenantKey = new MasterKey(randomBytes(32)).newTenantKey('acme').key;
    const at = Date.UTC(2026, 10, 22, 10, 0, 0);
    const accountant = new Accountant(sink, () => tenantKey, () => at);
    const sender = parseMailAddress('news@acme.test')!;
    const recipients = (addresses: string[]) => addresses.map((a) => ({ mailbox: parseMailAddress(a)!, pseudonym: { p: tenantKey.pseudonym(a), d: 'example.org' } }));
    const facts = { tenant: 'acme', session: 's1', sender, tx: 'TX1', size: 1234, headers: 'Message-ID: <m1@acme.test>\r\nSubject: x\r\n' };
    accountant.delivered({ ...facts, recipients: recipients(['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org']) }, {
      accepted: ['a@example.org', 'b@example.org'],
      rejected: [
        { recipient: 'c@example.org', code: 550, enhanced: '5.1.1', text: 'unknown' },
        { recipient: 'd@example.org', code: 452, enhanced: '4.2.2', text: 'full' },
      ],
      response: '250 2.0.0 Ok: queued as ABC',
    });
    accountant.notRelayed({ ...facts, recipients: recipients(['e@example.org']) }, { kind: 'deferred', reason: 'UPSTREAM_UNAVAILABLE', code: 451, enhanced: '4.4.1' });
    expect(records).toEqual([]);
    const p = (a: string) => ({ p: tenantKey.pseudonym(a), d: 'example.org' });
    const base = { v: 1, time: new Date(at).toISOString(), tenant: 'acme', session: 's1', tx: 'TX1', sender: { p: tenantKey.pseudonym('news@acme.test'), d: 'acme.test' }, messageId: '<m1@acme.test>', size: 1234 };
    const upstream = { code: 250, enhanced: '2.0.0', text: 'Ok: queued as ABC' };
    const expected = [
      { ...base, type: 'relayed', recipient: p('a@example.org'), upstream },
      { ...base, type: 'relayed', recipient: p('b@example.org'), upstream },
      { ...base, type: 'bounced', via: 'upstream', recipient: p('c@example.org'), code: 550, enhanced: '5.1.1' },
      { ...base, type: 'deferred', recipient: p('d@example.org'), reason: 'UPSTREAM_TEMPFAIL', code: 452, enhanced: '4.2.2' },
      { ...base, type: 'deferred', recipient: p('e@example.org'), reason: 'UPSTREAM_UNAVAILABLE', code: 451, enhanced: '4.4.1' },
    ];
    expect(lines).toEqual(expected.map((r) => JSON.stringify(r)));
    expect(lines.join('\n')).not.toContain('@example.org');
  });
});
