// One contract for the store ports, run against every adapter with a fake clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingContactNotice } from '../../src/domain/notice.js';
import type { Suspension, TenantLimits } from '../../src/domain/policy.js';
import { StoreIdentityMissingError, StoreNotEmptyError, type BackupItem, type Store, type TenantRecord } from '../../src/store/ports.js';
import { REVIEW, type FeedbackRecord } from '../../src/domain/feedback.js';
import { Cluster } from 'ioredis';
import type { RedisStore } from '../../src/store/redis/store.js';
import { mailBuckets, recipientBuckets } from '../../src/policy/rate-buckets.js';

const MIN = 60_000;
const NO_LIMITS: TenantLimits = { messages: [], recipients: [], perSender: [], perRecipientDomain: [], nullSender: [] };
const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

function tenant(id: string): TenantRecord {
  return { id, domains: [`${id}.test`], networks: [], limits: NO_LIMITS, wrappedKey: 'x', createdAt: T0 };
}

function suspension(over: Partial<Suspension> & Pick<Suspension, 'id' | 'tenant'>): Suspension {
  return { scope: 'tenant', reason: 'test', actor: 'abuse-desk', source: 'manual', createdAt: T0, ...over };
}

/** the identity every contract store is given: hot-path questions carry it */
const STORE_ID = 'contract-store';

const mail = (t: string, sender: string | null, now = T0, limits = NO_LIMITS) => ({
  tenant: t,
  store: STORE_ID,
  sender,
  senderDomain: sender === null ? null : sender.split('@')[1]!,
  buckets: mailBuckets(t, sender, limits),
  now,
});
const rcpt = (t: string, pseudonym: string, now = T0, limits = NO_LIMITS, recipientDomain = 'example.org') => ({ tenant: t, store: STORE_ID, pseudonym, buckets: recipientBuckets(t, recipientDomain, limits), now });

/**
 * `lose`: what a store losing its state looks like for this adapter (a Redis restarted empty,
 * an embedded directory deleted); it returns the store to use from then on. The suite's last
 * test uses it.
 */
