// The Redis adapter through Sentinel: it asks the sentinel for the master of "mymaster".
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../src/store/redis/store.js';
import { startRedisSentinel, type RedisSentinel } from '../helpers/redis.js';
import { flushed, storeContract } from './store-contract.js';

let sentinel: RedisSentinel;
beforeAll(async () => {
  sentinel = await startRedisSentinel();
});
afterAll(async () => {
  await sentinel?.stop();
});

storeContract('redis via sentinel', () => RedisStore.connect({ urls: [], sentinel: { name: 'mymaster', urls: [sentinel.sentinelUrl] }, commandTimeoutMs: 1000 }), flushed);
