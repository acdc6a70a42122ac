// Session deadlines and command length: a client cannot hold a connection for ever or feed
// the relay an endless line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { RawSession, authedSession } from '../helpers/client.js';

describe('deadlines and command length', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(
      testConfig(upstream.port, { smtp: { limits: { idleTimeoutMs: 300, sessionTimeoutMs: 1500, maxCommandLength: 1024 } } }),
    );
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('disconnects a client that stays silent past the idle deadline', async () => {
    const s = await RawSession.open(relay.port);
    expect(await s.reply()).toMatch(/^220/);
    expect(await s.reply(3000)).toMatch(/^421 4\.4\.2 /);
    expect(await s.reply(3000)).toBe('');
  });

  it('closes a session that outlives the total deadline, however busy it is', async () => {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    let reply = '';
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      reply = await s.command('NOOP');
      if (!reply.startsWith('250')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reply).toMatch(/^421 4\.4\.2 Session time limit reached/);
  });

  it('refuses a command line over the limit with 500 5.5.2 and keeps the session', async () => {
    const s = await RawSession.open(relay.port);
    await s.reply();
    expect(await s.command(`EHLO ${'a'.repeat(2000)}`)).toMatch(/^500 5\.5\.2 .*too long/i);
    // also when the line comes in pieces, each shorter than the limit
    s.write(`NOOP ${'b'.repeat(800)}`);
    await new Promise((r) => setTimeout(r, 50));
    expect(await s.command('b'.repeat(800))).toMatch(/^500 5\.5\.2 /);
    expect(await s.command('EHLO client.test')).toMatch(/^250/);
    s.destroy();
  });

  it.each([
    ['a bare LF ends a command', 'NOOP\n'],
    ['a bare CR inside a command', 'MAIL FROM:<a@acme.test>\rRCPT TO:<b@example.org>\r\n'],
    ['a CR before CRLF', 'NOOP\r\r\n'],
  ])('%s: 501 5.5.2, the whole line refused, the session kept', async (_name, line) => {
    const s = await RawSession.open(relay.port);
    await s.reply();
    expect(await s.command('EHLO client.test')).toMatch(/^250/);
    s.write(line);
    expect(await s.reply()).toMatch(/^501 5\.5\.2 /);
    expect(await s.command('NOOP')).toMatch(/^250/);
    s.destroy();
  });

  it('never writes a credential to its logs', () => {
    expect(relay.logs.length).toBeGreaterThan(0);
    expect(relay.logs.join('\n')).not.toContain(ACME_PASSWORD);
    expect(relay.logs.join('\n')).not.toContain(Buffer.from(`\0acme\0${ACME_PASSWORD}`).toString('base64'));
  });
});
