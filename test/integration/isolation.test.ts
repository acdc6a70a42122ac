// No secondary use: nothing about one tenant's recipients can be learned with another
// tenant's SMTP credentials or API token: not whether an address is suppressed, relayed,
// complained about or bounced, and not its pseudonym.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, GLOBEX_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession, sendMail } from '../helpers/client.js';
import { arf } from '../helpers/reports.js';
import { newToken } from '../../src/admin/tokens.js';

describe('tenant isolation', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let globexToken: string;
  const SECRET = 'known.only.to.acme@example.org';

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port));
    const minted = newToken({ role: 'tenant', tenant: 'globex', name: 'globex-portal', createdAt: Date.now(), createdBy: 'test' });
    await relay.store.putApiToken(minted.record);
    globexToken = minted.token;
    // acme relays to the address, gets a complaint about it, and so suppresses it
    expect((await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: [SECRET], message: 'Subject: s\r\n\r\nb\r\n' })).ok).toBe(true);
    const report = arf(upstream.messages.at(-1)!.raw);
    expect((await sendMail({ port: relay.feedback!.port, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: report, tls: false })).response).toMatch(/ applied$/);
    await new Promise((r) => setTimeout(r, 1200));
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${relay.adminApi!.port}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${globexToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  it('acme has the address suppressed', async () => {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    await s.command('MAIL FROM:<alice@acme.test>');
    expect(await s.command(`RCPT TO:<${SECRET}>`)).toMatch(/^550 5\.7\.1 /);
    s.destroy();
  });

  it('globex over SMTP learns nothing: the address is just another recipient', async () => {
    const s = await authedSession(relay.port, 'globex', GLOBEX_PASSWORD);
    await s.command('MAIL FROM:<info@globex.test>');
    expect(await s.command(`RCPT TO:<${SECRET}>`)).toMatch(/^250/);
    s.destroy();
  });

  it('globex\'s token learns nothing through the API', async () => {
    for (const path of ['/tenants/acme', '/tenants/acme/suppressions', '/tenants/acme/suppressions/export', '/tenants/acme/suspensions']) {
      expect((await api('GET', path)).status).toBe(404);
    }
    expect((await api('POST', '/tenants/acme/subjects/export', { address: SECRET })).status).toBe(404);
    expect((await api('GET', '/feedback?tenant=acme')).status).toBe(403);
    // its own view of the same address is empty
    const own = await api('POST', '/tenants/globex/subjects/export', { address: SECRET });
    expect(own.status).toBe(200);
    const doc = JSON.parse(own.text) as { records: unknown[]; suppression: unknown; subject: { pseudonym: string } };
    expect(doc.records).toEqual([]);
    expect(doc.suppression).toBeNull();
    expect((await api('GET', '/tenants/globex/suppressions/export')).text).not.toContain(SECRET);
    expect(JSON.parse((await api('POST', '/tenants/globex/suppressions/remove', { address: SECRET })).text)).toEqual({ removed: false });
    // and the pseudonym it is shown is not acme's: the two cannot be linked
    const acmeKey = (await relay.admin.keyOf('acme'))!;
    expect(doc.subject.pseudonym).not.toBe(acmeKey.pseudonym(SECRET));
    const acmeEntries: string[] = [];
    for await (const e of relay.store.listSuppressions('acme')) acmeEntries.push(e.pseudonym);
    expect(acmeEntries).toContain(acmeKey.pseudonym(SECRET));
    expect(acmeEntries).not.toContain(doc.subject.pseudonym);
  });
});
