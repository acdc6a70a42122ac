// Redis killed, paused and restarted while mail flows: suppressed recipients are never
// forwarded, every reply comes within 2 s as 451 4.3.0 while Redis cannot answer, and
// service returns by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession, tlsSession, type RawSession } from '../helpers/client.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const PERSIST = ['--appendonly', 'yes', '--appendfsync', 'always', '--enable-debug-command', 'yes'];

describe('Redis outages', () => {
  let upstream: CaptureUpstream;
  let redis: RedisProcess;
  let relay: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    redis = await startRedis(PERSIST);
    relay = await startTestRelay(testConfig(upstream.port, { store: { kind: 'redis', url: redis.url, deadlineMs: 250 } }));
    await relay.admin.suppress('acme', [{ address: 'blocked@example.org', reason: 'complaint' }]);
  });
  afterAll(async () => {
    await relay?.close();
    await redis?.stop();
    await upstream?.close();
  });

  /**
   * One transaction to the suppressed address and one to a clean one, on a session that
   * authenticates now or on one that did before; the replies and how long each took.
   */
  async function attempt(authenticated?: RawSession): Promise<{ auth: string; mail: string; blocked: string; clean: string; slowest: number }> {
    const s = authenticated ?? (await tlsSession(relay.port));
    let slowest = 0;
    const timed = async (line: string) => {
      const t = Date.now();
      const r = await s.command(line, 5000);
      slowest = Math.max(slowest, Date.now() - t);
      return r;
    };
    const auth = authenticated ? '235 before' : await timed(`AUTH PLAIN ${Buffer.from(`\0acme\0${ACME_PASSWORD}`).toString('base64')}`);
    if (!auth.startsWith('235')) {
      s.destroy();
      return { auth, mail: '', blocked: '', clean: '', slowest };
    }
    const mail = await timed('MAIL FROM:<alice@acme.test>');
    const blocked = mail.startsWith('250') ? await timed('RCPT TO:<blocked@example.org>') : '';
    const clean = mail.startsWith('250') ? await timed('RCPT TO:<fine@example.org>') : '';
    if (clean.startsWith('250')) {
      await timed('DATA');
      s.write('Subject: t\r\n\r\nbody\r\n.\r\n');
      await s.reply();
    }
    s.destroy();
    return { auth, mail, blocked, clean, slowest };
  }

  function expectFailClosed(r: Awaited<ReturnType<typeof attempt>>): void {
    expect(r.slowest).toBeLessThan(2000);
    // failed AUTHs cannot be counted: no password is checked either
    if (!r.auth.startsWith('235')) return void expect(r.auth).toMatch(/^454 4\.7\.0 /);
    expect(r.blocked.startsWith('250')).toBe(false);
    if (!r.mail.startsWith('250')) expect(r.mail).toMatch(/^451 4\.3\.0 /);
  }

  it('works normally first', async () => {
    const r = await attempt();
    expect(r.mail).toMatch(/^250/);
    expect(r.blocked).toMatch(/^550 5\.7\.1 /);
    expect(r.clean).toMatch(/^250/);
  });

  it('CLIENT PAUSE: 451 4.3.0 within the deadline, then service by itself', async () => {
    const admin = new Redis(redis.url);
    const before = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    await admin.client('PAUSE', 3000, 'ALL');
    const r = await attempt(before);
    expectFailClosed(r);
    expect(r.mail).toMatch(/^451 4\.3\.0 /);
    const fresh = await attempt();
    expectFailClosed(fresh);
    expect(fresh.auth).toMatch(/^454 4\.7\.0 /);
    await new Promise((res) => setTimeout(res, 3000));
    expect((await attempt()).clean).toMatch(/^250/);
    admin.disconnect();
  });

  it('DEBUG SLEEP: 451 4.3.0 within the deadline, then service by itself', async () => {
    const admin = new Redis(redis.url);
    const before = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    const sleeping = admin.call('DEBUG', 'SLEEP', '2').catch(() => undefined);
    await new Promise((res) => setTimeout(res, 100));
    const r = await attempt(before);
    expectFailClosed(r);
    expect(r.mail).toMatch(/^451 4\.3\.0 /);
    await sleeping;
    expect((await attempt()).clean).toMatch(/^250/);
    admin.disconnect();
  });

  it('killed and restarted: 451 4.3.0 while down, suppression intact and service back after the restart', async () => {
    const port = redis.port;
    const before = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    await redis.stop();
    const down = await attempt(before);
    expectFailClosed(down);
    expect(down.mail).toMatch(/^451 4\.3\.0 /);
    const { startRedisOnPort } = await import('../helpers/redis.js');
    redis = await startRedisOnPort(port, PERSIST, redis.dir);
    let back = await attempt();
    const deadline = Date.now() + 10_000;
    while (!back.mail.startsWith('250') && Date.now() < deadline) {
      expectFailClosed(back);
      await new Promise((res) => setTimeout(res, 200));
      back = await attempt();
    }
    expect(back.mail).toMatch(/^250/);
    expect(back.blocked).toMatch(/^550 5\.7\.1 /);
    expect(back.clean).toMatch(/^250/);
  });

  it('never forwarded the suppressed recipient', () => {
    expect(upstream.messages.length).toBeGreaterThan(0);
    for (const m of upstream.messages) expect(m.to).not.toContain('blocked@example.org');
  });
});
