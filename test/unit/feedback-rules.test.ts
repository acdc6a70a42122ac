// Table-driven checks of config/feedback-rules.yaml: every rule decides at least one case
// here, and the order between rules that could both match is pinned.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FeedbackRules } from '../../src/feedback/classify.js';
import { parseReport, type BounceRecipient } from '../../src/feedback/parse.js';

const rules = FeedbackRules.load();

function bounce(status: string | null, diagnostic: string | null, extra: Partial<BounceRecipient> & { type?: string } = {}): BounceRecipient {
  const { type = 'smtp', ...rest } = extra;
  return { recipient: 'x@example.org', originalRecipient: null, action: 'failed', status, diagnostic: diagnostic === null ? null : { type, text: diagnostic }, remoteMta: null, ...rest };
}

const BOUNCES: Array<[string, BounceRecipient, string, string]> = [
  ['delivered notice', bounce('2.0.0', '250 ok', { action: 'delivered' }), 'ignore', 'not-a-failure'],
  ['success status without action', bounce('2.1.5', '250 2.1.5 Ok', { action: null }), 'ignore', 'success-status'],
  ['delayed, however it reads', bounce('4.1.1', '450 user unknown', { action: 'delayed' }), 'soft', 'delayed'],
  ['local delivery program', bounce('5.1.1', 'procmail: no such user', { type: 'x-unix' }), 'soft', 'local-delivery-program'],
  ['mailbox full with a bad-mailbox status', bounce('5.2.1', '550 5.2.1 mailbox full'), 'soft', 'mailbox-full'],
  ['full, said only in the text part', bounce('5.1.1', '550 5.1.1 user unknown', { explanation: 'Not enough disk space' }), 'soft', 'mailbox-full'],
  ['quota', bounce('4.2.2', '452 4.2.2 Quota exceeded'), 'soft', 'mailbox-full'],
  ['sender domain does not exist', bounce('5.1.8', '553 5.1.8 Domain of sender address does not exist'), 'policy', 'sender-address'],
  ['spam filter', bounce('5.7.1', '550 5.7.1 Message rejected as spam'), 'policy', 'policy-status'],
  ['blocklisted, status unspecific', bounce('5.0.0', '554 Service unavailable; Client host blocked using zen.spamhaus.org'), 'policy', 'policy-text'],
  ['DMARC reject', bounce('5.0.0', '550 rejected due to DMARC policy'), 'policy', 'policy-text'],
  ['user unknown, unspecific status', bounce('5.0.0', '550 Unknown user'), 'hard', 'unknown-user'],
  ['user unknown on a 4xx the MTA gave up on', bounce('4.1.1', '450 4.1.1 Recipient address rejected: User unknown'), 'hard', 'unknown-user'],
  ['user unknown, said only in the text part', bounce('5.5.0', null, { explanation: 'mail.local: unknown user: kijitora' }), 'hard', 'unknown-user'],
  ['mailbox moved', bounce('5.1.6', '550 5.1.6 recipient no longer on server'), 'hard', 'unknown-user'],
  ['domain without mail', bounce('5.4.4', 'Host or domain name not found. Name service error'), 'hard', 'unknown-host'],
  ['null MX', bounce('5.1.10', '556 5.1.10 Recipient address has null MX'), 'hard', 'unknown-host'],
  ['bare 5.1.1', bounce('5.1.1', '550 5.1.1 Address rejected'), 'hard', 'unknown-user'],
  ['5.1.1 with no text at all', bounce('5.1.1', null), 'hard', 'bad-mailbox-status'],
  ['5.1.2 with a vague text', bounce('5.1.2', '550 5.1.2 bad destination'), 'hard', 'bad-mailbox-status'],
  ['DNS trouble is temporary', bounce('5.4.4', 'Malformed or unexpected name server reply'), 'soft', 'otherwise'],
  ['timeout', bounce('4.4.1', 'connect to example.com: Connection timed out'), 'soft', 'otherwise'],
  ['protocol error', bounce('5.5.0', '503 Improper sequence of commands'), 'soft', 'otherwise'],
];

describe('bounce rules', () => {
  it.each(BOUNCES)('%s → %s', (_name, b, verdict, rule) => {
    expect(rules.bounce(b)).toEqual({ verdict, rule });
  });

  it('every rule in the file decides at least one case above', () => {
    const file = FeedbackRules.load();
    const used = new Set(BOUNCES.map(([, b]) => file.bounce(b).rule));
    for (const id of ['not-a-failure', 'success-status', 'delayed', 'local-delivery-program', 'mailbox-full', 'sender-address', 'policy-status', 'policy-text', 'unknown-user', 'unknown-host', 'bad-mailbox-status', 'otherwise']) {
      expect(used).toContain(id);
    }
  });
});

describe('complaint rules', () => {
  it.each([
    ['abuse', 'complaint'],
    ['Fraud', 'complaint'],
    ['opt-out', 'unsubscribe'],
    ['not-spam', 'ignore'],
    ['auth-failure', 'count'],
    ['x-something-new', 'complaint'],
  ])('%s → %s', (type, action) => {
    expect(rules.complaint(type)).toBe(action);
  });
});

