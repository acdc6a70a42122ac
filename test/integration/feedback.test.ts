// Complaints and bounces end to end: a message relayed through mailwarden, then a report
// about the relayed copy delivered to the feedback listener, acted on in the originating
// tenant only; forged and unattributable reports change nothing and are kept for review.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, GLOBEX_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession, sendMail } from '../helpers/client.js';
import { REVIEW } from '../../src/domain/feedback.js';
import { scrape, sample } from '../helpers/metrics.js';
import { arf, dsn, CRLF } from '../helpers/reports.js';
import { newToken } from '../../src/admin/tokens.js';

describe('feedback end to end', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port));
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  /** Relays one message and returns the copy the upstream received. */
  async function relayed(user: 'acme' | 'globex', from: string, to: string[], messageId = `<${Math.random().toString(36).slice(2)}@${from.split('@')[1]}>`): Promise<Buffer> {
    const before = upstream.messages.length;
    const sent = await sendMail({ port: relay.port, user, pass: user === 'acme' ? ACME_PASSWORD : GLOBEX_PASSWORD, from, to, message: `From: ${from}\r\nTo: ${to.join(', ')}\r\nSubject: news\r\nMessage-ID: ${messageId}\r\n\r\nHello.\r\n` });
    expect(sent.ok).toBe(true);
    expect(upstream.messages.length).toBe(before + 1);
    return upstream.messages[before]!.raw;
  }

  async function report(raw: string): Promise<{ ok: boolean; response: string }> {
    return sendMail({ port: relay.feedback!.port, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: raw, tls: false });
  }

  async function rcptReply(user: 'acme' | 'globex', from: string, to: string): Promise<string> {
    const s = await authedSession(relay.port, user, user === 'acme' ? ACME_PASSWORD : GLOBEX_PASSWORD);
    await s.command(`MAIL FROM:<${from}>`);
    const reply = await s.command(`RCPT TO:<${to}>`);
    s.destroy();
    return reply;
  }

  it('a complaint with the recipient redacted suppresses that recipient in the sending tenant only', async () => {
    const copy = await relayed('acme', 'alice@acme.test', ['Bob@Example.org']);
    expect(await rcptReply('acme', 'alice@acme.test', 'bob@example.org')).toMatch(/^250/);

    const reply = await report(arf(copy));
    expect(reply.ok).toBe(true);
    expect(reply.response).toMatch(/^250 2\.0\.0 Report recorded: F\w+ applied$/);

    expect(await rcptReply('acme', 'alice@acme.test', 'bob@example.org')).toMatch(/^550 5\.7\.1 /);
    expect(await rcptReply('globex', 'info@globex.test', 'bob@example.org')).toMatch(/^250/);
    const exported = await relay.admin.exportCsv('acme');
    expect(exported).toMatch(/Bob@example\.org,complaint,feedback:F\w+,/);
    expect(await relay.store.countSuppressions('globex')).toBe(0);

    const [record] = await relay.store.listFeedbackReports('acme', { limit: 1 });
    expect(record).toMatchObject({ kind: 'complaint', outcome: 'applied', attribution: 'verified', tenant: 'acme', feedbackTypes: ['abuse'] });
    expect(record!.counts).toMatchObject({ complaints: 1, suppressed: 1 });
  });

  it('the same report delivered twice is acted on once', async () => {
    const copy = await relayed('acme', 'alice@acme.test', ['dup@example.org']);
    const raw = arf(copy);
    expect((await report(raw)).response).toMatch(/ applied$/);
    expect((await report(raw)).response).toMatch(/ seen before$/);
  });

  it('the same report taken in over SMTP and through the admin API is counted once', async () => {
    const copy = await relayed('acme', 'alice@acme.test', ['twice@example.org']);
    const raw = arf(copy);
    // the mailbox provider's hops add trace fields on the way to the feedback port
    const viaSmtp = `Received: from mx.provider.example by fbl.provider.example; Sun, 6 Dec 2026 10:00:00 +0000${CRLF}${raw}`;
    expect((await report(viaSmtp)).response).toMatch(/ applied$/);
    const { token, record } = newToken({ role: 'abuse-desk', name: 'desk', createdAt: Date.now(), createdBy: 'test' });
    await relay.store.putApiToken(record);
    // an analyst posts the copy saved from a mail client: LF line ends
    const posted = await fetch(`http://127.0.0.1:${relay.adminApi!.port}/api/v1/feedback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'message/rfc822' },
      body: raw.replaceAll(CRLF, '\n'),
    });
    expect(posted.status).toBe(200);
    expect(((await posted.json()) as { records: Array<{ duplicate: boolean }> }).records).toEqual([expect.objectContaining({ duplicate: true })]);
    const complaints = (await relay.store.volumeTotals('acme', null, 1, Date.now())).complaints;
    const before = complaints;
    expect((await report(raw)).response).toMatch(/ seen before$/);
    expect((await relay.store.volumeTotals('acme', null, 1, Date.now())).complaints).toBe(before);
  });

  it('an opt-out suppresses as an unsubscribe; not-spam changes nothing', async () => {
    const copy = await relayed('acme', 'alice@acme.test', ['leaving@example.org', 'staying@example.org']);
    expect((await report(arf(copy, { feedbackType: 'opt-out', rcpt: 'leaving@example.org' }))).response).toMatch(/ applied$/);
    expect(await relay.admin.exportCsv('acme')).toMatch(/leaving@example\.org,unsubscribe,/);
    const other = await relayed('acme', 'alice@acme.test', ['fan@example.org']);
    expect((await report(arf(other, { feedbackType: 'not-spam' }))).response).toMatch(/ counted$/);
    expect(await rcptReply('acme', 'alice@acme.test', 'fan@example.org')).toMatch(/^250/);
  });

  it('a hard bounce suppresses; a mailbox-full bounce only counts', async () => {
    const copy = await relayed('globex', 'info@globex.test', ['gone@example.net']);
    expect((await report(dsn(copy, 'gone@example.net', '5.1.1', '550 5.1.1 <gone@example.net>: user unknown'))).response).toMatch(/ applied$/);
    expect(await rcptReply('globex', 'info@globex.test', 'gone@example.net')).toMatch(/^550 5\.7\.1 /);
    expect(await rcptReply('acme', 'alice@acme.test', 'gone@example.net')).toMatch(/^250/);

    const full = await relayed('globex', 'info@globex.test', ['full@example.net']);
    expect((await report(dsn(full, 'full@example.net', '5.2.2', '552 5.2.2 mailbox full'))).response).toMatch(/ counted$/);
    expect(await rcptReply('globex', 'info@globex.test', 'full@example.net')).toMatch(/^250/);
    const [record] = await relay.store.listFeedbackReports('globex', { limit: 1 });
    expect(record!.bounces).toEqual([{ status: '5.2.2', action: 'failed', verdict: 'soft', rule: 'mailbox-full' }]);
  });

  // Bounces written by the real MTAs (test/fixtures/feedback/README.md), as they would have
  // come back for a message this relay relayed: the copy they return carries this relay's
  // reference header, put in place of the fixture's or in front of its Message-ID.
  it.each([
    ['exim-unrouteable.eml', 'bob@nowhere.example'],
    ['exim-unknown-user.eml', 'carol@lists.isp.example'],
    ['sendmail-host-unknown.eml', 'dave@nowhere.example'],
    ['sendmail-user-unknown.eml', 'erin@lists.isp.example'],
  ])('a real MTA\'s bounce (%s) suppresses its recipient in the sending tenant', async (file, recipient) => {
    const bounce = readFileSync(join(import.meta.dirname, '../fixtures/feedback', file), 'latin1');
    const messageId = /^Message-ID: (<[^>]+>)/im.exec(bounce.slice(bounce.search(/^Content-type: message\/rfc822/im)))![1]!;
    const copy = (await relayed('acme', 'alice@acme.test', [recipient], messageId)).toString('latin1');
    const reference = /^X-Mailwarden-Ref:.*(?:\r?\n[ \t].*)*/m.exec(copy)![0].replace(/\r?\n(?=[ \t])/g, '');
    const eol = bounce.includes('\r\n') ? '\r\n' : '\n';
    const returned = bounce.replace(/^X-Mailwarden-Ref: .*\r?\n/m, '').replace(`Message-ID: ${messageId}`, `${reference}${eol}Message-ID: ${messageId}`);
    expect(returned).toContain(reference);
    expect((await report(returned)).response).toMatch(/ applied$/);
    expect(await rcptReply('acme', 'alice@acme.test', recipient)).toMatch(/^550 5\.7\.1 /);
    expect(await rcptReply('globex', 'info@globex.test', recipient)).toMatch(/^250/);
  });

  it('forged reports change nothing and are kept for review', async () => {
    const before = await relay.store.countSuppressions('acme');
    const copy = (await relayed('acme', 'alice@acme.test', ['victim@example.org'])).toString('latin1');
    // a changed byte in the token
    const tampered = copy.replace(/(X-Mailwarden-Ref: 1\.acme\.)(.)/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
    expect((await report(arf(tampered))).response).toMatch(/ forged$/);
    // the token moved to another tenant's name
    expect((await report(arf(copy.replace('X-Mailwarden-Ref: 1.acme.', 'X-Mailwarden-Ref: 1.globex.')))).response).toMatch(/ forged$/);
    // a message mailwarden never relayed
    const unknown = 'From: someone@acme.test\r\nTo: victim@example.org\r\nMessage-ID: <never@acme.test>\r\nSubject: x\r\n\r\nbody\r\n';
    expect((await report(arf(unknown, { rcpt: 'victim@example.org' }))).response).toMatch(/ unattributed$/);
    // another tenant's message, naming a recipient it was not sent to
    const theirs = await relayed('globex', 'info@globex.test', ['someone-else@example.org']);
    expect((await report(arf(theirs, { rcpt: 'victim@example.org' }))).response).toMatch(/ counted$/);

    expect(await relay.store.countSuppressions('acme')).toBe(before);
    expect(await rcptReply('acme', 'alice@acme.test', 'victim@example.org')).toMatch(/^250/);
    expect(await rcptReply('globex', 'info@globex.test', 'victim@example.org')).toMatch(/^250/);
    const review = await relay.store.listFeedbackReports(REVIEW);
    expect(review.map((r) => r.outcome)).toEqual(expect.arrayContaining(['forged', 'unattributed']));
    const [counted] = await relay.store.listFeedbackReports('globex', { limit: 1 });
    expect(counted!.notes).toContain('the report names a recipient the message was not sent to: nothing suppressed');
  });

  it('a report about a copy without the reference is attributed by Message-ID through the accounting records', async () => {
    const strip = (raw: Buffer) => raw.toString('latin1').replace(/^X-Mailwarden-Ref:.*\r\n(?:[ \t].*\r\n)*/m, '');
    const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['byid@example.org'], message: 'From: alice@acme.test\r\nTo: byid@example.org\r\nMessage-ID: <by-id-1@acme.test>\r\nSubject: s\r\n\r\nb\r\n' });
    expect(sent.ok).toBe(true);
    const copy = strip(upstream.messages.at(-1)!.raw);
    expect(copy).not.toContain('X-Mailwarden-Ref');
    // the same Message-ID relayed by two tenants cannot say whose it is
    for (const user of ['acme', 'globex'] as const) {
      const from = user === 'acme' ? 'alice@acme.test' : 'info@globex.test';
      const r = await sendMail({ port: relay.port, user, pass: user === 'acme' ? ACME_PASSWORD : GLOBEX_PASSWORD, from, to: ['shared@example.org'], message: `From: ${from}\r\nMessage-ID: <shared-id@example.com>\r\nSubject: s\r\n\r\nb\r\n` });
      expect(r.ok).toBe(true);
    }
    const shared = strip(upstream.messages.at(-1)!.raw);
    // accounting records reach their files within a second
    await new Promise((r) => setTimeout(r, 1200));

    expect((await report(arf(copy))).response).toMatch(/ applied$/);
    expect(await rcptReply('acme', 'alice@acme.test', 'byid@example.org')).toMatch(/^550 5\.7\.1 /);
    expect(await rcptReply('globex', 'info@globex.test', 'byid@example.org')).toMatch(/^250/);
    const [record] = await relay.store.listFeedbackReports('acme', { limit: 1 });
    expect(record).toMatchObject({ attribution: 'message-id', outcome: 'applied', counts: { complaints: 1, suppressed: 1 } });
    // suppressed by pseudonym: the redacted report never gave the address, so the export cannot show it
    expect(await relay.admin.exportCsv('acme')).toMatch(/^,complaint,feedback:F\w+,/m);

    expect((await report(arf(shared))).response).toMatch(/ unattributed$/);
    const [review] = await relay.store.listFeedbackReports(REVIEW, { limit: 1 });
    expect(review!.attribution).toBe('ambiguous');
  });

  it('a digest of two reports acts on both', async () => {
    const one = await relayed('acme', 'alice@acme.test', ['first@example.org']);
    const two = await relayed('acme', 'alice@acme.test', ['second@example.org']);
    const digest = [
      'From: fbl@provider.example',
      'Subject: complaints digest',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="digest"',
      '',
      '--digest',
      'Content-Type: message/rfc822',
      '',
      arf(one, { boundary: 'inner-1' }),
      '--digest',
      'Content-Type: message/rfc822',
      '',
      arf(two, { boundary: 'inner-2' }),
      '--digest--',
      '',
    ].join(CRLF);
    expect((await report(digest)).response).toMatch(/ applied$/);
    expect(await rcptReply('acme', 'alice@acme.test', 'first@example.org')).toMatch(/^550 5\.7\.1 /);
    expect(await rcptReply('acme', 'alice@acme.test', 'second@example.org')).toMatch(/^550 5\.7\.1 /);
  });

  it('refuses a message that is no report, and counts every report in a metric', async () => {
    const reply = await report('From: a@example.org\r\nSubject: hello\r\n\r\nJust saying hi.\r\n');
    expect(reply.ok).toBe(false);
    expect(reply.response).toMatch(/^554 5\.6\.0 /);
    const text = await scrape(relay.metrics!.port);
    expect(sample(text, 'mailwarden_feedback_reports_total', { kind: 'unknown', outcome: 'rejected' })).toBe(1);
    expect(sample(text, 'mailwarden_feedback_reports_total', { kind: 'complaint', outcome: 'applied' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'mailwarden_feedback_reports_total', { kind: 'complaint', outcome: 'forged' })).toBe(2);
    // the DSN of 'a hard bounce suppresses', and the four real MTAs' bounces
    expect(sample(text, 'mailwarden_feedback_findings_total', { type: 'hard_bounce' })).toBe(5);
  });

  it('keeps no recipient address in clear text in the store files or the logs', async () => {
    const dir = relay.config.store.path;
    const files = readdirSync(dir).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
    const everything = files.map((f) => readFileSync(f).toString('latin1')).join('') + relay.logs.join('\n');
    for (const a of ['bob@example.org', 'Bob@Example.org', 'Bob@example.org', 'victim@example.org', 'gone@example.net', 'first@example.org', 'leaving@example.org']) {
      expect(everything).not.toContain(a);
    }
  });
});
