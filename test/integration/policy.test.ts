// The compliance policy through real SMTP sessions: suspensions, suppression lists and rate
// limits, on the embedded store; no recipient address in clear text in its files, logs or metrics.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_HASH, ACME_PASSWORD, GLOBEX_HASH, GLOBEX_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { scrape, sample, labelValues } from '../helpers/metrics.js';
import { authedSession } from '../helpers/client.js';

describe('policy over SMTP (embedded store)', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let clock = Date.UTC(2026, 10, 21, 12, 0, 0);

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    const config = testConfig(upstream.port, {
      tenants: [
        { id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test', 'bücher.example'] },
        {
          id: 'globex',
          username: 'globex',
          password: GLOBEX_HASH,
          domains: ['globex.test'],
          limits: { messages: [{ limit: 2, per: 'minute' }], perRecipientDomain: [{ limit: 3, per: 'minute' }] },
        },
      ],
    });
    relay = await startTestRelay(config, { now: () => clock });
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('a suspension reaches a session that is already open, at its next MAIL, with a reference and no detail', async () => {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    await s.command('RSET');
    const suspension = await relay.admin.suspend({ tenant: 'acme', scope: 'sender', value: 'Alice@ACME.test', reason: 'compromised account, ticket 42', actor: 'desk' });
    const reply = await s.command('MAIL FROM:<alice@acme.test>');
    expect(reply).toBe(`550 5.7.1 Sending suspended for this account; contact your provider with the reference (ref ${suspension.id})`);
    expect(reply).not.toContain('compromised');
    expect(await s.command('MAIL FROM:<bob@acme.test>')).toMatch(/^250/);
    await s.command('RSET');
    await relay.admin.unsuspend('acme', suspension.id, 'desk', 'password reset');
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    s.destroy();
  });

  it('a whole-tenant suspension refuses every sender, and expires', async () => {
    const s = await relay.admin.suspend({ tenant: 'acme', scope: 'tenant', reason: 'unpaid', actor: 'desk', expiresAt: clock + 60_000 });
    const session = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await session.command('MAIL FROM:<>')).toContain(`ref ${s.id}`);
    clock += 60_000;
    expect(await session.command('MAIL FROM:<>')).toMatch(/^250/);
    session.destroy();
  });

  it('suppressed recipients get 550 5.7.1 in their tenant only; matching ignores the case of the local part', async () => {
    await relay.admin.suppress('acme', [{ address: 'Complainer@Example.ORG', reason: 'complaint' }]);
    const a = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    await a.command('MAIL FROM:<alice@acme.test>');
    expect(await a.command('RCPT TO:<complainer@example.org>')).toBe('550 5.7.1 Recipient is on your suppression list');
    expect(await a.command('RCPT TO:<COMPLAINER@EXAMPLE.ORG>')).toMatch(/^550 5\.7\.1 /);
    expect(await a.command('RCPT TO:<complainer+tag@example.org>')).toMatch(/^250/);
    a.destroy();
    const g = await authedSession(relay.port, 'globex', GLOBEX_PASSWORD);
    await g.command('MAIL FROM:<info@globex.test>');
    expect(await g.command('RCPT TO:<complainer@example.org>')).toMatch(/^250/);
    g.destroy();
  });

  it('rate limits answer 451 4.7.1 with the bucket and a retry hint, per tenant', async () => {
    clock += 3_600_000;
    const g = await authedSession(relay.port, 'globex', GLOBEX_PASSWORD);
    expect(await g.command('MAIL FROM:<a@globex.test>')).toMatch(/^250/);
    for (let i = 0; i < 3; i++) expect(await g.command(`RCPT TO:<r${i}@big.example>`)).toMatch(/^250/);
    expect(await g.command('RCPT TO:<r3@big.example>')).toBe('451 4.7.1 Rate limit reached, try again later (recipient-domain/1m; retry in 20 s)');
    expect(await g.command('RCPT TO:<r3@other.example>')).toMatch(/^250/);
    await g.command('RSET');
    expect(await g.command('MAIL FROM:<a@globex.test>')).toMatch(/^250/);
    await g.command('RSET');
    expect(await g.command('MAIL FROM:<a@globex.test>')).toBe('451 4.7.1 Rate limit reached, try again later (messages/1m; retry in 30 s)');
    clock += 30_000;
    expect(await g.command('MAIL FROM:<a@globex.test>')).toMatch(/^250/);
    g.destroy();
  });

  it('keeps no recipient address in clear text in the store files, the logs or the metrics', async () => {
    const addresses = Array.from({ length: 200 }, (_, i) => `person${i}.secret@private${i % 7}.example`);
    await relay.admin.suppress('acme', addresses.map((address) => ({ address, reason: 'manual' as const })));
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    await s.command('MAIL FROM:<alice@acme.test>');
    for (const a of addresses.slice(0, 20)) await s.command(`RCPT TO:<${a}>`);
    s.destroy();
    const files = readdirSync(relay.config.store.path).map((f) => join(relay.config.store.path, f)).filter((f) => statSync(f).isFile());
    expect(files.length).toBeGreaterThan(0);
    const metrics = await scrape(relay.metrics!.port);
    expect(sample(metrics, 'mailwarden_policy_verdicts_total', { stage: 'recipient', verdict: 'reject', reason: 'SUPPRESSED' })).toBeGreaterThanOrEqual(20);
    expect(labelValues(metrics).filter((v) => v.includes('@'))).toEqual([]);
    const everything = files.map((f) => readFileSync(f).toString('latin1')).join('') + relay.logs.join('\n') + metrics;
    for (const a of addresses) {
      expect(everything).not.toContain(a);
      expect(everything).not.toContain(a.split('@')[0]);
    }
    expect(everything).not.toContain('omplainer');
    // the export gives them back to their tenant
    expect(await relay.admin.exportCsv('acme')).toContain('person7.secret@private0.example');
  });
});