describe('rule files', () => {
  it('a bad rule file is refused with the file and the rule named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-rules-'));
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, 'version: 1\ncomplaints: { abuse: complaint }\nunknownComplaint: complaint\nbounces:\n  - { id: x, when: { status: ["5.1"], text: "(" }, verdict: hard }\n');
    expect(() => FeedbackRules.load(file)).toThrow(/rules\.yaml: bounces\.0\.when\.text: not a valid regular expression/);
    writeFileSync(file, 'version: 1\ncomplaints: { abuse: punish }\nunknownComplaint: complaint\nbounces: [{ id: x, when: {}, verdict: hard }]\n');
    expect(() => FeedbackRules.load(file)).toThrow(/complaints\.abuse/);
  });

  it('a whole-subject status pattern matches every detail of that subject', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-rules-'));
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, 'version: 1\ncomplaints: {}\nunknownComplaint: complaint\nbounces:\n  - { id: a, when: { status: ["5.7.*"] }, verdict: policy }\n  - { id: b, when: { status: ["5.*"] }, verdict: hard }\n  - { id: c, when: {}, verdict: soft }\n');
    const r = FeedbackRules.load(file);
    expect(r.bounce(bounce('5.7.26', null)).rule).toBe('a');
    expect(r.bounce(bounce('5.1.1', null)).rule).toBe('b');
    expect(r.bounce(bounce('4.7.1', null)).rule).toBe('c');
  });
});

describe('garbage', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['random bytes', randomBytes(4096)],
    ['text without header fields', Buffer.from('hello\r\n\r\nthere\r\n')],
    ['an ordinary message', Buffer.from('From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nJust a note.\r\n')],
    ['a broken multipart', Buffer.from('From: a@example.org\r\nContent-Type: multipart/report; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n')],
    ['NUL bytes and long lines', Buffer.concat([Buffer.from('Subject: '), Buffer.alloc(200_000, 0x41), Buffer.from('\0\0\0\r\n\r\n')])],
  ])('%s: read as no report, with the reason, and no exception', async (_name, raw) => {
    const report = await parseReport(raw);
    expect(report.kind).toBe('unknown');
    expect(report.notes.length).toBeGreaterThan(0);
  });
});

describe('RFC 6533 reports', () => {
  it('reads message/global-delivery-status with a UTF-8 recipient, and message/global-headers', async () => {
    const raw = [
      'From: MAILER-DAEMON@mx.example.org',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=global-delivery-status; boundary="g"',
      '',
      '--g',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Delivery failed.',
      '--g',
      'Content-Type: message/global-delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.org',
      '',
      'Final-Recipient: utf-8; 用户@例子.example',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable',
      '',
      '--g',
      'Content-Type: message/global-headers',
      '',
      'From: sender@acme.test',
      'Message-ID: <m1@acme.test>',
      'X-Mailwarden-Ref: 1.acme.AAAA',
      '',
      '--g--',
      '',
    ].join('\r\n');
    const report = await parseReport(Buffer.from(raw, 'utf8'));
    expect(report.kind).toBe('bounce');
    expect(report.bounces).toEqual([expect.objectContaining({ recipient: '用户@例子.example', action: 'failed', status: '5.1.1' })]);
    expect(report.original).toMatchObject({ messageId: '<m1@acme.test>', reference: '1.acme.AAAA' });
    expect(rules.bounce(report.bounces[0]!).verdict).toBe('hard');
  });
});

describe('bounces from a real Sendmail (8.17.1.9, Debian): the status is its own, the text says the same', () => {
  const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/feedback', name));

  it.each([
    ['sendmail-host-unknown.eml', 'dave@nowhere.example', '5.1.2', null, 'unknown-host'],
    ['sendmail-user-unknown.eml', 'erin@lists.isp.example', '5.1.1', { type: 'smtp', text: '550 5.1.1 <erin@lists.isp.example>: Recipient address rejected: User unknown in virtual mailbox table' }, 'unknown-user'],
  ])('%s: hard, suppressing', async (file, recipient, status, diagnostic, rule) => {
    const report = await parseReport(fixture(file));
    expect(report.bounces).toEqual([expect.objectContaining({ recipient, status, diagnostic })]);
    expect(rules.bounce(report.bounces[0]!)).toEqual({ verdict: 'hard', rule });
  });
});

describe('bounces from a real Exim (4.96, Debian) with the generic status 5.0.0 and no diagnostic code', () => {
  const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/feedback', name));

  it.each([
    ['exim-unrouteable.eml', 'bob@nowhere.example', 'unknown-host'],
    ['exim-unknown-user.eml', 'carol@lists.isp.example', 'unknown-user'],
  ])('%s: read from its text, hard, suppressing', async (file, recipient, rule) => {
    const report = await parseReport(fixture(file));
    expect(report.bounces).toEqual([expect.objectContaining({ recipient, status: '5.0.0', diagnostic: null })]);
    expect(rules.bounce(report.bounces[0]!)).toEqual({ verdict: 'hard', rule });
  });
});
