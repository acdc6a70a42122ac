import { afterAll, beforeAll } from 'vitest';
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
