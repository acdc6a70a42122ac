// Clients that reconnect resume their TLS session after STARTTLS (session tickets, TLS 1.2 and
// 1.3): smtp-server upgrades every connection with the listener's one secure context, whose
// ticket keys OpenSSL draws when the relay starts (so a ticket is good on the replica that
// issued it, until it restarts).
import { connect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, type TestRelay } from '../helpers/relay.js';

async function starttls(port: number, session: Buffer | undefined, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<{ reused: boolean; session: Buffer | undefined; protocol: string | null }> {
  const plain = connect(port, '127.0.0.1');
  let buffer = '';
  const reply = () =>
    new Promise<string>((resolve) => {
      const onData = (d: Buffer) => {
        buffer += d.toString('latin1');
        const m = /^(?:\d{3}-[^\n]*\n)*\d{3} [^\n]*\n/.exec(buffer);
        if (m) {
          plain.off('data', onData);
          buffer = buffer.slice(m[0].length);
          resolve(m[0]);
        }
      };
      plain.on('data', onData);
    });
  await reply();
  plain.write('EHLO client.test\r\n');
  await reply();
  plain.write('STARTTLS\r\n');
  expect(await reply()).toMatch(/^220 /);
  const secure: TLSSocket = tlsConnect({ socket: plain, rejectUnauthorized: false, session, maxVersion });
  let ticket: Buffer | undefined;
  secure.on('session', (s: Buffer) => (ticket = s));
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  // TLS 1.3 tickets arrive after the handshake
  secure.write('EHLO client.test\r\n');
  await new Promise((r) => secure.once('data', r));
  const out = { reused: secure.isSessionReused(), session: ticket ?? secure.getSession(), protocol: secure.getProtocol() };
  secure.destroy();
  return out;
}

describe('TLS session resumption after STARTTLS', () => {
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

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: a reconnecting client resumes its session', async (version) => {
    const first = await starttls(relay.port, undefined, version);
    expect(first).toMatchObject({ reused: false, protocol: version });
    expect(first.session).toBeDefined();
    const second = await starttls(relay.port, first.session, version);
    expect(second).toMatchObject({ reused: true, protocol: version });
  });
});
