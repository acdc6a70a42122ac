// The admin HTTP API with real tokens over a real socket: who may do what, precise errors
// for bad input, and an audit line for every request, allowed or not.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession, sendMail } from '../helpers/client.js';
import { arf } from '../helpers/reports.js';
import { newToken } from '../../src/admin/tokens.js';
import type { Role } from '../../src/admin/schemas.js';

describe('admin API', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let base: string;
  const tokens: Record<string, string> = {};

  async function mint(name: string, role: Role, extra: { tenant?: string; expiresAt?: number; revokedAt?: number } = {}): Promise<string> {
    const { record, token } = newToken({ role, ...extra, name, createdAt: Date.now(), createdBy: 'test' });
    await relay.store.putApiToken(record);
    return token;
  }

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port));
    base = `http://127.0.0.1:${relay.adminApi!.port}/api/v1`;
    tokens.operator = await mint('ops', 'operator');
    tokens.desk = await mint('desk', 'abuse-desk');
    tokens.acme = await mint('acme-portal', 'tenant', { tenant: 'acme' });
    tokens.expired = await mint('old', 'operator', { expiresAt: Date.now() - 1000 });
    tokens.revoked = await mint('gone', 'operator', { revokedAt: Date.now() - 1000 });
  });
  afterAll(async () => {
    if (process.env.DUMP) console.log(relay.logs.filter((l) => l.includes('admin')).join('\n'));
    await relay?.close();
    await upstream?.close();
  });

  async function call(method: string, path: string, token: string | null, body?: unknown, contentType = 'application/json') {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json, text, requestId: res.headers.get('x-request-id'), nextCursor: res.headers.get('mailwarden-next-cursor') };
  }

  function audit(): Array<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return readFileSync(relay.config.admin.auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  }

  it('401 for a missing, malformed, unknown, expired or revoked token; each audited', async () => {
    const fake = 'mwt_0123456789_' + 'A'.repeat(43);
    for (const t of [null, 'not-a-token', fake, tokens.expired!, tokens.revoked!]) {
      const r = await call('GET', '/tenants', t);
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('UNAUTHENTICATED');
      expect(audit().find((a) => a.requestId === r.requestId)).toMatchObject({ outcome: 'denied', action: 'tenant.list', role: 'none' });
    }
    expect((await call('GET', '/tenants', tokens.expired!)).json.error.message).toBe('the token is expired');
  });

  it('a tenant token sees only its own tenant: others answer 404, suspending answers 403', async () => {
    const own = await call('GET', '/tenants', tokens.acme!);
    expect(own.status).toBe(200);
    expect(own.json.tenants.map((t: { id: string }) => t.id)).toEqual(['acme']);
    for (const [method, path, body] of [
      ['GET', '/tenants/globex', undefined],
      ['GET', '/tenants/globex/suppressions', undefined],
      ['POST', '/tenants/globex/suppressions', { entries: [{ address: 'x@example.org' }] }],
      ['GET', '/tenants/globex/suspensions', undefined],
      ['GET', '/tenants/nosuch', undefined],
    ] as const) {
      const r = await call(method, path, tokens.acme!, body);
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe('NOT_FOUND');
      expect(audit().find((x) => x.requestId === r.requestId)).toMatchObject({ role: 'tenant', outcome: 'denied' });
    }
    const suspend = await call('POST', '/tenants/acme/suspensions', tokens.acme!, { scope: 'tenant', reason: 'me' });
    expect(suspend.status).toBe(403);
    expect(audit().find((a) => a.requestId === suspend.requestId)).toMatchObject({ outcome: 'denied', role: 'tenant', tenant: 'acme', action: 'suspension.create' });
    expect((await call('POST', '/feedback', tokens.acme!, 'x', 'message/rfc822')).status).toBe(403);
    expect(await relay.store.listSuspensions('acme')).toEqual([]);
  });

  it('400 naming the field for malformed bodies, and nothing changes', async () => {
    const noReason = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'domain' });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['reason', 'value']);
    const badScope = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'planet', reason: 'x' });
    expect(badScope.json.error.problems[0].field).toBe('scope');
    const extra = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'tenant', reason: 'x', colour: 'red' });
    expect(extra.status).toBe(400);
    expect(extra.json.error.message).toContain('colour');
    const notJson = await call('POST', '/tenants/acme/suspensions', tokens.desk!, '{scope:');
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.problems).toEqual([{ field: '(body)', message: 'not valid JSON' }]);
    const badAddress = await call('POST', '/tenants/acme/suppressions', tokens.acme!, { entries: [{ address: 'good@example.org' }, { address: 'not an address' }] });
    expect(badAddress.status).toBe(400);
    expect(badAddress.json.error.problems).toEqual([{ field: 'entries.1', message: 'entry 2: not an email address' }]);
    expect(await relay.store.countSuppressions('acme')).toBe(0);
    expect(await relay.store.listSuspensions('acme')).toEqual([]);
    expect(audit().find((a) => a.requestId === noReason.requestId)).toMatchObject({ outcome: 'invalid', action: 'suspension.create' });
  });

  it('a domain or sender outside the tenant\'s sender domains is suspended only when forced', async () => {
    const typo = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'domain', value: 'acme.tset', reason: 'typo' });
    expect(typo.status).toBe(400);
    expect(typo.json.error.problems).toEqual([expect.objectContaining({ field: 'value', message: expect.stringContaining("acme.tset is not one of acme's sender domains") })]);
    const sender = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'sender', value: 'someone@elsewhere.example', reason: 'typo' });
    expect(sender.status).toBe(400);
    expect(await relay.store.listSuspensions('acme')).toEqual([]);
    const forced = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'domain', value: 'acme.tset', reason: 'on purpose', force: true });
    expect(forced.status).toBe(201);
    const own = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'sender', value: 'bob@acme.test', reason: 'compromised' });
    expect(own.status).toBe(201);
    for (const s of [forced, own]) expect((await call('POST', `/tenants/acme/suspensions/${s.json.id}/lift`, tokens.desk!, { reason: 'test over' })).status).toBe(200);
  });

  it('control characters in free text are refused, each field named, and nothing changes', async () => {
    const suspension = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'sender', value: 'bob@acme.test\r\nX', reason: 'spam\r\nInjected: line', ticket: 'T-1\u0000' });
    expect(suspension.status).toBe(400);
    expect(suspension.json.error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['reason', 'ticket', 'value']);
    const suppression = await call('POST', '/tenants/acme/suppressions', tokens.acme!, { entries: [{ address: 'ok@example.org', source: 'crm\nexport' }] });
    expect(suppression.status).toBe(400);
    expect(suppression.json.error.problems).toEqual([expect.objectContaining({ field: 'entries.0.source' })]);
    // a value that is no domain: the field is named too
    const badValue = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'domain', value: 'not a domain!', reason: 'x' });
    expect(badValue.status).toBe(400);
    expect(badValue.json.error.problems).toEqual([expect.objectContaining({ field: 'value' })]);
    expect(await relay.store.countSuppressions('acme')).toBe(0);
    expect(await relay.store.listSuspensions('acme')).toEqual([]);
  });

  it('the abuse desk suspends and lifts with a reason; both are audited with it', async () => {
    const created = await call('POST', '/tenants/acme/suspensions', tokens.desk!, { scope: 'domain', value: 'acme.test', reason: 'phishing run', ticket: 'AB-9' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ tenant: 'acme', scope: 'domain', value: 'acme.test', reason: 'phishing run', actor: expect.stringMatching(/^token:\w+ \(desk\)$/), source: 'manual' });
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^550 5\.7\.1 /);
    s.destroy();
    const listed = await call('GET', '/tenants/acme/suspensions', tokens.acme!);
    expect(listed.json.suspensions).toHaveLength(1);

    const id = created.json.id as string;
    const noReason = await call('POST', `/tenants/acme/suspensions/${id}/lift`, tokens.desk!, {});
    expect(noReason.status).toBe(400);
    expect(noReason.json.error.problems[0].field).toBe('reason');
    const lifted = await call('POST', `/tenants/acme/suspensions/${id}/lift`, tokens.desk!, { reason: 'domain cleaned' });
    expect(lifted.status).toBe(200);
    expect(lifted.json.lifted).toMatchObject({ reason: 'domain cleaned' });
    const again = await call('POST', `/tenants/acme/suspensions/${id}/lift`, tokens.desk!, { reason: 'twice' });
    expect(again.status).toBe(404);
    const entries = audit();
    expect(entries.find((a) => a.requestId === created.requestId)).toMatchObject({ action: 'suspension.create', outcome: 'ok', reason: 'phishing run', tenant: 'acme', role: 'abuse-desk', via: 'http' });
    expect(entries.find((a) => a.requestId === lifted.requestId)).toMatchObject({ action: 'suspension.lift', outcome: 'ok', reason: 'domain cleaned', detail: { suspension: id } });
  });

  it('a tenant manages its own suppression list; listings never show addresses, the export does', async () => {
    const added = await call('POST', '/tenants/acme/suppressions', tokens.acme!, { entries: [{ address: 'Former@Customer.example', reason: 'unsubscribe', source: 'portal' }, { address: 'b@customer.example' }] });
    expect(added.status).toBe(201);
    expect(added.json).toEqual({ added: 2 });
    const list = await call('GET', '/tenants/acme/suppressions?limit=1', tokens.acme!);
    expect(list.json.entries).toHaveLength(1);
    expect(list.text).not.toContain('@');
    const page2 = await call('GET', `/tenants/acme/suppressions?limit=1&after=${list.json.next}`, tokens.acme!);
    expect(page2.json.entries[0].pseudonym).not.toBe(list.json.entries[0].pseudonym);
    const csv = await call('GET', '/tenants/acme/suppressions/export', tokens.acme!);
    expect(csv.text).toMatch(/Former@customer\.example,unsubscribe,portal,/);
    const removed = await call('POST', '/tenants/acme/suppressions/remove', tokens.acme!, { address: 'b@customer.example' });
    expect(removed.json).toEqual({ removed: true });
    expect(await relay.store.countSuppressions('acme')).toBe(1);
    expect((await call('GET', '/tenants/acme/suppressions?limit=0', tokens.acme!)).json.error.problems[0].field).toBe('limit');
  });

  it('tenants come with volumes and rates; reports can be posted; garbage answers 422', async () => {
    const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['reader@example.org'], message: 'From: alice@acme.test\r\nTo: reader@example.org\r\nSubject: hi\r\n\r\nHello.\r\n' });
    expect(sent.ok).toBe(true);
    // deliveries reach the store within a second
    await new Promise((r) => setTimeout(r, 1200));
    const posted = await call('POST', '/feedback', tokens.desk!, arf(upstream.messages.at(-1)!.raw), 'message/rfc822');
    expect(posted.status).toBe(200);
    expect(posted.json.records[0]).toMatchObject({ tenant: 'acme', outcome: 'applied', kind: 'complaint', duplicate: false });
    expect(posted.text).not.toContain('reader@');
    const tenant = await call('GET', '/tenants/acme', tokens.operator!);
    expect(tenant.json.volume['24h']).toMatchObject({ delivered: 1, complaints: 1, complaintRate: null });
    expect(tenant.json.suppressions).toBe(2);
    const all = await call('GET', '/tenants', tokens.operator!);
    expect(all.json.tenants.map((t: { id: string }) => t.id).sort()).toEqual(['acme', 'globex']);
    const reports = await call('GET', '/feedback?tenant=acme', tokens.desk!);
    expect(reports.json.reports[0].id).toBe(posted.json.records[0].id);
    const garbage = await call('POST', '/feedback', tokens.desk!, 'Subject: hi\r\n\r\nhello\r\n', 'message/rfc822');
    expect(garbage.status).toBe(422);
    expect(garbage.json.error.code).toBe('NOT_A_REPORT');
  });

  it('a tenant looks up one of its addresses and reads its own accounting records a page at a time; never another tenant\'s', async () => {
    const to = ['page-1@example.org', 'page-2@example.org', 'page-3@example.org'];
    const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to, message: 'From: alice@acme.test\r\nMessage-ID: <paged@acme.test>\r\nSubject: s\r\n\r\nb\r\n' });
    expect(sent.ok).toBe(true);

    // one address, in the body: suppressed (why, since when), or only "no"
    expect((await call('POST', '/tenants/acme/suppressions', tokens.acme!, { entries: [{ address: 'looked-up@example.org', reason: 'manual', source: 'helpdesk' }] })).status).toBe(201);
    const yes = await call('POST', '/tenants/acme/suppressions/lookup', tokens.acme!, { address: 'Looked-Up@Example.org' });
    expect(yes.status).toBe(200);
    expect(yes.json).toEqual({ suppressed: true, reason: 'manual', source: 'helpdesk', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect((await call('POST', '/tenants/acme/suppressions/lookup', tokens.acme!, { address: 'never-seen@example.org' })).json).toEqual({ suppressed: false });
    expect((await call('POST', '/tenants/globex/suppressions/lookup', tokens.acme!, { address: 'looked-up@example.org' })).status).toBe(404);
    expect((await call('POST', '/tenants/acme/suppressions/lookup', tokens.acme!, { address: 'not an address' })).json.error.problems).toEqual([{ field: 'address', message: 'address: not an email address' }]);

    // its own records, a page at a time; the first page has the relay's latest records
    const first = await call('POST', '/tenants/acme/accounting/query', tokens.acme!, { messageId: '<paged@acme.test>', limit: 2 });
    expect(first.status).toBe(200);
    expect(first.json.records).toHaveLength(2);
    expect(first.json.next).toEqual(expect.any(String));
    const second = await call('POST', '/tenants/acme/accounting/query', tokens.acme!, { messageId: '<paged@acme.test>', limit: 2, cursor: first.json.next });
    expect(second.json).toEqual({ records: [expect.objectContaining({ type: 'relayed', tenant: 'acme' })], next: null });
    const all = [...first.json.records, ...second.json.records] as Array<{ recipient: { p: string } }>;
    expect(new Set(all.map((r) => r.recipient.p)).size).toBe(3);
    // by address: pseudonyms in the answer, never the address
    const one = await call('POST', '/tenants/acme/accounting/query', tokens.acme!, { address: 'page-2@example.org' });
    expect(one.json.records).toEqual([expect.objectContaining({ type: 'relayed', messageId: '<paged@acme.test>' })]);
    expect(one.text).not.toContain('page-2@');
    // PowerMTA-style CSV; the cursor in a header
    const csv = await call('POST', '/tenants/acme/accounting/query', tokens.acme!, { messageId: '<paged@acme.test>', format: 'csv', limit: 2 });
    expect(csv.text.split('\n')[0]).toBe('type,timeLogged,orig,origDomain,rcpt,rcptDomain,dsnAction,dsnStatus,dsnDiag,bodySize,msgId,jobId,reason');
    expect(csv.text.trim().split('\n').slice(1).map((l) => l.split(',')[0])).toEqual(['d', 'd']);
    expect(csv.nextCursor).toBe(first.json.next);
    // precise errors, and no other tenant's records
    const bad = await call('POST', '/tenants/acme/accounting/query', tokens.acme!, { cursor: 'bm90LWEtY3Vyc29y', limit: 0, format: 'xml' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['format', 'limit']);
    expect((await call('POST', '/tenants/acme/accounting/query', tokens.acme!, { cursor: 'bm90LWEtY3Vyc29y' })).json.error.problems).toEqual([{ field: 'cursor', message: 'not a next cursor of an earlier answer' }]);
    expect((await call('POST', '/tenants/globex/accounting/query', tokens.acme!, {})).status).toBe(404);
    expect((await call('POST', '/tenants/globex/accounting/query', tokens.desk!, {})).status).toBe(200);
  });

  it('every list is paged: tenants by id, reports newest first, with a next cursor', async () => {
    const first = await call('GET', '/tenants?limit=1', tokens.operator!);
    expect(first.json.tenants.map((t: { id: string }) => t.id)).toEqual(['acme']);
    expect(first.json.next).toBe('acme');
    const rest = await call('GET', `/tenants?after=${first.json.next}`, tokens.operator!);
    expect(rest.json.tenants.map((t: { id: string }) => t.id)).not.toContain('acme');
    expect(rest.json.next).toBeNull();

    // two more reports about acme's mail
    for (const rcpt of ['pager-1@example.org', 'pager-2@example.org']) {
      expect((await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: [rcpt], message: `From: alice@acme.test\r\nTo: ${rcpt}\r\nSubject: hi\r\n\r\nHello.\r\n` })).ok).toBe(true);
      expect((await call('POST', '/feedback', tokens.desk!, arf(upstream.messages.at(-1)!.raw), 'message/rfc822')).status).toBe(200);
    }
    const all = (await call('GET', '/feedback?tenant=acme&limit=1000', tokens.desk!)).json.reports.map((r: { id: string }) => r.id);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const page = await call('GET', `/tenants/acme/feedback?limit=1${before ? `&before=${before}` : ''}`, tokens.acme!);
      seen.push(...page.json.reports.map((r: { id: string }) => r.id));
      before = page.json.next;
    } while (before !== null && seen.length < 100);
    expect(seen).toEqual(all);
    expect((await call('GET', '/feedback?tenant=acme&before=not%20an%20id', tokens.desk!)).json.error.problems).toEqual([{ field: 'before', message: 'a report id' }]);
  });

  it('a tenant reads its own reports, rotates its SMTP password and its API token', async () => {
    // its reports: what each says about its mail, not the provider's notes; no other tenant's
    const own = await call('GET', '/tenants/acme/feedback', tokens.acme!);
    expect(own.status).toBe(200);
    expect(own.json.reports.length).toBeGreaterThan(0);
    for (const r of own.json.reports) {
      expect(r).toMatchObject({ id: expect.any(String), kind: expect.any(String), counts: expect.any(Object) });
      expect(r).not.toHaveProperty('notes');
      expect(r).not.toHaveProperty('via');
    }
    expect((await call('GET', '/tenants/acme/feedback', tokens.desk!)).json.reports[0]).toHaveProperty('notes');
    expect((await call('GET', '/tenants/globex/feedback', tokens.acme!)).status).toBe(404);
    expect((await call('GET', '/tenants/acme/feedback?limit=0', tokens.acme!)).json.error.problems).toEqual([{ field: 'limit', message: 'from 1 to 1000' }]);

    // a new SMTP password, shown once: the old one stops working at once
    const rotated = await call('POST', '/tenants/acme/password/rotate', tokens.acme!);
    expect(rotated.status).toBe(200);
    expect(rotated.json).toEqual({ username: 'acme', password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
    const old = await authedSession(relay.port, 'acme', ACME_PASSWORD).then(() => 'accepted', (err: Error) => err.message);
    expect(old).toMatch(/535 5\.7\.8/);
    const fresh = await authedSession(relay.port, 'acme', rotated.json.password);
    expect(await fresh.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    fresh.destroy();
    expect((await call('POST', '/tenants/globex/password/rotate', tokens.acme!)).status).toBe(404);
    expect(readFileSync(relay.config.admin.auditLog, 'utf8')).not.toContain(rotated.json.password);

    // its own API token, replaced: the old one is revoked, the new one has the same role and tenant
    const replaced = await call('POST', '/tokens/rotate', tokens.acme!);
    expect(replaced.status).toBe(201);
    // the old token had no expiry, so neither has the new one
    expect(replaced.json).toEqual({ id: expect.any(String), token: expect.stringMatching(/^mwt_/) });
    expect((await call('GET', '/tenants/acme', tokens.acme!)).status).toBe(401);
    expect((await call('GET', '/tenants/acme', replaced.json.token)).status).toBe(200);
    expect((await call('GET', '/tenants/globex', replaced.json.token)).status).toBe(404);
    tokens.acme = replaced.json.token;
  });

  it('rates per sender domain, and boolean parameters that are true, false or refused by name', async () => {
    const tenant = await call('GET', '/tenants/acme', tokens.desk!);
    expect(Object.keys(tenant.json.domainVolume).sort()).toEqual(['acme.test', 'xn--bcher-kva.example']);
    const acme = tenant.json.domainVolume['acme.test'];
    expect(Object.keys(acme).sort()).toEqual(Object.keys(tenant.json.volume).sort());
    // every delivery of the tenant so far was from acme.test
    for (const w of Object.keys(acme)) expect(acme[w].delivered).toBe(tenant.json.volume[w].delivered);
    expect(tenant.json.domainVolume['xn--bcher-kva.example']['24h']).toMatchObject({ delivered: 0, complaintRate: null });
    for (const [path, name] of [['/tenants/acme/suspensions?all=yes', 'all'], ['/feedback?review=1', 'review']] as const) {
      const bad = await call('GET', path, tokens.desk!);
      expect(bad.status).toBe(400);
      expect(bad.json.error.problems).toEqual([{ field: name, message: 'true or false' }]);
    }
    expect((await call('GET', '/tenants/acme/suspensions?all=false', tokens.desk!)).status).toBe(200);
  });

  it('the session names the token; rates over time come every 6 hours against the lines; a report reads by id', async () => {
    const session = await call('GET', '/session', tokens.acme!);
    expect(session.json).toMatchObject({ role: 'tenant', tenant: 'acme', name: 'acme-portal', rates: { windows: ['24h', '7d'], thresholds: { complaintRate: { warn: 0.001, suspend: 0.003 } } } });
    const rates = await call('GET', '/tenants/acme/rates?days=2', tokens.acme!);
    expect(rates.status).toBe(200);
    // 2 days of 6-hour steps, both ends included; the last ends now and counts what acme sent
    expect(rates.json.points).toHaveLength(9);
    const now = rates.json.points.at(-1);
    expect(Date.now() - Date.parse(now.at)).toBeLessThan(60_000);
    expect(now.delivered).toBe((await call('GET', '/tenants/acme', tokens.acme!)).json.volume['24h'].delivered);
    expect(rates.json.thresholds.hardBounceRate).toEqual({ warn: 0.05, suspend: 0.1 });
    for (const [query, field] of [['days=8', 'days'], ['days=x', 'days'], ['domain=globex.test', 'domain']] as const) {
      const bad = await call('GET', `/tenants/acme/rates?${query}`, tokens.acme!);
      expect(bad.status, query).toBe(400);
      expect(bad.json.error.problems[0].field).toBe(field);
    }
    expect((await call('GET', '/tenants/globex/rates', tokens.acme!)).status).toBe(404);
    const missing = await call('GET', '/tenants/acme/feedback/FNOSUCHREPORT1', tokens.acme!);
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NOT_FOUND');
  });

  it('operators make tenants and tokens through the API too; nobody else may', async () => {
    const made = await call('POST', '/tenants', tokens.operator!, { id: 'initech', username: 'initech', domains: ['initech.test'] });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ id: 'initech', domains: ['initech.test'], username: 'initech', password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
    // the relay takes the new tenant up at once: it logs in with the password it was given
    const s = await authedSession(relay.port, 'initech', made.json.password);
    expect(await s.command('MAIL FROM:<pm@initech.test>')).toMatch(/^250/);
    s.destroy();
    expect((await call('POST', '/tenants', tokens.operator!, { id: 'initech', username: 'initech-2', domains: ['initech.test'] })).json.error.message).toContain('exists already');
    expect((await call('POST', '/tenants', tokens.operator!, { id: 'Bad Id', domains: [] })).json.error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['domains', 'id']);
    expect((await call('POST', '/tenants', tokens.desk!, { id: 'other', domains: ['other.test'] })).status).toBe(403);
    // changed by an operator, taken up at once: a sender domain added
    expect((await call('PATCH', '/tenants/initech', tokens.operator!, { domains: ['initech.test', 'initrode.test'], limits: { messages: [{ limit: 5, per: 'minute' }] } })).json.domains).toEqual(['initech.test', 'initrode.test']);
    const moved = await authedSession(relay.port, 'initech', made.json.password);
    expect(await moved.command('MAIL FROM:<pm@initrode.test>')).toMatch(/^250/);
    moved.destroy();
    expect((await call('PATCH', '/tenants/initech', tokens.operator!, { domains: [] })).json.error.problems).toEqual([{ field: 'domains', message: 'a tenant needs at least one sender domain' }]);
    expect((await call('PATCH', '/tenants/initech', tokens.operator!, { username: 'x' })).json.error.problems).toEqual([{ field: 'username', message: 'unknown key' }]);
    expect((await call('PATCH', '/tenants/initech', tokens.desk!, { networks: [] })).status).toBe(403);

    const token = await call('POST', '/tokens', tokens.operator!, { role: 'tenant', tenant: 'initech', name: 'initech portal' });
    expect(token.status).toBe(201);
    expect(token.json).toMatchObject({ role: 'tenant', tenant: 'initech', name: 'initech portal', token: expect.stringMatching(/^mwt_/), expiresAt: expect.any(String) });
    expect(Date.parse(token.json.expiresAt) - Date.now()).toBeGreaterThan(89 * 86_400_000);
    expect((await call('GET', '/tenants/initech', token.json.token)).status).toBe(200);
    const listed = await call('GET', '/tokens', tokens.operator!);
    expect(listed.json.tokens.find((t: { id: string }) => t.id === token.json.id)).toMatchObject({ role: 'tenant', tenant: 'initech' });
    expect(listed.text).not.toMatch(/secretHash|mwt_/);
    expect((await call('POST', `/tokens/${token.json.id}/revoke`, tokens.operator!)).json).toMatchObject({ id: token.json.id, revokedAt: expect.any(String) });
    expect((await call('GET', '/tenants/initech', token.json.token)).status).toBe(401);
    expect((await call('POST', '/tokens', tokens.operator!, { role: 'tenant' })).json.error.problems).toEqual([{ field: 'tenant', message: 'tenant goes with role tenant, and only with it' }]);
    expect((await call('POST', '/tokens', tokens.desk!, { role: 'operator' })).status).toBe(403);
    expect((await call('GET', '/tokens', tokens.acme!)).status).toBe(403);
  });

  it('the audit trail, newest first, by tenant, actor and action, a page at a time; staff only', async () => {
    const lifts = await call('GET', '/audit?tenant=acme&action=suspension.lift', tokens.desk!);
    expect(lifts.status).toBe(200);
    expect(lifts.json.entries.length).toBeGreaterThan(0);
    for (const e of lifts.json.entries) expect(e).toMatchObject({ tenant: 'acme', action: 'suspension.lift', actor: expect.stringMatching(/^token:/), time: expect.any(String) });
    const first = await call('GET', '/audit?tenant=acme&limit=2', tokens.operator!);
    expect(first.json.entries).toHaveLength(2);
    expect(Date.parse(first.json.entries[0].time)).toBeGreaterThanOrEqual(Date.parse(first.json.entries[1].time));
    const second = await call('GET', `/audit?tenant=acme&limit=2&before=${first.json.next}`, tokens.operator!);
    expect(second.json.entries[0].seq).toBeLessThan(first.json.entries[1].seq);
    const byActor = await call('GET', `/audit?actor=${encodeURIComponent(first.json.entries[0].actor)}&limit=1000`, tokens.operator!);
    expect(byActor.json.entries.every((e: { actor: string }) => e.actor === first.json.entries[0].actor)).toBe(true);
    expect((await call('GET', '/audit', tokens.acme!)).status).toBe(403);
    expect((await call('GET', '/audit?before=x', tokens.desk!)).json.error.problems).toEqual([{ field: 'before', message: 'a line number' }]);
  });

  it('describes itself in OpenAPI, and the audit log holds no address', async () => {
    const doc = await call('GET', '/openapi.json', null);
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe('3.1.0');
    expect(Object.keys(doc.json.components.schemas).sort()).toEqual(['AccountingQueryRequest', 'Error', 'FeedbackRecord', 'LiftRequest', 'OffboardRequest', 'SubjectRequest', 'SuppressRequest', 'SuppressionEntry', 'SuppressionLookupRequest', 'SuspendRequest', 'Suspension', 'Tenant', 'TokenCreateRequest', 'UnsuppressRequest']);
    expect(doc.json.components.schemas.SuspendRequest.required).toEqual(['scope', 'reason']);
    expect(Object.keys(doc.json.paths)).toContain('/tenants/{tenant}/suspensions/{id}/lift');
    const text = readFileSync(relay.config.admin.auditLog, 'utf8');
    expect(text).not.toMatch(/[\w.-]+@[\w-]+\.(example|test)/i);
    expect(audit().length).toBeGreaterThan(25);
  });
  it('the review queue: a report is assigned to a tenant with a reason, once, or dismissed; both audited', async () => {
    const stray = (n: number) => arf(`From: someone@elsewhere.example\r\nTo: reader${n}@example.org\r\nSubject: stray\r\nMessage-ID: <stray-${n}@elsewhere.example>\r\n\r\nx\r\n`, { rcpt: `stray${n}@example.org` });
    const first = await call('POST', '/feedback', tokens.desk!, stray(1), 'message/rfc822');
    const second = await call('POST', '/feedback', tokens.desk!, stray(2), 'message/rfc822');
    const [a, b] = [first.json.records[0], second.json.records[0]];
    expect(a).toMatchObject({ outcome: 'unattributed' });
    expect(a.tenant).toBeUndefined();
    const before = (await call('GET', '/tenants/globex', tokens.desk!)).json;

    // a reason is required; the tenant must be one; a tenant token may not
    expect((await call('POST', `/feedback/${a.id}/assign`, tokens.desk!, { tenant: 'globex' })).json.error.problems).toEqual([{ field: 'reason', message: expect.any(String) }]);
    expect((await call('POST', `/feedback/${a.id}/assign`, tokens.desk!, { tenant: 'nobody', reason: 'x' })).json.error.problems).toEqual([{ field: 'tenant', message: 'no such tenant' }]);
    expect((await call('POST', `/feedback/${a.id}/assign`, tokens.acme!, { tenant: 'acme', reason: 'mine' })).status).toBe(403);

    const assigned = await call('POST', `/feedback/${a.id}/assign`, tokens.desk!, { tenant: 'globex', reason: 'globex newsletter, ticket 9' });
    expect(assigned.status).toBe(200);
    expect(assigned.json.review.resolution).toMatchObject({ action: 'assigned', tenant: 'globex', record: assigned.json.record.id, reason: 'globex newsletter, ticket 9', by: expect.stringContaining('(desk)') });
    expect(assigned.json.record).toMatchObject({ tenant: 'globex', attribution: 'assigned', outcome: 'applied', counts: { complaints: 1, suppressed: 1 } });
    expect(assigned.text).not.toMatch(/stray\d@/);
    // it counts for the tenant now, and the address it names is suppressed for it
    const after = (await call('GET', '/tenants/globex', tokens.desk!)).json;
    expect(after.volume['24h'].complaints).toBe(before.volume['24h'].complaints + 1);
    expect((await call('POST', '/tenants/globex/suppressions/lookup', tokens.desk!, { address: 'stray1@example.org' })).json).toMatchObject({ suppressed: true, reason: 'complaint' });

    // decided once
    const again = await call('POST', `/feedback/${a.id}/dismiss`, tokens.desk!, { reason: 'noise' });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'ALREADY_DECIDED', message: expect.stringMatching(new RegExp(`^report ${a.id} was assigned to globex by token:\\w+ \\(desk\\) on \\d{4}-`)) });
    expect(assigned.json.record.senderDomain).toBeUndefined();
    // a copy From one of the tenant's domains counts toward that domain's rates too
    const domainBefore = (await call('GET', '/tenants/globex', tokens.desk!)).json.domainVolume['globex.test']['24h'].complaints;
    const third = await call('POST', '/feedback', tokens.desk!, arf('From: "Globex News" <news@globex.test>\r\nTo: reader3@example.org\r\nSubject: stray\r\nMessage-ID: <stray-3@globex.test>\r\n\r\nx\r\n', { rcpt: 'stray3@example.org' }), 'message/rfc822');
    const fromGlobex = await call('POST', `/feedback/${third.json.records[0].id}/assign`, tokens.desk!, { tenant: 'globex', reason: 'its own From' });
    expect(fromGlobex.json.record).toMatchObject({ tenant: 'globex', senderDomain: 'globex.test', attribution: 'assigned' });
    expect((await call('GET', '/tenants/globex', tokens.desk!)).json.domainVolume['globex.test']['24h'].complaints).toBe(domainBefore + 1);
    const dismissed = await call('POST', `/feedback/${b.id}/dismiss`, tokens.desk!, { reason: 'a provider test' });
    expect(dismissed.json.resolution).toMatchObject({ action: 'dismissed', reason: 'a provider test' });
    expect((await call('POST', '/feedback/FNOSUCHREPORT/dismiss', tokens.desk!, { reason: 'x' })).status).toBe(404);

    // the queue shows the decisions; the audit trail has both, with their reasons
    const queue = (await call('GET', '/feedback?review=true', tokens.desk!)).json.reports as Array<{ id: string; resolution?: { action: string } }>;
    expect(queue.find((r) => r.id === a.id)?.resolution?.action).toBe('assigned');
    expect(queue.find((r) => r.id === b.id)?.resolution?.action).toBe('dismissed');
    // what waits for a decision: neither of them, a page read on past the decided ones
    const waiting = (await call('POST', '/feedback', tokens.desk!, stray(4), 'message/rfc822')).json.records[0].id as string;
    const openIds: string[] = [];
    let cursor: string | null = null;
    do {
      const p = (await call('GET', `/feedback?review=true&open=true&limit=1${cursor ? `&before=${cursor}` : ''}`, tokens.desk!)).json as { reports: Array<{ id: string; resolution?: unknown }>; next: string | null };
      expect(p.reports.every((r) => r.resolution === undefined)).toBe(true);
      openIds.push(...p.reports.map((r) => r.id));
      cursor = p.next;
    } while (cursor);
    expect(openIds[0]).toBe(waiting);
    expect(openIds).not.toContain(a.id);
    expect(openIds).not.toContain(b.id);
    const lines = audit().filter((l) => l.action === 'feedback.assign' || l.action === 'feedback.dismiss');
    expect(lines.filter((l) => l.outcome === 'ok').map((l) => [l.action, l.reason])).toEqual([
      ['feedback.assign', 'globex newsletter, ticket 9'],
      ['feedback.assign', 'its own From'],
      ['feedback.dismiss', 'a provider test'],
    ]);
  });

  it('suspensions (newest first) and tokens (oldest first) are paged too, with a next cursor', async () => {
    for (const n of [1, 2, 3]) {
      expect((await call('POST', '/tenants/globex/suspensions', tokens.desk!, { scope: 'domain', value: 'globex.test', reason: `paging ${n}` })).status).toBe(201);
      // each in its own millisecond: the order is by time
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = await call('GET', '/tenants/globex/suspensions?limit=2', tokens.desk!);
    expect(first.json.suspensions.map((x: { reason: string }) => x.reason)).toEqual(['paging 3', 'paging 2']);
    const second = await call('GET', `/tenants/globex/suspensions?limit=2&after=${first.json.next}`, tokens.desk!);
    expect(second.json.suspensions.map((x: { reason: string }) => x.reason)).toEqual(['paging 1']);
    expect(second.json.next).toBeNull();
    expect((await call('GET', '/tenants/globex/suspensions?after=S0000000000', tokens.desk!)).json.error.problems).toEqual([{ field: 'after', message: 'not a next cursor of an earlier answer' }]);
    const all = (await call('GET', '/tokens', tokens.operator!)).json.tokens as Array<{ id: string }>;
    const paged: string[] = [];
    let next: string | null = null;
    do {
      const p = await call('GET', `/tokens?limit=2${next ? `&after=${next}` : ''}`, tokens.operator!);
      paged.push(...p.json.tokens.map((t: { id: string }) => t.id));
      next = p.json.next;
    } while (next);
    expect(paged).toEqual(all.map((t) => t.id));
    expect((await call('GET', '/tokens?limit=0', tokens.operator!)).json.error.problems).toEqual([{ field: 'limit', message: 'from 1 to 1000' }]);
  });

  it('a tenant made through the API has its creation in its accounting records', async () => {
    const q = await call('POST', '/tenants/initech/accounting/query', tokens.operator!, {});
    expect(q.status).toBe(200);
    expect(q.json.records).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'admin', tenant: 'initech', action: 'tenant.create', detail: { domains: expect.any(String) } })]));
  });

  it('every operation of the OpenAPI document answers on the real listener: none is missing or of another method', async () => {
    const doc = (await call('GET', '/openapi.json', null)).json as { paths: Record<string, Record<string, { operationId: string }>> };
    let asked = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        // a token of its own for each: rotating one revokes it
        const token = await mint(`doc-${op.operationId}`, 'operator');
        const url = path.replace('{tenant}', 'globex').replace('{report}', 'FMABC12345').replace('{id}', path.startsWith('/tokens') ? '0123456789' : 'S0123456789');
        // an empty body: refused by name where one is needed, never a route that is not there
        const res = await call(method.toUpperCase(), url, token, method === 'get' ? undefined : path === '/tenants/{tenant}' ? {} : '', path === '/feedback' ? 'message/rfc822' : 'application/json');
        expect(res.status, `${method} ${path}`).not.toBe(405);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        if (res.status === 404) expect(res.json.error.message, `${method} ${path}`).not.toMatch(/^no such resource/);
        asked++;
      }
    }
    expect(asked).toBeGreaterThan(25);
  });
});
