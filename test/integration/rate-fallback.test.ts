// Redis that answers reads but refuses writes (out of memory under noeviction): with
// store.rateLimitFallback on, suspensions and suppressions still come from Redis and rates
// from the process, counted in a metric; with it off, the command gets 451 4.3.0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_HASH, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession } from '../helpers/client.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { scrape, sample } from '../helpers/metrics.js';

describe('rate-limit fallback when Redis refuses writes', () => {
  let upstream: CaptureUpstream;
  let redis: RedisProcess;
  let admin: Redis;
  let withFallback: TestRelay;
  let without: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    redis = await startRedis();
    admin = new Redis(redis.url);
    const tenantLimits = { messages: [{ limit: 3, per: 'hour' }] };
    // two replicas of one deployment: one Redis, one master key
    const masterKeyFile = join(mkdtempSync(join(tmpdir(), 'mw-fallback-')), 'master.key');
    const config = (enabled: boolean) =>
      testConfig(upstream.port, {
        store: { kind: 'redis', url: redis.url, rateLimitFallback: { enabled, retryStoreAfterMs: 300 } },
        keys: { masterKeyFile },
        tenants: [{ id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test'], limits: tenantLimits }],
      });
    withFallback = await startTestRelay(config(true));
    without = await startTestRelay(config(false));
    await withFallback.admin.suppress('acme', [{ address: 'blocked@example.org', reason: 'complaint' }]);
    await withFallback.admin.suspend({ tenant: 'acme', scope: 'sender', value: 'banned@acme.test', reason: 'abuse', actor: 'desk' });
  });
  afterAll(async () => {
    await withFallback?.close();
    await without?.close();
    admin?.disconnect();
    await redis?.stop();
    await upstream?.close();
  });

  async function transaction(relay: TestRelay, from: string, to: string): Promise<{ mail: string; rcpt: string }> {
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    const mail = await s.command(`MAIL FROM:<${from}>`);
    const rcpt = mail.startsWith('250') ? await s.command(`RCPT TO:<${to}>`) : '';
    if (rcpt.startsWith('250')) {
      await s.command('DATA');
      s.write('Subject: t\r\n\r\nbody\r\n.\r\n');
      await s.reply();
    }
    s.destroy();
    return { mail, rcpt };
  }

  it('while Redis is out of memory: policy still enforced, rates from the process, fallback counted', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      // without the fallback: nothing can be charged, so nothing is admitted
      expect((await transaction(without, 'alice@acme.test', 'fine@example.org')).mail).toMatch(/^451 4\.3\.0 /);

      const before = upstream.messages.length;
      // suspension and suppression are still read from Redis
      expect((await transaction(withFallback, 'banned@acme.test', 'fine@example.org')).mail).toMatch(/^550 5\.7\.1 /);
      const blocked = await transaction(withFallback, 'alice@acme.test', 'blocked@example.org');
      expect(blocked.mail).toMatch(/^250/);
      expect(blocked.rcpt).toMatch(/^550 5\.7\.1 /);
      // the tenant's 3 messages an hour, held by this process: two more pass, the next waits
      expect((await transaction(withFallback, 'alice@acme.test', 'one@example.org')).rcpt).toMatch(/^250/);
      expect((await transaction(withFallback, 'alice@acme.test', 'two@example.org')).rcpt).toMatch(/^250/);
      expect((await transaction(withFallback, 'alice@acme.test', 'three@example.org')).mail).toMatch(/^451 4\.7\.1 .*messages\/1h/);
      expect(upstream.messages.length - before).toBe(2);
      expect(upstream.messages.slice(before).flatMap((m) => m.to)).toEqual(['one@example.org', 'two@example.org']);

      const text = await scrape(withFallback.metrics!.port);
      expect(sample(text, 'mailwarden_rate_limit_fallback_total', { stage: 'mail' })).toBeGreaterThanOrEqual(4);
      expect(sample(text, 'mailwarden_rate_limit_fallback_total', { stage: 'recipient' })).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'mailwarden_store_errors_total', { stage: 'mail', kind: 'write_refused' })).toBeGreaterThanOrEqual(1);
      const off = await scrape(without.metrics!.port);
      expect(sample(off, 'mailwarden_rate_limit_fallback_total', { stage: 'mail' })).toBe(0);
      expect(sample(off, 'mailwarden_store_errors_total', { stage: 'mail', kind: 'write_refused' })).toBeGreaterThanOrEqual(1);
      expect(sample(off, 'mailwarden_policy_verdicts_total', { stage: 'mail', verdict: 'reject', reason: 'POLICY_UNAVAILABLE' })).toBe(1);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
  });

  it('once Redis accepts writes again, its own buckets count again', async () => {
    await new Promise((r) => setTimeout(r, 400));
    const counted = () => scrape(withFallback.metrics!.port).then((t) => sample(t, 'mailwarden_rate_limit_fallback_total', { stage: 'mail' }));
    const before = await counted();
    // Redis's bucket for this tenant was never charged while it refused writes
    expect((await transaction(withFallback, 'alice@acme.test', 'four@example.org')).rcpt).toMatch(/^250/);
    expect(await counted()).toBe(before);
    expect((await transaction(without, 'alice@acme.test', 'five@example.org')).rcpt).toMatch(/^250/);
  });
});
