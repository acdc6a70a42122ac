// What the Redis adapter does with a command whose reply was lost with the connection: the
// command ran, the adapter never heard it. A check-mail is not asked again (its buckets are
// charged at most once, the client gets 451), a claim is asked again and reads back as the
// caller's own; expired suspensions leave the active index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/store/redis/store.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import type { TenantLimits } from '../../src/domain/policy.js';
import { mailBuckets, recipientBuckets } from '../../src/policy/rate-buckets.js';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const THREE_AN_HOUR: TenantLimits = { messages: [{ limit: 3, windowMs: 3_600_000 }], recipients: [], perSender: [], perRecipientDomain: [], nullSender: [] };

describe('redis adapter across a lost reply', () => {
  let redis: RedisProcess;
  let proxy: TcpProxy;
  let store: RedisStore;
  let direct: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
    store = await RedisStore.connect({ urls: [`redis://127.0.0.1:${proxy.port}`], commandTimeoutMs: 1000 });
    direct = new Redis(redis.url);
    await store.createIdentity({ id: 'S', createdAt: T0 });
    for (const id of ['lost1', 'lost3']) await store.putTenant({ id, domains: [], networks: [], limits: THREE_AN_HOUR, wrappedKey: 'x', createdAt: T0 });
  });
  afterAll(async () => {
    direct?.disconnect();
    await store?.close();
    await proxy?.close();
    await redis?.stop();
  });

  const ready = () =>
    new Promise<void>((resolve) => {
      if (store.client.status === 'ready') resolve();
      else store.client.once('ready', () => resolve());
    });

  it('a check-mail whose reply was lost charges its buckets once, and is not run again after the reconnect', async () => {
    const q = { tenant: 'lost1', store: 'S', sender: 'a@lost1.test', senderDomain: 'lost1.test', buckets: mailBuckets('lost1', 'a@lost1.test', THREE_AN_HOUR), now: T0 };
    expect(await store.checkMail(q)).toEqual({ kind: 'ok' }); // 1 of 3, and the script is loaded
    proxy.dropNextReply();
    await expect(store.checkMail(q)).rejects.toThrow(); // 2 of 3: ran, reply lost
    await ready();
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.checkMail(q)).toEqual({ kind: 'ok' }); // 3 of 3
    expect(await store.checkMail(q)).toMatchObject({ kind: 'rate-limited' });
    expect(proxy.dropped).toBe(1);
  });

  it('a claim whose reply was lost is asked again after the reconnect and is the caller\'s', async () => {
    await ready();
    proxy.dropNextReply();
    expect(await store.claimOnce('lost2', 'warn:complaints', 3_600_000, T0)).toBe(true);
    expect(proxy.dropped).toBe(2);
    // and nobody else's: another caller still finds it taken
    expect(await store.claimOnce('lost2', 'warn:complaints', 3_600_000, T0)).toBe(false);
    expect(await store.claimOnce('lost2', 'warn:complaints', 3_600_000, T0 + 3_600_000)).toBe(true);
  });

  it('a store written before identities keeps answering once it has one: its tenants are sealed with it', async () => {
    await ready();
    await direct.hset('mw:tenants', 'legacy', JSON.stringify({ id: 'legacy', domains: [], networks: [], limits: THREE_AN_HOUR, wrappedKey: 'x', createdAt: T0 }));
    const q = { tenant: 'legacy', store: 'S', sender: null, senderDomain: null, buckets: mailBuckets('legacy', null, THREE_AN_HOUR), now: T0 };
    expect(await store.checkMail(q)).toEqual({ kind: 'lost' });
    await direct.del('mw:identity');
    expect(await store.createIdentity({ id: 'S', createdAt: T0 })).toBe(true);
    expect(await store.checkMail(q)).toEqual({ kind: 'ok' });
    expect(await store.checkMail({ ...q, tenant: 'lost1', buckets: mailBuckets('lost1', null, THREE_AN_HOUR) })).toMatchObject({ kind: 'rate-limited' });
  });

  it('a committed import not yet merged counts beside the list: no duplicate, a newer write wins, the next import finishes it', async () => {
    await ready();
    await store.putTenant({ id: 'imp', domains: [], networks: [], limits: THREE_AN_HOUR, wrappedKey: 'x', createdAt: T0 });
    const value = (p: string, reason: string) => `\t${JSON.stringify({ pseudonym: p, reason, createdAt: T0 })}`;
    await store.addSuppressions('imp', [{ pseudonym: 'P-a', reason: 'complaint', createdAt: T0 }, { pseudonym: 'P-b', reason: 'manual', createdAt: T0 }]);
    // as an importer that stopped between its commit and the end of the merge leaves it
    await direct.hset('mw:{imp}:supp:import', 'P-a', value('P-a', 'import'), 'P-c', value('P-c', 'import'), 'P-d', value('P-d', 'import'));
    await direct.set('mw:{imp}:supp:import:state', 'merging x');
    const rcpt = (p: string) => store.checkRecipient({ tenant: 'imp', store: 'S', pseudonym: p, buckets: recipientBuckets('imp', 'example.org', THREE_AN_HOUR), now: T0 });
    expect(await rcpt('P-c')).toEqual({ kind: 'suppressed' });
    expect(await store.getSuppression('imp', 'P-a')).toMatchObject({ reason: 'import' });
    expect(await store.countSuppressions('imp')).toBe(4);
    const listed: string[] = [];
    for await (const e of store.listSuppressions('imp')) listed.push(`${e.pseudonym}:${e.reason}`);
    expect(listed.sort()).toEqual(['P-a:import', 'P-b:manual', 'P-c:import', 'P-d:import']);
    await store.addSuppressions('imp', [{ pseudonym: 'P-c', reason: 'complaint', createdAt: T0 + 1 }]);
    expect(await store.getSuppression('imp', 'P-c')).toMatchObject({ reason: 'complaint' });
    expect(await store.removeSuppression('imp', 'P-d')).toBe(true);
    expect(await rcpt('P-d')).toEqual({ kind: 'ok' });
    async function* one() {
      yield [{ pseudonym: 'P-e', reason: 'import' as const, createdAt: T0 + 2 }];
    }
    expect(await store.importSuppressions('imp', one())).toBe(1);
    expect(await direct.exists('mw:{imp}:supp:import', 'mw:{imp}:supp:import:state')).toBe(0);
    expect(Object.keys(await direct.hgetall('mw:{imp}:supp')).sort()).toEqual(['P-a', 'P-b', 'P-c', 'P-e']);
    expect(await store.getSuppression('imp', 'P-c')).toMatchObject({ reason: 'complaint' });
  });

  it('an expired suspension leaves the active index at the next MAIL; its record stays', async () => {
    await ready();
    await store.addSuspension({ id: 'S-old', tenant: 'lost3', scope: 'tenant', reason: 'r', actor: 'desk', source: 'manual', createdAt: T0, expiresAt: T0 + 1000 });
    expect(await direct.hlen('mw:{lost3}:susp:active')).toBe(1);
    const q = { tenant: 'lost3', store: 'S', sender: null, senderDomain: null, buckets: mailBuckets('lost3', null, THREE_AN_HOUR), now: T0 + 1000 };
    expect(await store.checkMail(q)).toEqual({ kind: 'ok' });
    expect(await direct.hlen('mw:{lost3}:susp:active')).toBe(0);
    expect(await direct.hlen('mw:{lost3}:susp:records')).toBe(1);
  });
});
