// The Redis adapter on a real three-node Redis Cluster: every script touches one tenant's
// keys only, and they share a slot through the {tenant} hash tag.
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../src/store/redis/store.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis.js';
import { flushed, storeContract } from './store-contract.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

storeContract('redis cluster (3 masters)', () => RedisStore.connect({ urls: cluster.urls, cluster: true, commandTimeoutMs: 2000 }), flushed);
