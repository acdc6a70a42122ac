// The tenant registry believes a tenant list only from the store it knows: a list that shrinks
// to nothing is kept when the store lost its identity, and taken when the tenants were
// offboarded from the same store.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TenantRegistry } from '../../src/tenants/registry.js';
import { StoreIdentityWatch, newIdentity } from '../../src/policy/store-identity.js';
import { MasterKey } from '../../src/crypto/keys.js';
import { EmbeddedStore } from '../../src/store/embedded/store.js';
import { RedisStore } from '../../src/store/redis/store.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Store } from '../../src/store/ports.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const master = new MasterKey(randomBytes(32));
const limits = { messages: [], recipients: [], perSender: [], perRecipientDomain: [], nullSender: [] };

async function withTenants(store: Store, ids: string[]): Promise<{ registry: TenantRegistry; watch: StoreIdentityWatch; logs: string[] }> {
  await store.createIdentity(newIdentity(Date.now()));
  for (const id of ids) await store.putTenant({ id, domains: [`${id}.test`], networks: [], limits, wrappedKey: master.newTenantKey(id).wrapped, createdAt: 0 });
  const logs: string[] = [];
  const log = createLogger('info', new Writable({
    write(c: Buffer, _e, cb) {
      logs.push(c.toString());
      cb();
    },
  }));
  const watch = new StoreIdentityWatch({ store, deadlineMs: 1000 });
  expect(await watch.check()).toBe('serving');
  const registry = new TenantRegistry(store, master, log, undefined, watch);
  await registry.load();
  expect(registry.size).toBe(ids.length);
  return { registry, watch, logs };
}

describe('tenant registry', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps its tenants when the store comes back empty, and says why', async () => {
    const store = await RedisStore.connect({ urls: [redis.url], commandTimeoutMs: 1000 });
    try {
      const { registry, watch, logs } = await withTenants(store, ['acme', 'globex']);
      const direct = new Redis(redis.url);
      await direct.flushall();
      direct.disconnect();
      await registry.load();
      expect(registry.size).toBe(2);
      expect(registry.get('acme')?.id).toBe('acme');
      expect(watch.state).toBe('lost');
      expect(logs.join('')).toContain('the store lists no tenants and is not the store this relay knows; keeping the last list');
      // nor does a later refresh replace the list while the store is lost
      await registry.load();
      expect(registry.size).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('keeps serving a tenant whose record went missing without an offboarding (part of the store lost), and lets an offboarded one go', async () => {
    const store = await RedisStore.connect({ urls: [redis.url], commandTimeoutMs: 1000 });
    try {
      const direct = new Redis(redis.url);
      await direct.flushall();
      const { registry, logs } = await withTenants(store, ['initech', 'hooli']);
      // as a Cluster shard holding the tenants hash fails over empty: the tenants' own keys stay
      await direct.hdel('mw:tenants', 'initech');
      direct.disconnect();
      await store.deleteTenantData('hooli');
      await registry.load();
      expect(registry.get('initech')?.id).toBe('initech');
      expect(registry.get('hooli')).toBeNull();
      expect(logs.join('')).toContain('tenant missing from the store');
    } finally {
      await store.close();
    }
  });

  it('lets its tenants go when they were offboarded from the store it knows', async () => {
    const store = new EmbeddedStore(join(mkdtempSync(join(tmpdir(), 'mw-reg-')), 'store'));
    try {
      const { registry, watch } = await withTenants(store, ['acme', 'globex']);
      await store.deleteTenantData('acme');
      await store.deleteTenantData('globex');
      await registry.load();
      expect(registry.size).toBe(0);
      expect(watch.state).toBe('serving');
      expect(registry.unservable()).toBeNull();
    } finally {
      await store.close();
    }
  });
});
