// The per-process limiter: the same GCRA buckets as the store, at a share of each limit.
import { describe, expect, it } from 'vitest';
import { ProcessRateLimiter } from '../../src/policy/rate-fallback.js';
import type { TenantLimits } from '../../src/domain/policy.js';
import { mailBuckets, recipientBuckets } from '../../src/policy/rate-buckets.js';

const HOUR = 3_600_000;
const limits: TenantLimits = {
  messages: [{ limit: 20, windowMs: HOUR }],
  recipients: [{ limit: 100, windowMs: HOUR }],
  perSender: [{ limit: 100, windowMs: HOUR }],
  perRecipientDomain: [{ limit: 3, windowMs: HOUR }],
  nullSender: [{ limit: 1, windowMs: HOUR }],
};

function admitted(limiter: ProcessRateLimiter, n: number, ask: (now: number) => { allowed: boolean }): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (ask(1_000_000).allowed) count++;
  return count;
}

describe('ProcessRateLimiter', () => {
  it('admits the configured share of each limit, per tenant', () => {
    const half = new ProcessRateLimiter({ share: 0.5, retryStoreAfterMs: 1000 });
    const mail = (tenant: string) => (now: number) => half.admit(mailBuckets(tenant, 'a@x.test', limits), now);
    expect(admitted(half, 30, mail('acme'))).toBe(10);
    expect(admitted(half, 30, mail('globex'))).toBe(10);
    const whole = new ProcessRateLimiter({ share: 1, retryStoreAfterMs: 1000 });
    expect(admitted(whole, 30, (now) => whole.admit(mailBuckets('acme', 'a@x.test', limits), now))).toBe(20);
  });

  it('never scales a limit below one, and names the bucket that refused', () => {
    const tiny = new ProcessRateLimiter({ share: 0.1, retryStoreAfterMs: 1000 });
    const mail = mailBuckets('acme', null, limits);
    expect(tiny.admit(mail, 1_000_000)).toEqual({ allowed: true });
    expect(tiny.admit(mail, 1_000_000)).toMatchObject({ allowed: false, bucket: 'null-sender/1h' });
    const rcpt = recipientBuckets('acme', 'example.org', limits);
    expect(tiny.admit(rcpt, 1_000_000)).toEqual({ allowed: true });
    expect(tiny.admit(rcpt, 1_000_000)).toMatchObject({ allowed: false, bucket: 'recipient-domain/1h' });
  });

  it('stays on the local limiter for retryStoreAfterMs after a refused write', () => {
    const limiter = new ProcessRateLimiter({ share: 1, retryStoreAfterMs: 5000 });
    expect(limiter.active(0)).toBe(false);
    limiter.storeRefusedWrites(1000);
    expect(limiter.active(5999)).toBe(true);
    expect(limiter.active(6000)).toBe(false);
  });
});
