// /readyz: ready while the store answers and the upstream is reachable; not ready when the
// upstream cannot be reached or the store does not answer.
import { describe, expect, it } from 'vitest';
import { startCaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD } from '../helpers/relay.js';
import { sendMail } from '../helpers/client.js';
import { startRedis } from '../helpers/redis.js';
import { scrape, sample } from '../helpers/metrics.js';

async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('/readyz', () => {
  it('is ready with a reachable upstream, and not once the upstream cannot be reached', async () => {
    const upstream = await startCaptureUpstream();
    const relay = await startTestRelay(testConfig(upstream.port));
    try {
      expect(await readyz(relay.metrics!.port)).toEqual({ status: 200, body: { status: 'ready', ready: true, store: 'ok', upstream: 'ok', tenants: 'ok', draining: false, causes: [] } });
      const ok = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['bob@example.org'], message: 'Subject: s\r\n\r\nbody\r\n' });
      expect(ok.ok).toBe(true);
      await upstream.close();
      // the next message finds the upstream gone
      const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['bob@example.org'], message: 'Subject: s\r\n\r\nb\r\n' });
      expect(sent.response).toMatch(/^451 4\.4\.1/);
      expect(await readyz(relay.metrics!.port)).toMatchObject({ status: 503, body: { status: 'not ready', upstream: 'unreachable', store: 'ok', causes: ['the upstream cannot be reached'] } });
      expect((await fetch(`http://127.0.0.1:${relay.metrics!.port}/healthz`)).status).toBe(200);
      // and the metrics saw both transactions
      const text = await scrape(relay.metrics!.port);
      expect(sample(text, 'mailwarden_transactions_total', { outcome: 'relayed' })).toBe(1);
      expect(sample(text, 'mailwarden_transactions_total', { outcome: 'upstream_failed' })).toBe(1);
      expect(sample(text, 'mailwarden_upstream_errors_total', { kind: 'unavailable' })).toBe(1);
      expect(sample(text, 'mailwarden_relayed_bytes_total')).toBe('Subject: s\r\n\r\nbody\r\n'.length);
      expect(sample(text, 'mailwarden_smtp_sessions_total')).toBe(2);
      expect(sample(text, 'mailwarden_transaction_duration_seconds_count')).toBe(2);
    } finally {
      await relay.close();
    }
  });

  it('is not ready while the store does not answer', async () => {
    const upstream = await startCaptureUpstream();
    const redis = await startRedis();
    const relay = await startTestRelay(testConfig(upstream.port, { store: { kind: 'redis', url: redis.url } }));
    try {
      expect((await readyz(relay.metrics!.port)).status).toBe(200);
      await redis.stop();
      const started = Date.now();
      expect(await readyz(relay.metrics!.port)).toMatchObject({ status: 503, body: { store: 'unavailable' } });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await relay.close();
      await upstream.close();
    }
  });
});
