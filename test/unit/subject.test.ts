// Data-subject requests over active and archived segments: export finds every record about
// the address, erase removes them all (re-indexing sealed days), and the address stays
// suppressed by pseudonym alone.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MasterKey } from '../../src/crypto/keys.js';
import { AccountingLog } from '../../src/accounting/writer.js';
import { FileAccounting } from '../../src/accounting/files/store.js';
import { runRetention } from '../../src/accounting/retention.js';
import { bareSuppression, eraseFromReports, eraseFromSegments, exportSubject } from '../../src/accounting/subject.js';
import { EmbeddedStore } from '../../src/store/embedded/store.js';
import { referenceHeader } from '../../src/feedback/reference.js';
import type { FeedbackRecord } from '../../src/domain/feedback.js';
import { queryAccounting } from '../../src/accounting/query.js';
import { readIndex, segmentsOf } from '../../src/accounting/segments.js';
import type { RelayedRecord } from '../../src/accounting/records.js';
import type { SuppressionEntry } from '../../src/domain/policy.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1, 12);

describe('data-subject requests', () => {
  it('export finds the subject in active and archived days; erase leaves none and keeps a bare suppression', async () => {
    const key = MasterKey.fromBase64(randomBytes(32).toString('base64')).newTenantKey('acme').key;
    const p = key.pseudonym('bob@example.org');
    const rec = (at: number, rcpt: string): RelayedRecord => ({ v: 1, type: 'relayed', time: new Date(at).toISOString(), tenant: 'acme', session: 's', tx: 's.1', sender: { p: 'S', d: 'acme.test' }, recipient: { p: rcpt, d: 'example.org' }, upstream: { code: 250, text: 'ok' } });
    const dir = mkdtempSync(join(tmpdir(), 'mw-subject-'));
    let clock = T0;
    const log = await AccountingLog.open({ dir, flushMs: 1000, maxBufferedRecords: 1000, minFreeBytes: 0, now: () => clock, log: pino({ level: 'silent' }) });
    for (const d of [0, 1, 100, 101]) {
      clock = T0 + d * DAY;
      log.add(rec(clock, p));
      log.add(rec(clock, 'SOMEONEELSE00000000000'));
      await log.flush();
    }
    await log.close();
    // the first two days are older than 90 days now: archived
    expect(await runRetention({ dir, activeDays: 90, archiveDays: 730, now: clock })).toMatchObject({ archived: 2 });
    const where = (await segmentsOf(dir, 'acme')).map((s) => `${s.archived ? 'archive' : 'active'}/${s.day}${s.sealed ? '.gz' : ''}`);
    expect(where).toEqual(['archive/2026-01-01.gz', 'archive/2026-01-02.gz', 'active/2026-04-11.gz', 'active/2026-04-12']);

    let entry: SuppressionEntry | null = { pseudonym: p, sealed: key.sealAddress('bob@example.org'), reason: 'unsubscribe', createdAt: T0 };
    const store = {
      getSuppression: async () => entry,
      addSuppressions: async (_t: string, e: readonly SuppressionEntry[]) => void (entry = e[0]!),
    };
    const before = await exportSubject({ records: new FileAccounting(dir), tenant: 'acme', address: 'Bob@Example.org', key, store, now: clock });
    expect(before.records).toHaveLength(4);
    expect(before.suppression).toMatchObject({ reason: 'unsubscribe', addressKept: true });

    expect(await eraseFromSegments(dir, 'acme', p)).toEqual({ segments: 4, removed: 4 });
    expect(await bareSuppression(store, 'acme', p)).toBe(true);
    const after = await exportSubject({ records: new FileAccounting(dir), tenant: 'acme', address: 'bob@example.org', key, store, now: clock });
    expect(after.records).toEqual([]);
    expect(after.suppression).toMatchObject({ reason: 'unsubscribe', addressKept: false });
    expect(entry).toEqual({ pseudonym: p, reason: 'unsubscribe', createdAt: T0 });
    // the other recipient's records are all still there, and the sealed days' indexes know the subject no more
    let others = 0;
    for await (const _ of queryAccounting({ dir, tenant: 'acme' })) others++;
    expect(others).toBe(4);
    for (const s of (await segmentsOf(dir, 'acme')).filter((x) => x.sealed)) expect((await readIndex(s.file))!.pseudonyms).not.toContain(p);
  });

  it('erase removes the text of the tenant\'s kept reports that name the address, in clear or in a reference, and no other', async () => {
    const master = MasterKey.fromBase64(randomBytes(32).toString('base64'));
    const acme = master.newTenantKey('acme').key;
    const globex = master.newTenantKey('globex').key;
    const store = new EmbeddedStore(join(mkdtempSync(join(tmpdir(), 'mw-subject-store-')), 'store'));
    const ref = (key: typeof acme, tenant: string, to: string) => referenceHeader(key, { tenant, messageRef: 'S.1', sentAt: T0, senderDomain: 'acme.test', recipients: [to] });
    const report = (id: string, tenant: string, key: typeof acme, text: string): FeedbackRecord => ({
      id, receivedAt: T0, via: 'smtp', kind: 'complaint', outcome: 'applied', attribution: 'verified', tenant, feedbackTypes: ['abuse'], bounces: [],
      counts: { complaints: 1, unsubscribes: 0, hardBounces: 0, softBounces: 0, policyBounces: 0, other: 0, suppressed: 1 },
      notes: [], sha256: id, sealedReport: key.sealReport(Buffer.from(text)), truncated: false,
    });
    await store.addFeedbackReport(report('F1', 'acme', acme, 'Feedback-Type: abuse\r\nOriginal-Rcpt-To: Bob@Example.org\r\n'));
    await store.addFeedbackReport(report('F2', 'acme', acme, `Redacted-Address: redacted\r\n\r\n${ref(acme, 'acme', 'bob@example.org')}Subject: hi\r\n`));
    await store.addFeedbackReport(report('F3', 'acme', acme, `Original-Rcpt-To: carol@example.org\r\n\r\n${ref(acme, 'acme', 'carol@example.org')}`));
    await store.addFeedbackReport(report('F4', 'globex', globex, 'Original-Rcpt-To: bob@example.org\r\n'));

    expect(await eraseFromReports(store, 'acme', acme, 'bob@example.org', T0 + DAY)).toBe(2);
    const left = await store.listFeedbackReports('acme');
    expect(left.filter((r) => r.erasedAt !== undefined).map((r) => r.id).sort()).toEqual(['F1', 'F2']);
    expect(left.find((r) => r.id === 'F1')).toMatchObject({ sealedReport: '', erasedAt: T0 + DAY, counts: { complaints: 1 } });
    expect(acme.openReport(left.find((r) => r.id === 'F3')!.sealedReport).toString()).toContain('carol@example.org');
    // another tenant's report about the same address is that tenant's business
    expect((await store.getFeedbackReport('globex', 'F4'))!.sealedReport).not.toBe('');
    // done twice, nothing more to do
    expect(await eraseFromReports(store, 'acme', acme, 'bob@example.org', T0 + DAY)).toBe(0);
    await store.close();
  });
});
