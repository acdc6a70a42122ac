// Behind a TCP load balancer: with smtp.proxyFrom, the client address in the PROXY header is
// the one tenant networks and per-address limits apply to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_HASH, type TestRelay } from '../helpers/relay.js';
import { RawSession } from '../helpers/client.js';

describe('PROXY protocol', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(
      testConfig(upstream.port, {
        smtp: { proxyFrom: ['127.0.0.1'] },
        tenants: [
          { id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test'] },
          { id: 'netco', domains: ['net.test'], networks: ['203.0.113.0/24'] },
        ],
      }),
    );
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  async function session(proxyLine: string | null): Promise<RawSession> {
    const s = await RawSession.open(relay.port);
    if (proxyLine) s.write(`${proxyLine}\r\n`);
    return s;
  }

  it('takes the client address from the header: a tenant network relays without AUTH', async () => {
    const s = await session('PROXY TCP4 203.0.113.7 127.0.0.1 40000 2525');
    expect(await s.reply()).toMatch(/^220 /);
    expect(await s.command('EHLO client.net.test')).toMatch(/^250/);
    expect(await s.command('MAIL FROM:<news@net.test>')).toMatch(/^250/);
    s.destroy();
  });

  it('an address outside the tenant\'s networks needs AUTH, whatever the load balancer\'s own address', async () => {
    const s = await session('PROXY TCP4 198.51.100.9 127.0.0.1 40001 2525');
    expect(await s.reply()).toMatch(/^220 /);
    await s.command('EHLO elsewhere.example');
    expect(await s.command('MAIL FROM:<news@net.test>')).toMatch(/^530 5\.7\.0 /);
    s.destroy();
  });

  it('a trusted peer that sends no header is not served', async () => {
    const s = await session(null);
    s.write('EHLO direct.example\r\n');
    const first = await s.reply(3000).catch(() => '');
    expect(first).not.toMatch(/^220 /);
    s.destroy();
  });
});
