// What the client hears when the upstream refuses, fails or falls silent, and that nothing
// is ever delivered twice or truncated.
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession, sessionInData, sendMail, message } from '../helpers/client.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const MSG = message({ From: 'alice@acme.test', To: 'bob@example.org', Subject: 'hello' }, 'body\r\n');
const send = (relay: TestRelay, to = ['bob@example.org']) =>
  sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to, message: MSG });

describe('upstream failures', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function relayTo(port: number): Promise<TestRelay> {
    const relay = await startTestRelay(testConfig(port));
    cleanup.push(() => relay.close());
    return relay;
  }
  async function sink(args: string[]): Promise<SmtpSink> {
    const s = await startSmtpSink(args);
    cleanup.push(() => s.stop());
    return s;
  }
  async function capture(opts: Parameters<typeof startCaptureUpstream>[0]): Promise<CaptureUpstream> {
    const c = await startCaptureUpstream(opts);
    cleanup.push(() => c.close());
    return c;
  }

  it('upstream refusing connections → 451 4.4.1', async () => {
    const relay = await relayTo(await freePort());
    const r = await send(relay);
    expect(r.ok).toBe(false);
    expect(r.response).toMatch(/^451 4\.4\.1 /);
  });

  it('upstream greeting with 421 → 451 4.4.0 on the final dot, and the client keeps its session', async () => {
    const busy = createServer((socket) => socket.end('421 4.3.2 mta.upstream.example busy, closing channel\r\n'));
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const relay = await relayTo((busy.address() as AddressInfo).port);
    const s = await sessionInData(relay.port, 'acme', ACME_PASSWORD, MSG);
    expect(await s.command('.')).toMatch(/^451 4\.4\.0 .*busy/);
    // the session goes on: the client may try another transaction on it
    expect(await s.command('RSET')).toMatch(/^250 /);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250 /);
    s.destroy();
  });

  // smtp-sink's hard error is "500 5.3.0 Error: command failed": passed through as it is
  it('upstream hard error at RCPT (smtp-sink -f rcpt) → passed through with its code, nothing delivered', async () => {
    const s = await sink(['-f', 'rcpt']);
    const relay = await relayTo(s.port);
    const r = await send(relay);
    expect(r.ok).toBe(false);
    expect(r.response).toBe('500 5.3.0 Upstream rejected the message: Error: command failed');
    expect(s.messages()).toHaveLength(0);
  });

  it('upstream hard error at end of data (smtp-sink -f .) → passed through with its code, nothing delivered', async () => {
    const s = await sink(['-f', '.']);
    const relay = await relayTo(s.port);
    const r = await send(relay);
    expect(r.ok).toBe(false);
    expect(r.response).toBe('500 5.3.0 Upstream rejected the message: Error: command failed');
    // smtp-sink dumps what it received even when it refuses the dot; it refused, so nothing was delivered
  });

  it('upstream 550 at RCPT → 550 with its enhanced code; the address in its text is not echoed', async () => {
    const c = await capture({ refuseRcpt: { 'bob@example.org': [550, '5.1.1 <bob@example.org>: Recipient address rejected'] } });
    const relay = await relayTo(c.port);
    const r = await send(relay);
    expect(r.response).toBe('550 5.1.1 Upstream rejected the message: <address>: Recipient address rejected');
    expect(c.started).toBe(0);
  });

  it('upstream 550 at end of data → 550 with its enhanced code, nothing delivered', async () => {
    const c = await capture({ dataReply: [550, '5.7.1 Message content rejected'] });
    const relay = await relayTo(c.port);
    const r = await send(relay);
    expect(r.response).toBe('550 5.7.1 Upstream rejected the message: Message content rejected');
    expect(c.messages).toHaveLength(0);
  });

  it('upstream 4xx at end of data → 451 with the upstream code passed through', async () => {
    const c = await capture({ dataReply: [452, '4.3.1 Insufficient system storage'] });
    const relay = await relayTo(c.port);
    const r = await send(relay);
    expect(r.response).toMatch(/^452 4\.3\.1 Upstream deferred the message, try again later: Insufficient system storage$/);
    expect(c.messages).toHaveLength(0);
  });

  it('upstream silent after the dot → 451 4.4.2 within the configured time', async () => {
    const c = await capture({ silentAfterDot: true });
    const relay = await relayTo(c.port);
    const started = Date.now();
    const r = await send(relay);
    expect(r.response).toMatch(/^451 4\.4\.2 /);
    // finalReplyMs is 1500 in the test configuration
    expect(Date.now() - started).toBeLessThan(5000);
    expect(c.messages).toHaveLength(0);
  });

  it('client dropping mid-DATA → upstream transaction aborted, nothing delivered', async () => {
    const c = await capture({});
    const relay = await relayTo(c.port);
    const s = await sessionInData(relay.port, 'acme', ACME_PASSWORD, `Subject: cut\r\n\r\n${'line of text\r\n'.repeat(5000)}`);
    await waitFor(() => c.started === 1);
    s.destroy();
    await waitFor(() => relay.logs.some((l) => l.includes('client disconnected during DATA')));
    await new Promise((r) => setTimeout(r, 200));
    expect(c.messages).toHaveLength(0);
  });

  it('some recipients refused by the upstream → 250 for the message, a DSN to the sender for the others', async () => {
    const c = await capture({ refuseRcpt: { 'gone@example.org': [550, '5.1.1 <gone@example.org>: user unknown'] } });
    const relay = await relayTo(c.port);
    const r = await send(relay, ['bob@example.org', 'gone@example.org']);
    expect(r.ok).toBe(true);
    expect(r.response).toMatch(/^250 2\.0\.0 .*1 recipient\(s\) refused by upstream, the sender will be notified$/);
    await waitFor(() => c.messages.length === 2);
    const [delivered, dsn] = c.messages;
    expect(delivered!.to).toEqual(['bob@example.org']);
    expect(dsn!.from).toBe('');
    expect(dsn!.to).toEqual(['alice@acme.test']);
    const text = dsn!.raw.toString('utf8');
    expect(text).toContain('Content-Type: multipart/report; report-type=delivery-status');
    expect(text).toMatch(/Final-Recipient: rfc822; gone@example\.org\r\nAction: failed\r\nStatus: 5\.1\.1\r\n/);
    expect(text).toContain('Content-Type: text/rfc822-headers');
    expect(text).toContain('Subject: hello');
    expect(text).not.toContain('Final-Recipient: rfc822; bob@');
  });

  it('the DSN reaches an upstream without 8BITMIME: an ASCII notification does not ask for it', async () => {
    const c = await capture({ refuseRcpt: { 'gone@example.org': [550, '5.1.1 user unknown'] }, without: { eightBitMime: true } });
    const relay = await relayTo(c.port);
    expect((await send(relay, ['bob@example.org', 'gone@example.org'])).ok).toBe(true);
    await waitFor(() => c.messages.length === 2);
    expect(c.messages[1]).toMatchObject({ from: '', to: ['alice@acme.test'] });
    expect(c.messages[1]!.bodyType).not.toBe('8bitmime');
  });

  it('a null-sender message with recipients refused: the 250 promises no notification, and none is sent', async () => {
    const c = await capture({ refuseRcpt: { 'gone@example.org': [550, '5.1.1 user unknown'] } });
    const relay = await relayTo(c.port);
    const r = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: '', to: ['bob@example.org', 'gone@example.org'], message: MSG });
    expect(r.response).toMatch(/^250 2\.0\.0 Ok: queued as \S+; 1 recipient\(s\) refused by upstream$/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(c.messages).toHaveLength(1);
  });

  describe('an upstream that takes 5 recipients per message, a client that sends 7', () => {
    const seven = Array.from({ length: 7 }, (_, i) => `r${i}@example.org`);

    /** one transaction as a client MTA sends it; returns the recipients refused with 452, which it sends again next time */
    async function transaction(relay: TestRelay, to: string[]): Promise<{ deferred: string[]; reply: string }> {
      const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
      expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
      const deferred: string[] = [];
      let accepted = 0;
      for (const r of to) {
        const reply = await s.command(`RCPT TO:<${r}>`);
        if (reply.startsWith('452 4.5.3 ')) deferred.push(r);
        else if (reply.startsWith('250')) accepted++;
        else throw new Error(`RCPT: ${reply}`);
      }
      let reply = '';
      if (accepted > 0) {
        expect(await s.command('DATA')).toMatch(/^354/);
        reply = await s.command(`${MSG}.`);
      }
      await s.command('QUIT');
      s.destroy();
      return { deferred, reply };
    }

    it('configured (upstream.maxRecipients: 5): the client sends the last 2 again and all 7 are delivered, no DSN', async () => {
      const c = await capture({ maxRecipients: 5 });
      const relay = await startTestRelay(testConfig(c.port, { upstream: { maxRecipients: 5 } }));
      cleanup.push(() => relay.close());
      const first = await transaction(relay, seven);
      expect(first.deferred).toEqual(['r5@example.org', 'r6@example.org']);
      expect(first.reply).toMatch(/^250 2\.0\.0 Ok: queued as \S+$/);
      expect((await transaction(relay, first.deferred)).reply).toMatch(/^250 /);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.messages.map((m) => m.to)).toEqual([seven.slice(0, 5), seven.slice(5)]);
      expect(c.messages.filter((m) => m.from === '')).toHaveLength(0);
    });

    it('learned: after the upstream answered 452 once, later transactions take no more than it took', async () => {
      const c = await capture({ maxRecipients: 5 });
      const relay = await relayTo(c.port);
      // the first time the upstream's limit is news: the 2 it refused get a DSN
      expect((await transaction(relay, seven)).deferred).toEqual([]);
      await waitFor(() => c.messages.length === 2);
      expect(c.messages[1]).toMatchObject({ from: '', to: ['alice@acme.test'] });
      const next = await transaction(relay, seven);
      expect(next.deferred).toEqual(['r5@example.org', 'r6@example.org']);
      expect((await transaction(relay, next.deferred)).reply).toMatch(/^250 /);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.messages.slice(2).map((m) => m.to)).toEqual([seven.slice(0, 5), seven.slice(5)]);
    });
  });

  it('every recipient refused, some only temporarily → 4xx so the client retries', async () => {
    const c = await capture({ refuseRcpt: { 'a@example.org': [550, '5.1.1 unknown'], 'b@example.org': [450, '4.2.1 try later'] } });
    const relay = await relayTo(c.port);
    const r = await send(relay, ['a@example.org', 'b@example.org']);
    expect(r.response).toMatch(/^450 4\.2\.1 /);
  });

  it('a message that needs SMTPUTF8 or 8BITMIME is refused, not altered, when the upstream lacks it', async () => {
    const c = await capture({ without: { smtpUtf8: true, eightBitMime: true } });
    const relay = await relayTo(c.port);
    const utf8 = await sessionInData(relay.port, 'acme', ACME_PASSWORD, '', 'MAIL FROM:<alice@acme.test> SMTPUTF8');
    utf8.write('Subject: grüße\r\n\r\nbody\r\n.\r\n');
    expect(await utf8.reply()).toMatch(/^550 5\.6\.7 /);
    utf8.destroy();
    const eight = await sessionInData(relay.port, 'acme', ACME_PASSWORD, '', 'MAIL FROM:<alice@acme.test> BODY=8BITMIME');
    eight.write('Subject: x\r\n\r\nbödy\r\n.\r\n');
    expect(await eight.reply()).toMatch(/^554 5\.6\.3 /);
    eight.destroy();
    // plain 7-bit mail still goes through
    expect((await send(relay)).ok).toBe(true);
    expect(c.messages).toHaveLength(1);
  });

  it('passes SMTPUTF8 on for UTF-8 header fields even when every address is ASCII', async () => {
    const c = await capture({});
    const relay = await relayTo(c.port);
    const s = await sessionInData(relay.port, 'acme', ACME_PASSWORD, 'Subject: grüße\r\n\r\nbody\r\n.\r\n', 'MAIL FROM:<alice@acme.test> SMTPUTF8');
    expect(await s.reply()).toMatch(/^250 /);
    s.destroy();
    expect(c.messages[0]!.smtpUtf8).toBe(true);
  });

  it('never writes a recipient address to its logs', async () => {
    const c = await capture({ refuseRcpt: { 'gone@example.org': [550, '5.1.1 <gone@example.org>: user unknown'] } });
    const relay = await relayTo(c.port);
    await send(relay, ['bob@example.org', 'gone@example.org']);
    await waitFor(() => c.messages.length === 2);
    await relay.close();
    const all = relay.logs.join('\n');
    expect(relay.logs.length).toBeGreaterThan(3);
    expect(all).not.toMatch(/bob@|gone@|@example\.org/);
    const relayed = relay.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'message relayed');
    expect(relayed).toMatchObject({ tenant: 'acme', accepted: 1, refused: 1, rcptCount: 2 });
    expect(relayed!.session).toMatch(/^[0-9a-v]{16}$/);
  });
});
