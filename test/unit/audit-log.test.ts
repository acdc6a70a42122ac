// The audit log read backwards, a page at a time: every entry once, newest first, across
// the read chunks' boundaries, with filters, and nothing from a line still being written.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/admin/audit.js';

describe('AuditLog.read', () => {
  it('pages through 3,000 entries (many read chunks) newest first, each once, with and without a filter', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mw-audit-')), 'audit.log');
    const log = new AuditLog(file);
    const T0 = Date.parse('2026-12-01T00:00:00Z');
    for (let i = 0; i < 3000; i++) {
      // lines of varying length, some with multi-byte text, so chunk edges fall mid-line and mid-character
      await log.record({ actor: `desk-${i % 7}`, role: 'abuse-desk', tenant: i % 3 === 0 ? 'acme' : 'globex', action: i % 5 === 0 ? 'suspension.lift' : 'tenant.read', outcome: 'ok', requestId: `r${i}`, via: 'http', reason: 'ü'.repeat(i % 40) }, T0 + i);
    }
    const all: string[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await log.read({}, { limit: 250, ...(before !== undefined ? { before } : {}) });
      all.push(...page.entries.map((e) => e.requestId));
      if (page.next === null) break;
      expect(page.entries).toHaveLength(250);
      before = page.next;
    }
    expect(all).toEqual(Array.from({ length: 3000 }, (_, i) => `r${2999 - i}`));

    const lifts: string[] = [];
    before = undefined;
    for (;;) {
      const page = await log.read({ tenant: 'acme', action: 'suspension.lift' }, { limit: 33, ...(before !== undefined ? { before } : {}) });
      lifts.push(...page.entries.map((e) => e.requestId));
      if (page.next === null) break;
      before = page.next;
    }
    const expected = Array.from({ length: 3000 }, (_, i) => 2999 - i).filter((i) => i % 3 === 0 && i % 5 === 0).map((i) => `r${i}`);
    expect(lifts).toEqual(expected);
  });

  it('skips a line not yet ended and a line that is not JSON; an absent file is an empty trail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-audit-'));
    expect(await new AuditLog(join(dir, 'none.log')).read({}, { limit: 10 })).toEqual({ entries: [], next: null });
    const file = join(dir, 'audit.log');
    const log = new AuditLog(file);
    await log.record({ actor: 'a', role: 'operator', action: 'tenant.read', outcome: 'ok', requestId: 'r1', via: 'http' });
    appendFileSync(file, 'not json\n');
    await log.record({ actor: 'a', role: 'operator', action: 'tenant.read', outcome: 'ok', requestId: 'r2', via: 'http' });
    appendFileSync(file, '{"actor":"half');
    const page = await log.read({}, { limit: 10 });
    expect(page.entries.map((e) => e.requestId)).toEqual(['r2', 'r1']);
    expect(page.next).toBeNull();
  });

  it('a line the shared trail refuses is in the file still, and said; a lost store is not written into; the trail is read when there is one', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mw-audit-')), 'audit.log');
    const failures: string[] = [];
    const taken: string[] = [];
    let down = true;
    let lost = false;
    const shared = {
      append: async (line: string) => {
        if (down) throw new Error('redis: connection refused');
        taken.push(line);
      },
      read: async (wanted: (line: string) => boolean) => ({ lines: taken.filter(wanted).reverse().map((line, i) => ({ seq: 100 - i, line })), next: null }),
    };
    const log = new AuditLog(file, shared, { sharedOk: () => !lost, sharedFailed: (err) => failures.push(err.message) });
    const entry = (requestId: string) => ({ actor: 'a', role: 'operator', action: 'tenant.read', outcome: 'ok' as const, requestId, via: 'http' as const });
    await log.record(entry('r1'));
    expect(failures).toEqual(['redis: connection refused']);
    down = false;
    await log.record(entry('r2'));
    lost = true;
    await log.record(entry('r3'));
    // the file has all three; the trail what it took while it could and should
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { requestId: string }).requestId)).toEqual(['r1', 'r2', 'r3']);
    expect(taken.map((l) => (JSON.parse(l) as { requestId: string }).requestId)).toEqual(['r2']);
    expect((await log.read({}, { limit: 10 })).entries.map((e) => [e.requestId, e.seq])).toEqual([['r2', 100]]);
  });
});
