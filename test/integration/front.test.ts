// The SMTP front towards clients: TLS before AUTH, AUTH before relaying, tenants confined
// to their own sender domains, limits, and STARTTLS command injection.
import { randomBytes } from 'node:crypto';
import { getHeapSnapshot } from 'node:v8';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { RawSession, authedSession, tlsSession } from '../helpers/client.js';
import { sample, scrape } from '../helpers/metrics.js';

describe('SMTP front', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(
      testConfig(upstream.port, {
        smtp: { limits: { maxRecipients: 3, maxMessageBytes: 20_000, maxHops: 5, maxConnectionsPerIp: 4 } },
      }),
    );
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('greets at once, advertises STARTTLS, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES and no AUTH before TLS', async () => {
    const s = await RawSession.open(relay.port);
    expect(await s.reply()).toMatch(/^220 relay\.test ESMTP/);
    const ehlo = await s.command('EHLO client.test');
    for (const ext of ['STARTTLS', 'SIZE 20000', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'PIPELINING']) expect(ehlo).toContain(ext);
    s.destroy();
  });

  it('refuses TLS older than 1.2', async () => {
    const s = await RawSession.open(relay.port);
    await s.reply();
    await s.command('EHLO client.test');
    await expect(s.starttls('', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).rejects.toThrow(/protocol version|unsupported protocol/i);
    s.destroy();
  });

  it('refuses relaying without AUTH with 530 5.7.0', async () => {
    const s = await tlsSession(relay.port);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^530 5\.7\.0 /);
    s.destroy();
  });

  it('refuses AUTH before STARTTLS with 530 5.7.0', async () => {
    const s = await RawSession.open(relay.port);
    await s.reply();
    await s.command('EHLO client.test');
    expect(await s.login('acme', ACME_PASSWORD)).toMatch(/^530 5\.7\.0 Must issue a STARTTLS command first/);
    s.destroy();
  });

  it('answers a wrong password with 535 5.7.8', async () => {
    const s = await tlsSession(relay.port);
    expect(await s.login('acme', 'wrong')).toMatch(/^535 5\.7\.8 /);
    expect(await s.login('nobody', 'wrong')).toMatch(/^535 5\.7\.8 /);
    // the third failure on one connection closes it
    expect(await s.login('acme', 'guess')).toMatch(/^421 4\.7\.0 Too many failed authentication attempts/);
    expect(await s.reply(2000)).toBe('');
    s.destroy();
    // counted by reason, for the operators' dashboards and the brute-force alert
    const metrics = await scrape(relay.metrics!.port);
    expect(sample(metrics, 'mailwarden_smtp_refusals_total', { reason: 'AUTH_FAILED' })).toBe(2);
    expect(sample(metrics, 'mailwarden_smtp_refusals_total', { reason: 'AUTH_TOO_MANY_FAILURES' })).toBe(1);
  });

  it("refuses another tenant's sender domain with 550 5.7.1, and accepts its own and the null sender", async () => {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<ceo@globex.test>')).toMatch(/^550 5\.7\.1 /);
    expect(await s.command('MAIL FROM:<ALICE@ACME.TEST>')).toMatch(/^250/);
    await s.command('RSET');
    expect(await s.command('MAIL FROM:<>')).toMatch(/^250/);
    s.destroy();
  });

  // RFC 5321 §4.1.1.5: RSET drops the transaction; the relay keeps nothing of its envelope
  // (the relay runs in this process: a heap snapshot holds every string still reachable)
  it('RSET lets go of the envelope: no recipient of the dropped transaction stays in memory', async () => {
    const tag = randomBytes(6).toString('hex');
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    expect(await s.command(`RCPT TO:<dropped.${tag}@example.org>`)).toMatch(/^250/);
    expect(await s.command('RSET')).toMatch(/^250/);
    expect(await s.command(`RCPT TO:<after.${tag}@example.org>`)).toMatch(/^503 /);
    const heap = await text(getHeapSnapshot());
    expect(heap).toContain(tag);
    expect(heap).not.toContain(`dropped.${tag}@example.org`);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    s.destroy();
  });

  it('discards commands pipelined after STARTTLS in the same packet', async () => {
    const s = await RawSession.open(relay.port);
    await s.reply();
    await s.command('EHLO client.test');
    // a man in the middle would append these in plaintext behind STARTTLS
    expect(await s.starttls('MAIL FROM:<alice@acme.test>\r\nRCPT TO:<bob@example.org>\r\n')).toMatch(/^220/);
    const ehlo = await s.command('EHLO client.test');
    expect(ehlo).toMatch(/^250-relay\.test/);
    expect(await s.login('acme', ACME_PASSWORD)).toMatch(/^235/);
    // had the injected MAIL been executed, this would be 503 nested MAIL
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    expect(await s.command('DATA')).toMatch(/^503/);
    s.destroy();
  });

  it('caps recipients per message with 452 4.5.3', async () => {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    await s.command('MAIL FROM:<alice@acme.test>');
    for (let i = 0; i < 3; i++) expect(await s.command(`RCPT TO:<r${i}@example.org>`)).toMatch(/^250/);
    expect(await s.command('RCPT TO:<r3@example.org>')).toMatch(/^452 4\.5\.3 /);
    s.destroy();
  });

  it('refuses SIZE over the limit at MAIL and an oversized message at the dot, forwarding nothing', async () => {
    const before = upstream.messages.length;
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<alice@acme.test> SIZE=30000')).toMatch(/^552 5\.3\.4 /);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    await s.command('RCPT TO:<bob@example.org>');
    expect(await s.command('DATA')).toMatch(/^354/);
    s.write(`Subject: big\r\n\r\n${'y'.repeat(76)}\r\n`.repeat(1)+`${'z'.repeat(76)}\r\n`.repeat(400) + '.\r\n');
    expect(await s.reply()).toMatch(/^552 5\.3\.4 /);
    s.destroy();
    expect(upstream.messages.length).toBe(before);
  });

  describe('strict input: each rule, its exact reply, and nothing reaching the upstream', () => {
    it.each([
      ['an unknown MAIL parameter', 'MAIL FROM:<alice@acme.test> FOO=BAR', null, /^555 5\.5\.4 /],
      ['a DSN parameter on MAIL (DSN is not offered)', 'MAIL FROM:<alice@acme.test> RET=HDRS', null, /^555 5\.5\.4 /],
      ['a RCPT parameter (DSN is not offered)', 'MAIL FROM:<alice@acme.test>', 'RCPT TO:<bob@example.org> NOTIFY=NEVER', /^555 5\.5\.4 /],
      ['the parameters of the offered extensions', 'MAIL FROM:<alice@acme.test> SIZE=100 BODY=8BITMIME SMTPUTF8 AUTH=<>', 'RCPT TO:<bob@example.org>', /^250 /],
    ])('%s', async (_name, mail, rcpt, expected) => {
      const started = upstream.started;
      const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
      const mailReply = await s.command(mail);
      if (rcpt === null) expect(mailReply).toMatch(expected);
      else {
        expect(mailReply).toMatch(/^250 /);
        expect(await s.command(rcpt)).toMatch(expected);
      }
      s.destroy();
      expect(upstream.started).toBe(started);
    });

    it.each([
      ['a body line over 998 octets', `Subject: long\r\n\r\n${'x'.repeat(999)}\r\n`],
      ['a header line over 998 octets', `Subject: ${'x'.repeat(1000)}\r\n\r\nbody\r\n`],
      ['a 10 KB header line', `X-Big: ${'x'.repeat(10_000)}\r\n\r\nbody\r\n`],
    ])('%s: 554 5.6.0, the upstream transaction aborted', async (_name, content) => {
      const before = upstream.messages.length;
      const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
      await s.command('MAIL FROM:<alice@acme.test>');
      await s.command('RCPT TO:<bob@example.org>');
      expect(await s.command('DATA')).toMatch(/^354/);
      s.write(`${content}.\r\n`);
      expect(await s.reply()).toMatch(/^554 5\.6\.0 /);
      s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      expect(upstream.messages.length).toBe(before);
    });
  });

  it('refuses a message with too many Received: fields as a loop (554 5.4.6)', async () => {
    const before = upstream.messages.length;
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    await s.command('MAIL FROM:<alice@acme.test>');
    await s.command('RCPT TO:<bob@example.org>');
    await s.command('DATA');
    s.write('Received: from a by b; Sat, 21 Nov 2026 10:00:00 +0000\r\n'.repeat(6) + 'Subject: loop\r\n\r\nbody\r\n.\r\n');
    expect(await s.reply()).toMatch(/^554 5\.4\.6 /);
    s.destroy();
    expect(upstream.messages.length).toBe(before);
  });

  it('caps connections per client address with 421 4.7.0', async () => {
    const open: RawSession[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await RawSession.open(relay.port);
      expect(await s.reply()).toMatch(/^220/);
      open.push(s);
    }
    const extra = await RawSession.open(relay.port);
    expect(await extra.reply()).toMatch(/^421 4\.7\.0 /);
    extra.destroy();
    for (const s of open) s.destroy();
    // once they are gone, the address may connect again
    const deadline = Date.now() + 3000;
    for (;;) {
      const again = await RawSession.open(relay.port);
      const greeting = await again.reply();
      again.destroy();
      if (greeting.startsWith('220')) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('relays SMTPUTF8 and IDN addresses with the domain in A-label form, and passes 8BITMIME on', async () => {
    const before = upstream.messages.length;
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<jörg@bücher.example> SMTPUTF8 BODY=8BITMIME')).toMatch(/^250/);
    expect(await s.command('RCPT TO:<zoë@exämple.org>')).toMatch(/^250/);
    expect(await s.command('DATA')).toMatch(/^354/);
    s.write(Buffer.from('Subject: grüße\r\n\r\nünïcödé body\r\n.\r\n', 'utf8'));
    expect(await s.reply()).toMatch(/^250 2\.0\.0/);
    s.destroy();
    const got = upstream.messages[before]!;
    // the receiving smtp-server shows A-label domains in Unicode form again
    expect(got.from).toBe('jörg@bücher.example');
    expect(got.to).toEqual(['zoë@exämple.org']);
    expect(got.smtpUtf8).toBe(true);
    expect(got.bodyType).toBe('8bitmime');
    expect(got.raw.toString('utf8')).toContain('ünïcödé body');
  });

  it('refuses a non-ASCII address without SMTPUTF8 (553 5.6.7)', async () => {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<jörg@acme.test>')).toMatch(/^553 5\.6\.7 /);
    s.destroy();
  });

  it('accepts an IDN sender domain given in A-label form', async () => {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<info@xn--bcher-kva.example>')).toMatch(/^250/);
    s.destroy();
  });
});
