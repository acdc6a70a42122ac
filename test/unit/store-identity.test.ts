// Which store a relay serves: prepareStore gives an identity only to a store that plainly
// needs one; the watch follows a real Redis through loss, restore, a fresh start and a swap.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/store/embedded/store.js';
import { RedisStore } from '../../src/store/redis/store.js';
import { StoreIdentityWatch, newIdentity, prepareStore, type StoreState } from '../../src/policy/store-identity.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const limits = { messages: [], recipients: [], perSender: [], perRecipientDomain: [], nullSender: [] };

describe('prepareStore', () => {
  it('creates an identity for a database this process made, adopts a store from before identities, and leaves a lost one alone', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mw-prep-')), 'store');
    let store = new EmbeddedStore(path);
    expect(store.fresh).toBe(true);
    expect(await prepareStore(store, 1)).toBe('created');
    expect(await prepareStore(store, 2)).toBeNull();
    await store.putTenant({ id: 'acme', domains: [], networks: [], limits, wrappedKey: 'x', createdAt: 0 });
    await store.close();
    // as a mailwarden from before identities left it: tenants, no identity
    const root = open({ path, compression: false });
    await root.openDB({ name: 'meta' }).remove('identity');
    await root.close();
    store = new EmbeddedStore(path);
    expect(store.fresh).toBe(false);
    await store.reportLostIdentity('known-before');
    expect(await prepareStore(store, 3)).toBeNull(); // a replica said it lost it: an operator decides
    expect(await store.getIdentity()).toBeNull();
    await store.close();
    const again = open({ path, compression: false });
    await again.openDB({ name: 'meta' }).remove('lost');
    await again.close();
    store = new EmbeddedStore(path);
    expect(await prepareStore(store, 4)).toBe('adopted');
    expect((await store.getIdentity())?.createdAt).toBe(4);
    await store.close();
  });
});

describe('the identity watch', () => {
  let redis: RedisProcess;
  let store: RedisStore;
  let direct: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    store = await RedisStore.connect({ urls: [redis.url], commandTimeoutMs: 1000 });
    direct = new Redis(redis.url);
  });
  afterAll(async () => {
    direct?.disconnect();
    await store?.close();
    await redis?.stop();
  });

  it('follows the store through loss, restore, another store, and a fresh start in place of the lost one', async () => {
    const changes: StoreState[] = [];
    const adopted: string[] = [];
    let failAdopt = false;
    const watch = new StoreIdentityWatch({
      store,
      deadlineMs: 1000,
      onAdopt: async (identity) => {
        if (failAdopt) throw new Error('tenants not readable');
        adopted.push(identity.id);
      },
      onChange: (state) => changes.push(state),
    });
    expect(await watch.check()).toBe('uninitialised');
    expect(watch.current()).toBeNull();
    expect(watch.describe()).toMatch(/^the store has no identity/);
    const first = newIdentity(1);
    await store.createIdentity(first);
    failAdopt = true;
    expect(await watch.check()).toBe('uninitialised'); // not serving before its tenants are read
    failAdopt = false;
    expect(await watch.check()).toBe('serving');
    expect(watch.current()).toBe(first.id);
    const saved = await direct.get('mw:identity');

    await direct.flushall();
    expect(await watch.check()).toBe('lost');
    expect(watch.current()).toBeNull();
    expect(await direct.get('mw:identity:lost')).toBe(first.id);
    expect(watch.describe()).toContain(`lost its identity ${first.id}`);

    await direct.set('mw:identity', saved!);
    expect(await watch.check()).toBe('serving');

    const other = newIdentity(2);
    await direct.set('mw:identity', JSON.stringify(other));
    expect(await watch.check()).toBe('changed');
    expect(watch.describe()).toContain(`shows identity ${other.id}, not ${first.id}`);

    await direct.flushall();
    await watch.check();
    const fresh = newIdentity(3, first.id);
    await store.createIdentity(fresh);
    expect(await watch.check()).toBe('serving');
    expect(watch.current()).toBe(fresh.id);
    expect(adopted).toEqual([first.id, fresh.id]);
    expect(changes).toEqual(['serving', 'lost', 'serving', 'changed', 'lost', 'serving']);

    // a store that does not answer changes nothing: its questions fail closed on their own
    await redis.stop();
    expect(await watch.check()).toBe('serving');
  });
});
