// AUTH as real clients meet it, on every connection: offered only after STARTTLS, cached when
// the password is right, counted across connections and replicas when it is wrong, and
// refused without a password check once a client address or username has used up its failures.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, GLOBEX_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { RawSession, tlsSession } from '../helpers/client.js';
import { scrape, sample } from '../helpers/metrics.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { hashPassword } from '../../src/tenants/password.js';

const plain = (authzid: string, authcid: string, password: string) => `AUTH PLAIN ${Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64')}`;

async function login(port: number, user: string, pass: string): Promise<string> {
  const s = await tlsSession(port);
  const reply = await s.login(user, pass);
  s.destroy();
  return reply;
}

const verifications = async (relay: TestRelay) => {
  const text = await scrape(relay.metrics!.port);
  return { cached: sample(text, 'mailwarden_auth_verifications_total', { how: 'cached' }), ok: sample(text, 'mailwarden_auth_verifications_total', { how: 'hashed_ok' }), failed: sample(text, 'mailwarden_auth_verifications_total', { how: 'hashed_failed' }) };
};

describe('AUTH', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port, { store: { tenantRefreshMs: 100 }, smtp: { auth: { failuresPerClient: [{ limit: 10, per: 'hour' }], failuresPerUsername: [{ limit: 1000, per: 'hour' }] } } }));
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('is not offered before STARTTLS, and is after it', async () => {
    const s = await RawSession.open(relay.port);
    await s.reply();
    const before = await s.command('EHLO client.test');
    expect(before).toContain('STARTTLS');
    expect(before).not.toMatch(/AUTH/);
    expect(await s.command(plain('', 'acme', ACME_PASSWORD))).toMatch(/^530 5\.7\.0 /);
    await s.starttls();
    expect(await s.command('EHLO client.test')).toMatch(/250-AUTH PLAIN LOGIN/);
    s.destroy();
  });

  it('honours a PLAIN authorization identity only when it is the user itself', async () => {
    for (const [authzid, authcid, expected] of [
      ['globex', 'acme', /^535 5\.7\.8 /],
      ['acme', 'acme', /^235 /],
      ['', 'acme', /^235 /],
      ['acme', '', /^235 /],
    ] as const) {
      const s = await tlsSession(relay.port);
      expect(await s.command(plain(authzid, authcid, ACME_PASSWORD)), `${authzid}/${authcid}`).toMatch(expected);
      s.destroy();
    }
  });

  it('a login verified once costs no scrypt until the password changes in the store', async () => {
    const before = await verifications(relay);
    expect(await login(relay.port, 'globex', GLOBEX_PASSWORD)).toMatch(/^235 /);
    expect(await login(relay.port, 'globex', GLOBEX_PASSWORD)).toMatch(/^235 /);
    expect(await login(relay.port, 'globex', GLOBEX_PASSWORD)).toMatch(/^235 /);
    const after = await verifications(relay);
    expect(after.ok! - before.ok!).toBe(1);
    expect(after.cached! - before.cached!).toBe(2);

    // as `mailwarden tenant set-password` does it (the CLI test runs the command itself)
    await relay.admin.setPassword('globex', await hashPassword('globex-rotated', 10));
    await new Promise((r) => setTimeout(r, 400));
    expect(await login(relay.port, 'globex', GLOBEX_PASSWORD)).toMatch(/^535 5\.7\.8 /);
    expect(await login(relay.port, 'globex', 'globex-rotated')).toMatch(/^235 /);
    const rotated = await verifications(relay);
    expect(rotated.cached).toBe(after.cached);
  });

  it('never shows a password in logs or metrics', async () => {
    const everything = relay.logs.join('\n') + (await scrape(relay.metrics!.port));
    for (const secret of [ACME_PASSWORD, GLOBEX_PASSWORD, 'globex-rotated']) expect(everything).not.toContain(secret);
    expect(everything).not.toContain(Buffer.from(`\0acme\0${ACME_PASSWORD}`).toString('base64'));
  });
});

describe('password guessing from one address', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port, { smtp: { auth: { failuresPerClient: [{ limit: 10, per: 'hour' }], failuresPerUsername: [{ limit: 1000, per: 'hour' }] } } }));
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('30 wrong passwords over 10 connections: after 10, 454 4.7.0 and no scrypt, also for the right password; a success resets nothing', async () => {
    const before = await verifications(relay);
    const replies: string[] = [];
    for (let c = 0; c < 10; c++) {
      const s = await tlsSession(relay.port);
      for (let i = 0; i < 3 && !s.closed; i++) {
        if (c === 1 && i === 0) expect(await s.login('acme', ACME_PASSWORD)).toMatch(/^235 /); // a success in between
        else replies.push(await s.login('acme', `guess-${c}-${i}`));
        if (c === 1 && i === 0) break;
      }
      s.destroy();
    }
    const failedWithScrypt = replies.filter((r) => /^(535 5\.7\.8|421 4\.7\.0) /.test(r));
    const refusedBefore = replies.filter((r) => r.startsWith('454 4.7.0 Too many failed authentication attempts'));
    expect(failedWithScrypt).toHaveLength(10);
    expect(refusedBefore.length).toBe(replies.length - 10);
    expect(refusedBefore.length).toBeGreaterThan(10);
    const after = await verifications(relay);
    expect(after.failed! - before.failed!).toBe(10);
    // the right password from the same address is not checked either
    expect(await login(relay.port, 'acme', ACME_PASSWORD)).toMatch(/^454 4\.7\.0 /);
    expect((await verifications(relay)).ok).toBe(after.ok);
    const text = await scrape(relay.metrics!.port);
    expect(sample(text, 'mailwarden_smtp_refusals_total', { reason: 'AUTH_RATE_LIMITED' })).toBeGreaterThan(10);
    expect(relay.logs.join('\n') + text).not.toMatch(/guess-\d|acme-secret/);
  });

});

describe('failed AUTHs across two relays on one Redis', () => {
  let upstream: CaptureUpstream;
  let redis: RedisProcess;
  const relays: TestRelay[] = [];
  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    redis = await startRedis();
    // one installation: the same master key for both
    const keys = { masterKeyFile: join(mkdtempSync(join(tmpdir(), 'mw-auth-')), 'master.key') };
    for (let i = 0; i < 2; i++) relays.push(await startTestRelay(testConfig(upstream.port, { keys, store: { kind: 'redis', url: redis.url }, smtp: { auth: { failuresPerClient: [{ limit: 100, per: 'hour' }], failuresPerUsername: [{ limit: 6, per: 'hour' }] } } })));
  });
  afterAll(async () => {
    for (const r of relays) await r.close();
    await redis?.stop();
    await upstream?.close();
  });

  it('count together: 6 for one username between them, then 454 on both', async () => {
    const replies: string[] = [];
    for (let i = 0; i < 8; i++) replies.push(await login(relays[i % 2]!.port, 'globex', `wrong-${i}`));
    expect(replies.slice(0, 6).every((r) => r.startsWith('535 5.7.8 '))).toBe(true);
    expect(replies.slice(6)).toEqual(['454 4.7.0 Too many failed authentication attempts, try again later', '454 4.7.0 Too many failed authentication attempts, try again later']);
    expect(await login(relays[0]!.port, 'acme', ACME_PASSWORD)).toMatch(/^235 /);
  });
});
