import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis/store.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { flushed, storeContract } from './store-contract.js';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

storeContract('redis', () => RedisStore.connect({ urls: [redis.url], commandTimeoutMs: 1000 }), flushed);

describe('the shared audit trail on Redis', () => {
  it('keeps every replica\'s lines newest first, paged by a cursor that orders them, filtered, trimmed to about its size', async () => {
    const a = await RedisStore.connect({ urls: [redis.url], commandTimeoutMs: 1000 });
    const b = await RedisStore.connect({ urls: [redis.url], commandTimeoutMs: 1000 });
    try {
      const [ta, tb] = [a.auditTrail(1000), b.auditTrail(1000)];
      // two replicas appending in turn
      for (let i = 0; i < 1500; i++) await (i % 2 ? tb : ta).append(JSON.stringify({ i, tenant: i % 3 === 0 ? 'acme' : 'globex' }));
      const seen: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await ta.read(() => true, { limit: 400, ...(before !== undefined ? { before } : {}) });
        seen.push(...page.lines.map((l) => (JSON.parse(l.line) as { i: number }).i));
        for (let k = 1; k < page.lines.length; k++) expect(page.lines[k]!.seq).toBeLessThan(page.lines[k - 1]!.seq);
        if (page.next === null) break;
        before = page.next;
      }
      // newest first, each once, and trimmed: about the newest 1,000 (MAXLEN ~ trims whole nodes)
      expect(seen[0]).toBe(1499);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...seen].sort((x, y) => y - x));
      expect(seen.length).toBeGreaterThanOrEqual(1000);
      expect(seen.length).toBeLessThan(1500);
      expect(seen.at(-1)).toBe(1500 - seen.length);
      // a filter that keeps few reads on until the page is full
      const acme = await tb.read((line) => line.includes('"acme"'), { limit: 5 });
      expect(acme.lines.map((l) => (JSON.parse(l.line) as { i: number }).i)).toEqual([1497, 1494, 1491, 1488, 1485]);
      expect(acme.next).toBe(acme.lines.at(-1)!.seq);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