export function storeContract(name: string, create: () => Promise<Store>, lose: (s: Store) => Promise<Store>, destroy?: (s: Store) => Promise<void>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let n = 0;
    /** a new tenant, put in the store */
    const fresh = async () => {
      const id = `t${++n}-${Math.random().toString(36).slice(2, 8)}`;
      await store.putTenant(tenant(id));
      return id;
    };

    beforeAll(async () => {
      store = await create();
      expect(await store.createIdentity({ id: STORE_ID, createdAt: T0 })).toBe(true);
    });
    afterAll(async () => {
      if (!store) return;
      if (destroy) await destroy(store);
      else await store.close();
    });

    it('keeps tenants', async () => {
      const id = (await fresh());
      await store.putTenant(tenant(id));
      expect((await store.getTenant(id))?.domains).toEqual([`${id}.test`]);
      expect((await store.listTenants()).map((t) => t.id)).toContain(id);
      expect(await store.getTenant(`${id}-missing`)).toBeNull();
    });

    it('a tenant suspension refuses every sender of that tenant, and only that tenant', async () => {
      const [a, b] = [(await fresh()), (await fresh())];
      await store.addSuspension(suspension({ id: 'S1', tenant: a }));
      expect(await store.checkMail(mail(a, 'x@a.test'))).toEqual({ kind: 'suspended', ref: 'S1' });
      expect(await store.checkMail(mail(a, null))).toEqual({ kind: 'suspended', ref: 'S1' });
      expect(await store.checkMail(mail(b, 'x@a.test'))).toEqual({ kind: 'ok' });
    });

    it('domain and sender suspensions cover exactly their domain or address', async () => {
      const a = (await fresh());
      await store.addSuspension(suspension({ id: 'D1', tenant: a, scope: 'domain', value: 'bad.test' }));
      await store.addSuspension(suspension({ id: 'A1', tenant: a, scope: 'sender', value: 'spammer@good.test' }));
      expect(await store.checkMail(mail(a, 'x@bad.test'))).toEqual({ kind: 'suspended', ref: 'D1' });
      expect(await store.checkMail(mail(a, 'spammer@good.test'))).toEqual({ kind: 'suspended', ref: 'A1' });
      expect(await store.checkMail(mail(a, 'other@good.test'))).toEqual({ kind: 'ok' });
      expect(await store.checkMail(mail(a, 'x@sub.bad.test'))).toEqual({ kind: 'ok' });
    });

    it('a suspension ends at its expiry, or when lifted, and its history stays', async () => {
      const a = (await fresh());
      await store.addSuspension(suspension({ id: 'E1', tenant: a, expiresAt: T0 + 10 * MIN }));
      expect((await store.checkMail(mail(a, 'x@a.test', T0 + 9 * MIN))).kind).toBe('suspended');
      expect((await store.checkMail(mail(a, 'x@a.test', T0 + 10 * MIN))).kind).toBe('ok');
      await store.addSuspension(suspension({ id: 'L1', tenant: a }));
      expect(await store.liftSuspension(a, 'L1', { at: T0 + MIN, by: 'desk', reason: 'resolved' })).toBe(true);
      expect(await store.liftSuspension(a, 'L1', { at: T0 + MIN, by: 'desk', reason: 'again' })).toBe(false);
      expect((await store.checkMail(mail(a, 'x@a.test', T0 + 11 * MIN))).kind).toBe('ok');
      expect(await store.listSuspensions(a, { now: T0 + 11 * MIN })).toEqual([]);
      const all = await store.listSuspensions(a, { includeLifted: true });
      expect(all.find((s) => s.id === 'L1')?.lifted).toEqual({ at: T0 + MIN, by: 'desk', reason: 'resolved' });
    });

    it('suppressions are per tenant, expire, and can be removed', async () => {
      const [a, b] = [(await fresh()), (await fresh())];
      await store.addSuppressions(a, [
        { pseudonym: 'P1', reason: 'complaint', createdAt: T0 },
        { pseudonym: 'P2', reason: 'manual', createdAt: T0, expiresAt: T0 + MIN },
      ]);
      expect(await store.checkRecipient(rcpt(a, 'P1'))).toEqual({ kind: 'suppressed' });
      expect(await store.checkRecipient(rcpt(b, 'P1'))).toEqual({ kind: 'ok' });
      expect(await store.checkRecipient(rcpt(a, 'P2', T0 + MIN - 1))).toEqual({ kind: 'suppressed' });
      expect(await store.checkRecipient(rcpt(a, 'P2', T0 + MIN))).toEqual({ kind: 'ok' });
      expect(await store.countSuppressions(a)).toBe(2);
      expect(await store.getSuppression(a, 'P1')).toMatchObject({ pseudonym: 'P1', reason: 'complaint' });
      expect(await store.getSuppression(b, 'P1')).toBeNull();
      expect(await store.removeSuppression(a, 'P1')).toBe(true);
      expect(await store.removeSuppression(a, 'P1')).toBe(false);
      expect(await store.checkRecipient(rcpt(a, 'P1'))).toEqual({ kind: 'ok' });
      const listed = [];
      for await (const e of store.listSuppressions(a)) listed.push(e.pseudonym);
      expect(listed).toEqual(['P2']);
    });

    it('rate limits admit exactly the limit per window and say when to retry', async () => {
      const a = (await fresh());
      const limits: TenantLimits = { ...NO_LIMITS, messages: [{ limit: 3, windowMs: MIN }] };
      for (let i = 0; i < 3; i++) expect(await store.checkMail(mail(a, 'x@a.test', T0, limits))).toEqual({ kind: 'ok' });
      const refused = await store.checkMail(mail(a, 'x@a.test', T0, limits));
      expect(refused).toEqual({ kind: 'rate-limited', bucket: 'messages/1m', retryAfterMs: 20_000 });
      expect((await store.checkMail(mail(a, 'x@a.test', T0 + 19_999, limits))).kind).toBe('rate-limited');
      expect((await store.checkMail(mail(a, 'x@a.test', T0 + 20_000, limits))).kind).toBe('ok');
    });

    it('a refused request charges no bucket (all or nothing)', async () => {
      const a = (await fresh());
      const limits: TenantLimits = { ...NO_LIMITS, messages: [{ limit: 10, windowMs: MIN }], perSender: [{ limit: 1, windowMs: MIN }] };
      expect((await store.checkMail(mail(a, 'one@a.test', T0, limits))).kind).toBe('ok');
      // the sender bucket is full: these must not use up the tenant's messages
      for (let i = 0; i < 20; i++) expect((await store.checkMail(mail(a, 'one@a.test', T0, limits))).kind).toBe('rate-limited');
      for (let i = 0; i < 9; i++) expect((await store.checkMail(mail(a, `s${i}@a.test`, T0, limits))).kind).toBe('ok');
      expect(await store.checkMail(mail(a, 'last@a.test', T0, limits))).toMatchObject({ kind: 'rate-limited', bucket: 'messages/1m' });
    });

    it('the null sender has its own stricter bucket', async () => {
      const a = (await fresh());
      const limits: TenantLimits = { ...NO_LIMITS, nullSender: [{ limit: 1, windowMs: MIN }], perSender: [{ limit: 100, windowMs: MIN }] };
      expect((await store.checkMail(mail(a, null, T0, limits))).kind).toBe('ok');
      expect(await store.checkMail(mail(a, null, T0, limits))).toMatchObject({ kind: 'rate-limited', bucket: 'null-sender/1m' });
      expect((await store.checkMail(mail(a, 'x@a.test', T0, limits))).kind).toBe('ok');
    });

    it('recipients are limited per tenant and per recipient domain', async () => {
      const a = (await fresh());
      const limits: TenantLimits = { ...NO_LIMITS, perRecipientDomain: [{ limit: 2, windowMs: MIN }] };
      expect((await store.checkRecipient(rcpt(a, 'R1', T0, limits, 'big.example'))).kind).toBe('ok');
      expect((await store.checkRecipient(rcpt(a, 'R2', T0, limits, 'big.example'))).kind).toBe('ok');
      expect(await store.checkRecipient(rcpt(a, 'R3', T0, limits, 'big.example'))).toMatchObject({ kind: 'rate-limited', bucket: 'recipient-domain/1m' });
      expect((await store.checkRecipient(rcpt(a, 'R3', T0, limits, 'small.example'))).kind).toBe('ok');
    });

    it('keeps feedback records per tenant and for review, once per report, newest first', async () => {
      const a = (await fresh());
      const b = (await fresh());
      const rec = (id: string, sha: string, tenant: string | undefined, at: number): FeedbackRecord => ({
        id,
        receivedAt: at,
        via: 'smtp',
        kind: 'complaint',
        outcome: tenant ? 'applied' : 'unattributed',
        attribution: tenant ? 'verified' : 'missing',
        ...(tenant ? { tenant } : {}),
        feedbackTypes: ['abuse'],
        bounces: [],
        counts: { complaints: 1, unsubscribes: 0, hardBounces: 0, softBounces: 0, policyBounces: 0, other: 0, suppressed: 1 },
        notes: [],
        sha256: sha,
        sealedReport: 'sealed',
        truncated: false,
      });
      expect(await store.addFeedbackReport(rec(`F1${a}`, `sha-${a}-1`, a, T0))).toBe(true);
      expect(await store.addFeedbackReport(rec(`F2${a}`, `sha-${a}-2`, a, T0 + 1000))).toBe(true);
      // the same report again is not kept twice
      expect(await store.addFeedbackReport(rec(`F3${a}`, `sha-${a}-1`, a, T0 + 2000))).toBe(false);
      // the same report may be kept for another tenant, and for review
      expect(await store.addFeedbackReport(rec(`F1${b}`, `sha-${a}-1`, b, T0))).toBe(true);
      expect(await store.addFeedbackReport(rec(`R1${a}`, `sha-${a}-1`, undefined, T0))).toBe(true);

      expect((await store.listFeedbackReports(a)).map((r) => r.id)).toEqual([`F2${a}`, `F1${a}`]);
      expect((await store.listFeedbackReports(a, { limit: 1 })).map((r) => r.id)).toEqual([`F2${a}`]);
      // the next page: older than the last one seen
      expect((await store.listFeedbackReports(a, { limit: 1, before: `F2${a}` })).map((r) => r.id)).toEqual([`F1${a}`]);
      expect(await store.listFeedbackReports(a, { limit: 1, before: `F1${a}` })).toEqual([]);
      expect((await store.listFeedbackReports(b)).map((r) => r.id)).toEqual([`F1${b}`]);
      expect((await store.listFeedbackReports(REVIEW)).map((r) => r.id)).toContain(`R1${a}`);
      expect((await store.findFeedbackReport(a, `sha-${a}-1`))?.id).toBe(`F1${a}`);
      expect(await store.findFeedbackReport(a, 'no-such-sha')).toBeNull();
      expect((await store.getFeedbackReport(a, `F2${a}`))?.counts.suppressed).toBe(1);
      // a tenant sees none of another tenant's records
      expect(await store.getFeedbackReport(b, `F2${a}`)).toBeNull();
      expect(await store.getFeedbackReport(a, `R1${a}`)).toBeNull();

      // an erasure removes the report itself, keeps its figures, and touches no other scope
      expect(await store.eraseFeedbackReport(a, `F1${a}`, T0 + 5000)).toBe(true);
      expect(await store.getFeedbackReport(a, `F1${a}`)).toMatchObject({ sealedReport: '', erasedAt: T0 + 5000, counts: { complaints: 1 } });
      expect((await store.getFeedbackReport(b, `F1${b}`))?.sealedReport).toBe('sealed');
      expect(await store.eraseFeedbackReport(b, `F2${a}`, T0)).toBe(false);
      // still a duplicate: the same report taken in again is not kept anew
      expect(await store.addFeedbackReport(rec(`F4${a}`, `sha-${a}-1`, a, T0 + 3000))).toBe(false);

      // a review record is decided once: the first decision stays, a second changes nothing
      const assigned = { action: 'assigned' as const, tenant: a, record: `F9${a}`, reason: 'ours after all', by: 'desk', at: T0 + 6000 };
      expect(await store.resolveReviewReport(`R1${a}`, assigned)).toMatchObject({ resolved: true, record: { id: `R1${a}`, resolution: assigned } });
      expect(await store.resolveReviewReport(`R1${a}`, { action: 'dismissed', reason: 'noise', by: 'other desk', at: T0 + 7000 })).toMatchObject({ resolved: false, record: { resolution: assigned } });
      expect((await store.getFeedbackReport(REVIEW, `R1${a}`))?.resolution).toEqual(assigned);
      // only review records, and only ones that exist
      expect(await store.resolveReviewReport(`F2${a}`, assigned)).toBeNull();
      expect(await store.resolveReviewReport('RNOSUCH', assigned)).toBeNull();
    });

    it('sums deliveries, complaints and hard bounces over rolling windows, per tenant and per sender domain', async () => {
      const a = (await fresh());
      const b = (await fresh());
      const H = 3_600_000;
      await store.countVolume(a, 'one.test', { delivered: 100 }, T0);
      await store.countVolume(a, 'one.test', { delivered: 50, complaints: 2 }, T0 + H);
      await store.countVolume(a, 'two.test', { delivered: 10, hardBounces: 1 }, T0 + H);
      await store.countVolume(a, null, { complaints: 1 }, T0 + H);
      await store.countVolume(a, 'one.test', { delivered: 1000, complaints: 5 }, T0 - 30 * H);
      await store.countVolume(b, 'one.test', { delivered: 7 }, T0);

      expect(await store.volumeTotals(a, null, 24, T0 + H)).toEqual({ delivered: 160, complaints: 3, hardBounces: 1 });
      expect(await store.volumeTotals(a, 'one.test', 24, T0 + H)).toEqual({ delivered: 150, complaints: 2, hardBounces: 0 });
      expect(await store.volumeTotals(a, 'two.test', 24, T0 + H)).toEqual({ delivered: 10, complaints: 0, hardBounces: 1 });
      expect(await store.volumeTotals(a, null, 168, T0 + H)).toEqual({ delivered: 1160, complaints: 8, hardBounces: 1 });
      // the window ends with the current hour: one hour back, the latest bucket is not in it
      expect(await store.volumeTotals(a, null, 1, T0)).toEqual({ delivered: 100, complaints: 0, hardBounces: 0 });
      expect(await store.volumeTotals(b, null, 24, T0 + H)).toEqual({ delivered: 7, complaints: 0, hardBounces: 0 });
    });

    it('claims a name once per tenant until it expires, by the caller\'s clock', async () => {
      const a = (await fresh());
      expect(await store.claimOnce(a, 'warn:complaints:24h', 60 * MIN, T0)).toBe(true);
      expect(await store.claimOnce(a, 'warn:complaints:24h', 60 * MIN, T0 + 59 * MIN)).toBe(false);
      expect(await store.claimOnce((await fresh()), 'warn:complaints:24h', 60 * MIN, T0)).toBe(true);
      expect(await store.claimOnce(a, 'warn:complaints:24h', 60 * MIN, T0 + 60 * MIN)).toBe(true);
      expect(await store.claimOnce(a, 'warn:complaints:24h', 60 * MIN, T0 + 61 * MIN)).toBe(false);
    });

    it('an expired suspension stops refusing and stays in the history', async () => {
      const a = (await fresh());
      await store.addSuspension(suspension({ id: 'S-exp', tenant: a, expiresAt: T0 + MIN }));
      expect(await store.checkMail(mail(a, 'x@a.test', T0))).toEqual({ kind: 'suspended', ref: 'S-exp' });
      expect(await store.checkMail(mail(a, 'x@a.test', T0 + MIN))).toEqual({ kind: 'ok' });
      await new Promise((r) => setTimeout(r, 20));
      expect(await store.checkMail(mail(a, 'x@a.test', T0 + 2 * MIN))).toEqual({ kind: 'ok' });
      expect(await store.listSuspensions(a, { now: T0 + 2 * MIN })).toEqual([]);
      expect((await store.listSuspensions(a, { includeLifted: true, now: T0 + 2 * MIN })).map((s) => s.id)).toEqual(['S-exp']);
      expect(await store.liftSuspension(a, 'S-exp', { at: T0 + 2 * MIN, by: 'desk', reason: 'late' })).toBe(false);
    });

    it('deletes everything of one tenant and nothing of another', async () => {
      const [a, b] = [(await fresh()), (await fresh())];
      for (const t of [a, b]) {
        await store.putTenant(tenant(t));
        await store.addSuspension(suspension({ id: `S-${t}`, tenant: t }));
        await store.addSuppressions(t, [{ pseudonym: `P-${t}`, reason: 'complaint', createdAt: T0 }]);
        await store.countVolume(t, 'x.test', { delivered: 5, complaints: 1 }, T0);
        await store.claimOnce(t, 'warn:x', 60_000, T0);
        await store.savePendingNotice(pending(t, `N-${t}`));
        await store.putApiToken({ id: `tok${t}`.slice(0, 10), role: 'tenant', tenant: t, secretHash: 'h', createdAt: T0, createdBy: 'test' });
        await store.addFeedbackReport({
          id: `F-${t}`, receivedAt: T0, via: 'smtp', kind: 'complaint', outcome: 'applied', attribution: 'verified', tenant: t, feedbackTypes: ['abuse'], bounces: [],
          counts: { complaints: 1, unsubscribes: 0, hardBounces: 0, softBounces: 0, policyBounces: 0, other: 0, suppressed: 1 }, notes: [], sha256: `sha-${t}`, sealedReport: 's', truncated: false,
        });
      }
      expect(await store.tenantsRemoved([a, b])).toEqual([]);
      const counts = await store.deleteTenantData(a);
      expect(await store.tenantsRemoved([a, b])).toEqual([a]);
      expect(counts.tenant).toBe(1);
      expect(counts.suppressions).toBe(1);
      expect(counts.tokens).toBe(1);
      expect(await store.getTenant(a)).toBeNull();
      expect(await store.listSuspensions(a, { includeLifted: true })).toEqual([]);
      expect(await store.countSuppressions(a)).toBe(0);
      expect(await store.listFeedbackReports(a)).toEqual([]);
      expect(await store.findFeedbackReport(a, `sha-${a}`)).toBeNull();
      expect(await store.volumeTotals(a, null, 24, T0)).toEqual({ delivered: 0, complaints: 0, hardBounces: 0 });
      expect((await store.listApiTokens()).some((t) => t.tenant === a)).toBe(false);
      expect(await store.claimOnce(a, 'warn:x', 60_000, T0)).toBe(true);
      expect((await store.listPendingNotices()).some((n) => n.tenant === a)).toBe(false);
      // the other tenant is untouched
      expect(await store.getTenant(b)).not.toBeNull();
      expect(await store.countSuppressions(b)).toBe(1);
      expect(await store.listFeedbackReports(b)).toHaveLength(1);
      expect((await store.volumeTotals(b, null, 24, T0)).delivered).toBe(5);
      expect((await store.listApiTokens()).some((t) => t.tenant === b)).toBe(true);
      expect((await store.listPendingNotices()).some((n) => n.tenant === b)).toBe(true);
    });

    it('an import is invisible while it is staged, and a failed one leaves the list as it was', async () => {
      const a = await fresh();
      await store.addSuppressions(a, [{ pseudonym: 'P-old', reason: 'complaint', source: 'feedback:F1', createdAt: T0 }]);
      const seen: string[] = [];
      async function* failing() {
        yield [{ pseudonym: 'P-new1', reason: 'import' as const, createdAt: T0 + 1 }, { pseudonym: 'P-old', reason: 'import' as const, createdAt: T0 + 1 }];
        seen.push((await store.checkRecipient(rcpt(a, 'P-new1'))).kind);
        yield [{ pseudonym: 'P-new2', reason: 'import' as const, createdAt: T0 + 1 }];
        throw new Error('line 3: not an email address');
      }
      await expect(store.importSuppressions(a, failing())).rejects.toThrow('line 3');
      expect(seen).toEqual(['ok']);
      expect(await store.checkRecipient(rcpt(a, 'P-new1'))).toEqual({ kind: 'ok' });
      expect(await store.getSuppression(a, 'P-old')).toMatchObject({ reason: 'complaint', source: 'feedback:F1' });
      expect(await store.countSuppressions(a)).toBe(1);
      const listed: string[] = [];
      for await (const e of store.listSuppressions(a)) listed.push(e.pseudonym);
      expect(listed).toEqual(['P-old']);
    });

    it('a streamed import becomes visible whole, replacing entries of the same pseudonym', async () => {
      const a = await fresh();
      await store.addSuppressions(a, [{ pseudonym: 'P-0', reason: 'complaint', createdAt: T0 }, { pseudonym: 'P-keep', reason: 'manual', createdAt: T0 }]);
      async function* batches() {
        for (let b = 0; b < 5; b++) yield Array.from({ length: 2500 }, (_, i) => ({ pseudonym: `P-${b * 2500 + i}`, reason: 'import' as const, createdAt: T0 + 1 }));
        yield [{ pseudonym: '5zPIdkL879rmICAE6NbtpQ', reason: 'import' as const, createdAt: T0 + 1 }, { pseudonym: 'ERWd_SFMZH2lSjGOBS_F6A', reason: 'import' as const, createdAt: T0 + 1 }];
      }
      expect(await store.importSuppressions(a, batches())).toBe(12_502);
      expect(await store.countSuppressions(a)).toBe(12_503);
      expect(await store.checkRecipient(rcpt(a, '5zPIdkL879rmICAE6NbtpQ'))).toEqual({ kind: 'suppressed' });
      expect(await store.checkRecipient(rcpt(a, 'P-12499'))).toEqual({ kind: 'suppressed' });
      expect(await store.getSuppression(a, 'P-0')).toMatchObject({ reason: 'import' });
      expect(await store.getSuppression(a, 'P-keep')).toMatchObject({ reason: 'manual' });
      const listed = new Set<string>();
      let n = 0;
      for await (const e of store.listSuppressions(a)) {
        listed.add(e.pseudonym);
        n++;
      }
      expect([n, listed.size]).toEqual([12_503, 12_503]);
      // an empty import changes nothing
      async function* none() {}
      expect(await store.importSuppressions(a, none())).toBe(0);
      expect(await store.countSuppressions(a)).toBe(12_503);
    });

    it('carries one identity, given once', async () => {
      expect(await store.getIdentity()).toEqual({ id: STORE_ID, createdAt: T0 });
      expect(await store.createIdentity({ id: 'another', createdAt: T0 + 1 })).toBe(false);
      expect(await store.getIdentity()).toEqual({ id: STORE_ID, createdAt: T0 });
      expect(await store.getLostIdentity()).toBeNull();
    });

    it('answers "lost", and charges nothing, to a question that knows the store by another identity', async () => {
      const a = await fresh();
      const one: TenantLimits = { ...NO_LIMITS, messages: [{ limit: 1, windowMs: 60 * MIN }], recipients: [{ limit: 1, windowMs: 60 * MIN }] };
      await store.addSuppressions(a, [{ pseudonym: 'P-lost', reason: 'complaint', createdAt: T0 }]);
      expect(await store.checkMail({ ...mail(a, 'x@a.test', T0, one), store: 'another' })).toEqual({ kind: 'lost' });
      expect(await store.checkRecipient({ ...rcpt(a, 'P-lost', T0, one), store: 'another' })).toEqual({ kind: 'lost' });
      expect(await store.checkRecipient({ ...rcpt(a, 'P-other', T0, one), store: 'another' })).toEqual({ kind: 'lost' });
      expect(await store.checkMail(mail(a, 'x@a.test', T0, one))).toEqual({ kind: 'ok' });
      expect(await store.checkRecipient(rcpt(a, 'P-other', T0, one))).toEqual({ kind: 'ok' });
      expect(await store.checkRecipient(rcpt(a, 'P-lost', T0, one))).toEqual({ kind: 'suppressed' });
    });

    it('says whether it keeps its state on disk', async () => {
      const d = await store.durability();
      expect([true, false, null]).toContain(d.persistent);
      expect(d.detail).not.toBe('');
    });

    it('keeps notice deliveries on their way until they are dropped', async () => {
      const [a, b] = [(await fresh()), (await fresh())];
      for (const t of [a, b]) await store.putTenant(tenant(t));
      await store.savePendingNotice(pending(a, 'D1'));
      await store.savePendingNotice(pending(a, 'D2'));
      await store.savePendingNotice(pending(b, 'D1'));
      // an update replaces
      await store.savePendingNotice({ ...pending(a, 'D1'), attempts: 2, leaseUntil: T0 + 60_000 });
      const mine = (t: string) => store.listPendingNotices().then((all) => all.filter((n) => n.tenant === t).sort((x, y) => x.id.localeCompare(y.id)));
      expect((await mine(a)).map((n) => [n.id, n.attempts, n.leaseUntil])).toEqual([['D1', 2, T0 + 60_000], ['D2', 0, T0]]);
      expect((await mine(a))[0]).toMatchObject({ notice: pending(a, 'D1').notice });
      // a DSN on its way is kept the same way
      await store.savePendingNotice({ id: 'N1', tenant: a, channel: 'dsn', session: 's1', sealed: 'sealed-dsn', attempts: 1, leaseUntil: T0 });
      expect((await mine(a)).find((n) => n.id === 'N1')).toEqual({ id: 'N1', tenant: a, channel: 'dsn', session: 's1', sealed: 'sealed-dsn', attempts: 1, leaseUntil: T0 });
      await store.dropPendingNotice(a, 'N1');
      await store.dropPendingNotice(a, 'D1');
      expect((await mine(a)).map((n) => n.id)).toEqual(['D2']);
      // the same id of another tenant is another delivery
      expect((await mine(b)).map((n) => n.id)).toEqual(['D1']);
    });

    // last: it loses the store
    it('a backup taken before the store lost its state restores it whole, identity last; a lost store creates nothing', async () => {
      const a = await fresh();
      await store.addSuspension(suspension({ id: 'S-keep', tenant: a, scope: 'domain', value: 'keep.test' }));
      await store.addSuspension(suspension({ id: 'S-gone', tenant: a }));
      await store.liftSuspension(a, 'S-gone', { at: T0 + 1, by: 'desk', reason: 'paid' });
      await store.addSuppressions(a, [
        { pseudonym: 'P-keep', sealed: 'sealed-address', reason: 'complaint', source: 'feedback:F1', createdAt: T0 },
        { pseudonym: 'P-until', reason: 'manual', createdAt: T0, expiresAt: T0 + 60 * MIN },
        // pseudonyms as they really look: base64url, some opening with a digit
        { pseudonym: 'ERWd_SFMZH2lSjGOBS_F6A', reason: 'manual', createdAt: T0 },
        { pseudonym: '5zPIdkL879rmICAE6NbtpQ', reason: 'manual', createdAt: T0 },
      ]);
      await store.countVolume(a, 'keep.test', { delivered: 7, complaints: 2 }, T0);
      await store.savePendingNotice(pending(a, 'D-keep'));
      await store.putApiToken({ id: 'tokkeep000', role: 'tenant', tenant: a, secretHash: 'h', createdAt: T0, createdBy: 'test' });
      const report: FeedbackRecord = {
        id: `F-keep`, receivedAt: T0, via: 'smtp', kind: 'complaint', outcome: 'applied', attribution: 'verified', tenant: a, feedbackTypes: ['abuse'], bounces: [],
        counts: { complaints: 1, unsubscribes: 0, hardBounces: 0, softBounces: 0, policyBounces: 0, other: 0, suppressed: 1 }, notes: [], sha256: 'sha-keep', sealedReport: 's', truncated: false,
      };
      await store.addFeedbackReport(report);
      await store.addFeedbackReport({ ...report, id: 'F-review', tenant: undefined, attribution: 'unknown-tenant', sha256: 'sha-review' });
      const tenantsBefore = (await store.listTenants()).map((t) => t.id).sort();
      const suppressionsBefore = await store.countSuppressions(a);

      const backup: BackupItem[] = [];
      for await (const item of store.backup(T0)) backup.push(JSON.parse(JSON.stringify(item)) as BackupItem);
      const identity = (await store.getIdentity())!;

      store = await lose(store);
      expect(await store.getIdentity()).toBeNull();
      await store.reportLostIdentity(STORE_ID);
      await store.reportLostIdentity('a later report');
      expect(await store.getLostIdentity()).toBe(STORE_ID);
      // a lost store answers nothing as if it were the store known, and takes no tenant
      expect(await store.checkMail(mail(a, 'x@keep.test'))).toEqual({ kind: 'lost' });
      expect(await store.checkRecipient(rcpt(a, 'P-keep'))).toEqual({ kind: 'lost' });
      await expect(store.putTenant(tenant('newcomer'))).rejects.toBeInstanceOf(StoreIdentityMissingError);
      expect(await store.listTenants()).toEqual([]);

      async function* items() {
        yield* backup;
      }
      const counts = await store.restore(identity, items());
      expect(counts.tenants).toBe(tenantsBefore.length);
      expect(await store.getIdentity()).toEqual(identity);
      expect(await store.getLostIdentity()).toBeNull();
      expect((await store.listTenants()).map((t) => t.id).sort()).toEqual(tenantsBefore);
      expect(await store.checkMail(mail(a, 'x@keep.test'))).toEqual({ kind: 'suspended', ref: 'S-keep' });
      expect(await store.checkMail(mail(a, 'x@other.test'))).toEqual({ kind: 'ok' });
      expect(await store.checkRecipient(rcpt(a, 'P-keep'))).toEqual({ kind: 'suppressed' });
      expect(await store.checkRecipient(rcpt(a, '5zPIdkL879rmICAE6NbtpQ'))).toEqual({ kind: 'suppressed' });
      expect(await store.checkRecipient(rcpt(a, 'ERWd_SFMZH2lSjGOBS_F6A'))).toEqual({ kind: 'suppressed' });
      expect(await store.checkRecipient(rcpt(a, 'P-until', T0 + 60 * MIN))).toEqual({ kind: 'ok' });
      expect(await store.getSuppression(a, 'P-keep')).toEqual({ pseudonym: 'P-keep', sealed: 'sealed-address', reason: 'complaint', source: 'feedback:F1', createdAt: T0 });
      expect(await store.countSuppressions(a)).toBe(suppressionsBefore);
      expect((await store.listSuspensions(a, { includeLifted: true, now: T0 })).map((s) => [s.id, Boolean(s.lifted)]).sort()).toEqual([['S-gone', true], ['S-keep', false]]);
      expect(await store.volumeTotals(a, 'keep.test', 24, T0)).toEqual({ delivered: 7, complaints: 2, hardBounces: 0 });
      expect((await store.listPendingNotices()).filter((n) => n.tenant === a).map((n) => n.id)).toEqual(['D-keep']);
      expect((await store.getApiToken('tokkeep000'))?.tenant).toBe(a);
      expect((await store.getFeedbackReport(a, 'F-keep'))?.sha256).toBe('sha-keep');
      expect((await store.findFeedbackReport(REVIEW, 'sha-review'))?.id).toBe('F-review');
      expect(await store.addFeedbackReport(report)).toBe(false);
      // one restore only: the store has an identity again
      await expect(store.restore(identity, items())).rejects.toBeInstanceOf(StoreNotEmptyError);
      await store.putTenant(tenant('newcomer'));
    });
  });
}

/** A Redis store losing its state: every master flushed, as a restart without persistence leaves it. */
export async function flushed(store: Store): Promise<Store> {
  const client = (store as RedisStore).client;
  for (const node of client instanceof Cluster ? client.nodes('master') : [client]) await node.flushall();
  return store;
}

function pending(tenant: string, id: string): PendingContactNotice {
  return {
    id,
    tenant,
    channel: 'webhook',
    who: 'abuse-desk',
    target: 'https://desk.example/hook',
    notice: { event: 'suspension.automatic', tenant, at: T0, summary: `${tenant}: suspended`, details: { complaints: 3, delivered: 20 } },
    attempts: 0,
    leaseUntil: T0,
  };
}
