// Accounting records of real SMTP transactions: a known mix of outcomes gives exactly the
// expected records, none with a clear-text address or message content; a relay killed
// outright loses at most the last second, and the next start repairs the segment.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_HASH, ACME_PASSWORD, GLOBEX_HASH, GLOBEX_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession, sendMail } from '../helpers/client.js';
import { spawnRelay } from '../helpers/process.js';
import { sample, scrape } from '../helpers/metrics.js';
import type { AccountingRecord } from '../../src/accounting/records.js';
import { parseMailAddress } from '../../src/domain/mailbox.js';
import { arf, dsn } from '../helpers/reports.js';
import { newToken } from '../../src/admin/tokens.js';

function readSegments(dir: string, tenant: string): AccountingRecord[] {
  const tenantDir = join(dir, 'active', tenant);
  if (!existsSync(tenantDir)) return [];
  return readdirSync(tenantDir)
    .filter((f) => /\.jsonl(\.gz)?$/.test(f))
    .sort()
    .flatMap((f) => {
      const raw = readFileSync(join(tenantDir, f));
      const text = f.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AccountingRecord);
    });
}

describe('accounting records', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream({ refuseRcpt: { 'refused@example.org': [550, '5.1.1 No such user'], 'later@example.org': [450, '4.2.1 Try later'] } });
    relay = await startTestRelay(
      testConfig(upstream.port, {
        tenants: [
          { id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test'] },
          { id: 'globex', username: 'globex', password: GLOBEX_HASH, domains: ['globex.test'], limits: { messages: [{ limit: 1, per: 'minute' }] } },
        ],
      }),
    );
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('a known mix of outcomes gives exactly the expected records, without addresses or content', async () => {
    await relay.admin.suppress('acme', [{ address: 'suppressed@example.org', reason: 'manual' }]);
    await relay.admin.suspend({ tenant: 'acme', scope: 'sender', value: 'banned@acme.test', reason: 'abuse', actor: 'desk' });

    // relayed, suppressed, bounced by the upstream, deferred by the upstream
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    expect(await s.command('RCPT TO:<ok@example.org>')).toMatch(/^250/);
    expect(await s.command('RCPT TO:<suppressed@example.org>')).toMatch(/^550/);
    expect(await s.command('RCPT TO:<refused@example.org>')).toMatch(/^250/);
    expect(await s.command('RCPT TO:<later@example.org>')).toMatch(/^250/);
    expect(await s.command('DATA')).toMatch(/^354/);
    s.write('Subject: quarterly secret figures\r\nMessage-ID: <m1@acme.test>\r\n\r\nconfidential body text\r\n.\r\n');
    expect(await s.reply()).toMatch(/^250/);
    // a suspended sender
    expect(await s.command('MAIL FROM:<banned@acme.test>')).toMatch(/^550 5\.7\.1/);
    // a sender address that is no mailbox: refused before the policy, accounted for all the same
    expect(await s.command(`MAIL FROM:<${'a'.repeat(65)}@acme.test>`)).toMatch(/^553 5\.1\.7/);
    // a message refused while it streamed (bare LF)
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    expect(await s.command('RCPT TO:<ok2@example.org>')).toMatch(/^250/);
    expect(await s.command('DATA')).toMatch(/^354/);
    s.write('Subject: x\r\n\r\nbare\nline\r\n.\r\n');
    expect(await s.reply()).toMatch(/^550 5\.5\.2/);
    s.destroy();
    // rate limited: globex may send one message a minute
    expect((await sendMail({ port: relay.port, user: 'globex', pass: GLOBEX_PASSWORD, from: 'info@globex.test', to: ['first@example.net'], message: 'Subject: a\r\n\r\nb\r\n' })).ok).toBe(true);
    const limited = await sendMail({ port: relay.port, user: 'globex', pass: GLOBEX_PASSWORD, from: 'info@globex.test', to: ['second@example.net'], message: 'Subject: a\r\n\r\nb\r\n' });
    expect(limited.response).toMatch(/^451 4\.7\.1/);

    // the same mix, as the replies operators see by class
    const metrics = await scrape(relay.metrics!.port);
    const replies = (command: string) => ['2xx', '4xx', '5xx'].map((c) => sample(metrics, 'mailwarden_smtp_replies_total', { command, class: c }));
    expect({ mail: replies('mail'), rcpt: replies('rcpt'), data: replies('data') }).toEqual({ mail: [3, 1, 2], rcpt: [5, 0, 1], data: [2, 0, 1] });

    const acmeKey = (await relay.admin.keyOf('acme'))!;
    // closing writes what is buffered
    await relay.close();
    const dir = relay.config.accounting.dir;
    const p = (a: string) => ({ p: acmeKey.pseudonym(parseMailAddress(a)!.matchForm), d: a.split('@')[1] });
    const alice = p('alice@acme.test');
    const acme = readSegments(dir, 'acme');
    const shape = acme.map((r) => {
      const { time, session, tx, ...rest } = r as AccountingRecord & { session?: string; tx?: string };
      expect(Date.parse(time)).not.toBeNaN();
      if (r.type !== 'admin' && r.type !== 'complained') expect(session).toMatch(/\S/);
      void tx;
      return rest;
    });
    expect(shape).toEqual([
      { v: 1, type: 'rejected', stage: 'rcpt', tenant: 'acme', sender: alice, recipient: p('suppressed@example.org'), reason: 'SUPPRESSED', code: 550 },
      { v: 1, type: 'relayed', tenant: 'acme', sender: alice, messageId: '<m1@acme.test>', size: expect.any(Number), recipient: p('ok@example.org'), upstream: { code: 250, text: 'Ok: queued as CAPTURE' } },
      { v: 1, type: 'bounced', via: 'upstream', tenant: 'acme', sender: alice, messageId: '<m1@acme.test>', size: expect.any(Number), recipient: p('refused@example.org'), code: 550, enhanced: '5.1.1' },
      { v: 1, type: 'deferred', tenant: 'acme', sender: alice, messageId: '<m1@acme.test>', size: expect.any(Number), recipient: p('later@example.org'), reason: 'UPSTREAM_TEMPFAIL', code: 450, enhanced: '4.2.1' },
      { v: 1, type: 'rejected', stage: 'mail', tenant: 'acme', sender: p('banned@acme.test'), reason: 'SUSPENDED', code: 550 },
      { v: 1, type: 'rejected', stage: 'mail', tenant: 'acme', sender: null, reason: 'SENDER_SYNTAX', code: 553 },
      { v: 1, type: 'rejected', stage: 'data', tenant: 'acme', sender: alice, size: expect.any(Number), recipient: p('ok2@example.org'), reason: 'BARE_LINE_FEED', code: 550 },
    ]);
    const globex = readSegments(dir, 'globex');
    expect(globex.map((r) => [r.type, 'reason' in r ? r.reason : undefined])).toEqual([
      ['relayed', undefined],
      ['rejected', 'RATE_LIMITED'],
    ]);
    // records of one tenant hold nothing of the other
    expect(acme.every((r) => r.tenant === 'acme')).toBe(true);

    const files = readdirSync(join(dir, 'active'), { recursive: true }).map(String).filter((f) => f.endsWith('.jsonl'));
    const everything = files.map((f) => readFileSync(join(dir, 'active', f), 'utf8')).join('');
    for (const secret of ['alice@', 'ok@example.org', 'suppressed@', 'refused@', 'later@', 'banned@', 'first@example.net', 'quarterly', 'confidential', 'bare\nline']) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe('accounting of reports and administrative actions', () => {
  it('records a complaint about a relayed message, a hard bounce from a report, and suspensions made through the API', async () => {
    const upstream = await startCaptureUpstream();
    const relay = await startTestRelay(testConfig(upstream.port));
    try {
      const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['reader@example.org'], message: 'Message-ID: <c1@acme.test>\r\nSubject: a\r\n\r\nb\r\n' });
      expect(sent.ok).toBe(true);
      const copy = upstream.messages.at(-1)!.raw;
      const fb = (raw: string) => sendMail({ port: relay.feedback!.port, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: raw, tls: false });
      expect((await fb(arf(copy))).ok).toBe(true);
      expect((await fb(dsn(copy, 'reader@example.org', '5.1.1', '550 5.1.1 user unknown'))).ok).toBe(true);
      const { record, token } = newToken({ role: 'abuse-desk', name: 'desk', createdAt: Date.now(), createdBy: 'test' });
      await relay.store.putApiToken(record);
      const res = await fetch(`http://127.0.0.1:${relay.adminApi!.port}/api/v1/tenants/acme/suspensions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: 'tenant', reason: 'checking' }),
      });
      expect(res.status).toBe(201);
      const key = (await relay.admin.keyOf('acme'))!;
      await relay.close();
      const records = readSegments(relay.config.accounting.dir, 'acme');
      const reader = { p: key.pseudonym('reader@example.org'), d: 'example.org' };
      const tx = (records.find((r) => r.type === 'relayed') as { tx: string }).tx;
      expect(records.find((r) => r.type === 'complained')).toMatchObject({ recipient: reader, tx, feedbackType: 'abuse', action: 'complaint', report: expect.stringMatching(/^F/) });
      expect(records.find((r) => r.type === 'bounced')).toMatchObject({ via: 'report', recipient: reader, tx, enhanced: '5.1.1', verdict: 'hard', rule: 'unknown-user' });
      expect(records.filter((r) => r.type === 'admin').map((r) => (r as { action: string }).action)).toEqual(['suppression.add', 'suppression.add', 'suspension.create']);
      expect(records.find((r) => r.type === 'admin' && r.action === 'suspension.create')).toMatchObject({ actor: 'token:' + record.id + ' (desk)', reason: 'checking' });
      const text = readdirSync(join(relay.config.accounting.dir, 'active', 'acme')).map((f) => readFileSync(join(relay.config.accounting.dir, 'active', 'acme', f), 'utf8')).join('');
      expect(text).not.toContain('reader@');
    } finally {
      await relay.close();
      await upstream.close();
    }
  });
});

describe('accounting when the disk is nearly full', () => {
  it('refuses MAIL with 452 4.3.1 rather than take mail it could not account for', async () => {
    const upstream = await startCaptureUpstream();
    const relay = await startTestRelay(testConfig(upstream.port, { accounting: { minFreeBytes: Number.MAX_SAFE_INTEGER } }));
    try {
      const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
      expect(await s.command('MAIL FROM:<alice@acme.test>')).toBe('452 4.3.1 Insufficient system storage, try again later');
      s.destroy();
      expect(upstream.messages).toHaveLength(0);
    } finally {
      await relay.close();
      await upstream.close();
    }
  });
});

describe('accounting and a killed relay', () => {
  it('loses at most the last second of records, and the next start cuts a torn line and seals past days', async () => {
    const upstream = await startCaptureUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'mw-acct-kill-'));
    const yaml = `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
accounting: { dir: ${join(dir, 'accounting')}, minFreeBytes: 1048576 }
metrics: { port: 0 }
feedback: { port: 0 }
admin: { port: 0 }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test] }
log: { level: info }
`;
    let relay = await spawnRelay(yaml, dir);
    const send = (i: number) => sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: [`r${i}@example.org`], message: `Subject: ${i}\r\n\r\nbody\r\n` });
    for (let i = 0; i < 20; i++) expect((await send(i)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 20; i < 25; i++) expect((await send(i)).ok).toBe(true);
    relay.child.kill('SIGKILL');
    await relay.exited;

    const segDir = join(dir, 'accounting', 'active', 'acme');
    const [segment] = readdirSync(segDir).filter((f) => f.endsWith('.jsonl'));
    const file = join(segDir, segment!);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    // everything older than a second is there
    expect(lines.length).toBeGreaterThanOrEqual(20);
    expect(lines.length).toBeLessThanOrEqual(25);
    // a torn last line, as a kill in the middle of a write leaves it, and a segment of a past day
    appendFileSync(file, '{"v":1,"type":"rela');
    mkdirSync(segDir, { recursive: true });
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    writeFileSync(join(segDir, `${yesterday}.jsonl`), `{"v":1,"type":"admin","time":"${yesterday}T00:00:00.000Z","tenant":"acme","action":"x","actor":"y"}\n`);

    relay = await spawnRelay(yaml, dir);
    const repaired = readFileSync(file, 'utf8');
    expect(repaired.endsWith('\n')).toBe(true);
    expect(repaired.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AccountingRecord)).toHaveLength(lines.length);
    expect(existsSync(join(segDir, `${yesterday}.jsonl`))).toBe(false);
    expect(gunzipSync(readFileSync(join(segDir, `${yesterday}.jsonl.gz`))).toString()).toContain('"action":"x"');
    expect(relay.output()).toContain('torn line');
    relay.child.kill('SIGKILL');
    await relay.exited;
    await upstream.close();
  });
});
