// SMTP smuggling: a malformed end-of-data sequence followed by a second transaction inside
// the same DATA. smtp-server only ends DATA at <CRLF>.<CRLF>, so the whole thing reaches the
// guard as one message, which refuses it; the upstream must receive nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession } from '../helpers/client.js';

const SEQUENCES: Array<[string, string]> = [
  ['\\n.\\n', '\n.\n'],
  ['\\r.\\r', '\r.\r'],
  ['\\r.\\n', '\r.\n'],
  ['\\n.\\r', '\n.\r'],
  ['\\n.\\r\\n', '\n.\r\n'],
  ['\\r\\n.\\n', '\r\n.\n'],
  ['\\r.\\r\\n', '\r.\r\n'],
  ['\\r\\n.\\r', '\r\n.\r'],
  ['\\r\\n\\x00.\\r\\n', '\r\n\x00.\r\n'],
  ['\\r\\n.\\x00\\r\\n', '\r\n.\x00\r\n'],
];

describe('malformed end-of-data sequences', () => {
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

  it.each(SEQUENCES)('%s followed by a smuggled transaction is refused and nothing is forwarded', async (_name, seq) => {
    const before = upstream.messages.length;
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    expect(await s.command('RCPT TO:<bob@example.org>')).toMatch(/^250/);
    expect(await s.command('DATA')).toMatch(/^354/);
    s.write(
      'From: alice@acme.test\r\nSubject: innocent\r\n\r\nfirst message' +
        seq +
        'MAIL FROM:<ceo@acme.test>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n' +
        'From: ceo@acme.test\r\nSubject: smuggled\r\n\r\nsmuggled message\r\n.\r\n',
    );
    const reply = await s.reply();
    expect(reply).toMatch(seq.includes('\x00') ? /^550 5\.6\.0 NUL/ : /^550 5\.5\.2 Bare <(CR|LF)>/);
    // the session stays usable, and a clean message after it goes through alone
    expect(await s.command('MAIL FROM:<alice@acme.test>')).toMatch(/^250/);
    expect(await s.command('RCPT TO:<carol@example.org>')).toMatch(/^250/);
    expect(await s.command('DATA')).toMatch(/^354/);
    s.write('Subject: clean\r\n\r\nclean\r\n.\r\n');
    expect(await s.reply()).toMatch(/^250 2\.0\.0/);
    await s.command('QUIT');
    s.destroy();
    const delivered = upstream.messages.slice(before);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.to).toEqual(['carol@example.org']);
    expect(delivered[0]!.raw.toString('latin1')).not.toContain('smuggled');
  });
});
