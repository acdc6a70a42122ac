// A DKIM-signed message relayed through mailwarden to Postfix's smtp-sink verifies there
// with an independent verifier (mailauth), and arrives byte for byte as sent, apart from
// the trace header field mailwarden prepends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import nodemailer from 'nodemailer';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { sendMail } from '../helpers/client.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKeyB64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

async function signedMessage(): Promise<Buffer> {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    dkim: { domainName: 'acme.test', keySelector: 'mw', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
  });
  const info = await transport.sendMail({
    from: 'Alice <alice@acme.test>',
    to: 'bob@example.org',
    subject: 'Quarterly figures — ünïcode in the subject',
    text: 'Line one\r\n.Line starting with a dot\r\n..two dots\r\n\r\nTrailing spaces   \r\n' + 'x'.repeat(3000),
    attachments: [{ filename: 'data.bin', content: Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256)) }],
  });
  return info.message as Buffer;
}

const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === 'mw._domainkey.acme.test') return [[`v=DKIM1; k=rsa; p=${publicKeyB64}`]];
  const err = new Error('not found') as Error & { code: string };
  err.code = 'ENOTFOUND';
  throw err;
};

function stripTrace(received: Buffer | string, eol: string): string {
  const text = received.toString();
  const first = `Received: from `;
  expect(text.startsWith(first)).toBe(true);
  // mailwarden's Received: field is exactly three lines, then its reference field and its continuations
  const lines = text.split(eol);
  expect(lines[3]).toMatch(/^X-Mailwarden-Ref: 1\.acme\./);
  let end = 4;
  while (/^ /.test(lines[end]!)) end++;
  return lines.slice(end).join(eol);
}

describe('byte transparency', () => {
  let sink: SmtpSink;
  let capture: CaptureUpstream;
  let viaSink: TestRelay;
  let viaCapture: TestRelay;

  beforeAll(async () => {
    sink = await startSmtpSink();
    capture = await startCaptureUpstream();
    viaSink = await startTestRelay(testConfig(sink.port));
    viaCapture = await startTestRelay(testConfig(capture.port));
  });
  afterAll(async () => {
    await viaSink?.close();
    await viaCapture?.close();
    await sink?.stop();
    await capture?.close();
  });

  it('a DKIM signature that verifies before the relay verifies at smtp-sink after it', async () => {
    const original = await signedMessage();
    const before = await dkimVerify(original, { resolver });
    expect(before.results[0]?.status.result).toBe('pass');

    const sent = await sendMail({ port: viaSink.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['bob@example.org'], message: original });
    expect(sent.response).toMatch(/^250 2\.0\.0 /);

    const [got] = sink.messages();
    expect(got).toBeDefined();
    const arrived = got!.message.replace(/\n/g, '\r\n');
    const after = await dkimVerify(Buffer.from(arrived, 'latin1'), { resolver });
    expect(after.results[0]?.status.result).toBe('pass');
    expect(stripTrace(arrived, '\r\n')).toBe(original.toString('latin1'));
  });

  it('arrives byte-identical apart from the prepended Received: and X-Mailwarden-Ref: fields', async () => {
    const original = await signedMessage();
    const sent = await sendMail({ port: viaCapture.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['bob@example.org'], message: original });
    expect(sent.ok).toBe(true);
    const [got] = capture.messages;
    expect(got!.to).toEqual(['bob@example.org']);
    expect(got!.from).toBe('alice@acme.test');
    const raw = got!.raw;
    const trace = raw.subarray(0, raw.length - original.length).toString('latin1');
    expect(trace).toMatch(
      /^Received: from \S+ \(.*\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(mailwarden\) with ESMTPSA id \S+;\r\n\t\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\nX-Mailwarden-Ref: 1\.acme\.[A-Za-z0-9_-]+(\r\n [A-Za-z0-9_-]+)*\r\n$/,
    );
    // every line within the recommended 78 characters; the recipient only encrypted
    for (const line of trace.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(trace).not.toContain('bob@');
    expect(trace).not.toContain('example.org');
    expect(Buffer.compare(raw.subarray(trace.length), original)).toBe(0);
  });
});
