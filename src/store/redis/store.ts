// The Redis store, shared by every replica: one Lua script per hot-path operation (MAIL,
// RCPT), so each SMTP command costs one round trip and is atomic across replicas. Every key
// of a tenant carries the "{tenant}" hash tag and lives in one Redis Cluster slot.
// ioredis is set to fail fast: no offline queue, one retry, a command timeout, and no command
// resent after a reconnect.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { RateBucket, Suspension, SuppressionEntry } from '../../domain/policy.js';
import type { TenantId } from '../../domain/tenant.js';
import {
  StoreIdentityMissingError,
  StoreNotEmptyError,
  StoreUnavailableError,
  StoreWriteRefusedError,
  type AuthAnswer,
  type AuthQuestion,
  type BackupItem,
  type Durability,
  type MailAnswer,
  type MailQuestion,
  type RecipientAnswer,
  type RecipientQuestion,
  type SharedAuditTrail,
  type Store,
  type StoreIdentity,
  type TenantRecord,
} from '../ports.js';
import { isActive } from '../suspension-match.js';
import { AUDIT_KEY, bucketKey, feedbackKeys, IDENTITY_KEY, keys, LOST_IDENTITY_KEY, TENANTS_KEY, TOKENS_KEY } from './keys.js';
import type { ApiToken } from '../../domain/access.js';
import { REVIEW, scopeOf, type FeedbackRecord, type FeedbackScope, type ReviewResolution, type VolumeCounts } from '../../domain/feedback.js';
import type { PendingNotice } from '../../domain/notice.js';
import { hourOf, totalsFields, volumeFields, VOLUME_KEEP_MS } from '../volume.js';

const SCRIPT_VERSION = 'v2';
/** commands per pipeline while a backup is loaded: Redis stays free for the relays between them */
const RESTORE_BATCH = 1000;
/** entries per script call of an import: each call is short, so the relays' commands interleave */
const IMPORT_BATCH = 1000;
/** how long a claim whose reply was lost waits for the reconnect before it is asked again */
const CLAIM_RETRY_WAIT_MS = 2000;

function loadScript(name: string): string {
  const dir = new URL('./lua/', import.meta.url);
  const gcra = readFileSync(new URL('gcra.lua', dir), 'utf8');
  return readFileSync(new URL(`${name}.lua`, dir), 'utf8').replace('--@include gcra', gcra);
}

type Client = Redis | Cluster;

interface Scripted {
  [command: string]: (...args: (string | number)[]) => Promise<unknown>;
}

export interface RedisStoreOptions {
  /** redis://host:port for one Redis; several URLs with cluster: true for Redis Cluster */
  readonly urls: readonly string[];
  readonly cluster?: boolean;
  readonly commandTimeoutMs: number;
  /** Sentinel: the master's name and the sentinels' URLs */
  readonly sentinel?: { readonly name: string; readonly urls: readonly string[] };
}

export class RedisStore implements Store {
  readonly client: Client;
  /** an empty Redis may be a new one or one that lost its data: it is never taken as new */
  readonly fresh = false;

  private constructor(client: Client) {
    this.client = client;
    for (const name of ['check-mail', 'check-recipient', 'add-suspension', 'lift-suspension', 'add-feedback', 'claim-once', 'import-stage', 'import-commit', 'import-merge', 'auth-check', 'auth-failure']) {
      client.defineCommand(`mw_${name.replace(/-/g, '_')}_${SCRIPT_VERSION}`, { lua: loadScript(name) });
    }
  }

  /** Connects and waits until Redis is ready, so no mail is taken before the store can answer. */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const base: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // a command whose reply was lost with the connection may have run: resent, a check-mail
      // would charge its buckets twice and a claim would read back as somebody else's
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1000, options.commandTimeoutMs * 4),
      // keep trying in the background, at most every 2 s: service returns by itself
      retryStrategy: (times) => Math.min(100 * times, 2000),
      lazyConnect: true,
    };
    let client: Client;
    if (options.cluster) {
      const nodes: ClusterNode[] = options.urls.map((u) => {
        const url = new URL(u);
        return { host: url.hostname, port: Number(url.port || 6379) };
      });
      client = new Cluster(nodes, { redisOptions: base, enableOfflineQueue: false, lazyConnect: true, clusterRetryStrategy: (times) => Math.min(100 * times, 2000) });
    } else if (options.sentinel) {
      client = new Redis({
        ...base,
        sentinels: options.sentinel.urls.map((u) => {
          const url = new URL(u);
          return { host: url.hostname, port: Number(url.port || 26379) };
        }),
        name: options.sentinel.name,
      });
    } else {
      const url = options.urls[0];
      if (!url) throw new Error('store.url is required for the redis store');
      client = new Redis(url, base);
    }
    client.on('error', () => {
      // reported through failing commands and the health check; never crash on a reconnect
    });
    const store = new RedisStore(client);
    // a Redis that never becomes ready must fail the start with a clear error, not hang it
    const startTimeoutMs = Math.max(10_000, options.commandTimeoutMs * 20);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new StoreUnavailableError(`redis: not ready within ${startTimeoutMs} ms`)), startTimeoutMs);
        }),
      ]);
    } catch (err) {
      client.disconnect();
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`redis: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    return store;
  }

  #run(command: string, args: (string | number)[]): Promise<unknown> {
    return ((this.client as unknown as Scripted)[`${command}_${SCRIPT_VERSION}`]!(...args)).catch((err: unknown) => {
      throw storeError(err);
    });
  }

  async checkMail(q: MailQuestion): Promise<MailAnswer> {
    const k = keys(q.tenant);
    const buckets = q.buckets;
    const reply = (await this.#run('mw_check_mail', [
      2 + buckets.length,
      k.seal,
      k.activeSuspensions,
      ...buckets.map(bucketKey),
      q.store,
      q.now,
      q.senderDomain ?? '',
      q.sender ?? '',
      buckets.length,
      ...bucketArgs(buckets),
    ])) as [string, string?, number?];
    if (reply[0] === 'lost') return { kind: 'lost' };
    if (reply[0] === 'suspended') return { kind: 'suspended', ref: reply[1]! };
    if (reply[0] === 'rate') return { kind: 'rate-limited', bucket: reply[1]!, retryAfterMs: Number(reply[2]) };
    return { kind: 'ok' };
  }

  async checkRecipient(q: RecipientQuestion): Promise<RecipientAnswer> {
    const k = keys(q.tenant);
    const buckets = q.buckets;
    const reply = (await this.#run('mw_check_recipient', [
      4 + buckets.length,
      k.seal,
      k.suppressions,
      k.suppressionImport,
      k.suppressionImportState,
      ...buckets.map(bucketKey),
      q.store,
      q.now,
      q.pseudonym,
      buckets.length,
      ...bucketArgs(buckets),
    ])) as [string, string?, number?];
    if (reply[0] === 'lost') return { kind: 'lost' };
    if (reply[0] === 'suppressed') return { kind: 'suppressed' };
    if (reply[0] === 'rate') return { kind: 'rate-limited', bucket: reply[1]!, retryAfterMs: Number(reply[2]) };
    return { kind: 'ok' };
  }

  async checkAuth(q: AuthQuestion): Promise<AuthAnswer> {
    const reply = (await this.#run('mw_auth_check', authArgs(q))) as [string, string?, number?];
    return reply[0] === 'limited' ? { kind: 'limited', bucket: reply[1]!, retryAfterMs: Number(reply[2]) } : { kind: 'ok' };
  }

  async countAuthFailure(q: AuthQuestion): Promise<void> {
    await this.#run('mw_auth_failure', authArgs(q));
  }

  /** The tenant's seal first, then its record: a tenant is never listed without the seal its MAIL and RCPT are checked against. */
  async putTenant(tenant: TenantRecord): Promise<void> {
    const identity = await this.getIdentity();
    if (!identity) throw new StoreIdentityMissingError();
    await this.#call(() => this.client.set(keys(tenant.id).seal, identity.id));
    await this.#call(() => this.client.hset(TENANTS_KEY, tenant.id, JSON.stringify(tenant)));
  }

  /** removed on purpose: its seal went with every other key of it (deleteTenantData) */
  async tenantsRemoved(ids: readonly TenantId[]): Promise<TenantId[]> {
    const sealed = await this.#eachTenant(ids, (t) => this.client.exists(keys(t).seal));
    return ids.filter((_, i) => sealed[i] === 0);
  }

  async getIdentity(): Promise<StoreIdentity | null> {
    const raw = await this.#call(() => this.client.get(IDENTITY_KEY));
    return raw === null ? null : (JSON.parse(raw) as StoreIdentity);
  }

  async createIdentity(identity: StoreIdentity): Promise<boolean> {
    const set = await this.#call(() => this.client.set(IDENTITY_KEY, JSON.stringify(identity), 'NX'));
    if (set !== 'OK') return false;
    // tenants from before identities: sealed now, or their MAIL and RCPT would answer 'lost'
    const ids = await this.#call(() => this.client.hkeys(TENANTS_KEY));
    await this.#eachTenant(ids, (t) => this.client.set(keys(t).seal, identity.id));
    await this.#call(() => this.client.del(LOST_IDENTITY_KEY));
    return true;
  }

  async reportLostIdentity(id: string): Promise<void> {
    await this.#call(() => this.client.set(LOST_IDENTITY_KEY, id, 'NX'));
  }

  async getLostIdentity(): Promise<string | null> {
    return this.#call(() => this.client.get(LOST_IDENTITY_KEY));
  }

  /**
   * Per tenant, one MULTI reads its record, suspensions, feedback records, counts and notices
   * together; its suppression list is read with HSCAN so that a list of millions never blocks
   * Redis: an entry present for the whole backup is in it, one added or removed meanwhile may
   * or may not be. Claims (notices sent this period) and rate buckets are not kept.
   */
  async *backup(now: number): AsyncIterable<BackupItem> {
    for (const raw of await this.#call(() => this.client.hvals(TOKENS_KEY))) yield { t: 'token', v: JSON.parse(raw) as ApiToken };
    const hours: number[] = [];
    for (let h = hourOf(now - VOLUME_KEEP_MS); h <= hourOf(now); h++) hours.push(h);
    for (const raw of await this.#call(() => this.client.hvals(TENANTS_KEY))) {
      const tenant = JSON.parse(raw) as TenantRecord;
      // one MULTI: the record with the tenant's own keys; on Redis Cluster the tenants hash is
      // in another slot, so the record is read apart just before
      const cluster = this.client instanceof Cluster;
      const apart = cluster ? await this.#call(() => this.client.hget(TENANTS_KEY, tenant.id)) : null;
      const tx = this.client.multi();
      if (!cluster) tx.hget(TENANTS_KEY, tenant.id);
      const k = keys(tenant.id);
      tx.hgetall(k.suspensionRecords);
      tx.hkeys(k.activeSuspensions);
      tx.hvals(feedbackKeys(tenant.id).records);
      tx.hvals(k.notices);
      for (const h of hours) tx.hgetall(k.volume(h));
      const results = (await this.#call(() => tx.exec())) ?? [];
      const read: Array<[Error | null, unknown]> = cluster ? [[null, apart], ...results] : results;
      const value = (i: number) => {
        const [err, v] = read[i]!;
        if (err) throw storeError(err);
        return v;
      };
      const current = value(0) as string | null;
      if (current === null) continue; // offboarded while the backup ran
      yield { t: 'tenant', v: JSON.parse(current) as TenantRecord };
      const active = new Set(value(2) as string[]);
      for (const [id, json] of Object.entries(value(1) as Record<string, string>)) yield { t: 'suspension', v: JSON.parse(json) as Suspension, active: active.has(id) };
      for (const json of value(3) as string[]) yield { t: 'feedback', v: JSON.parse(json) as FeedbackRecord };
      for (const json of value(4) as string[]) yield { t: 'notice', v: JSON.parse(json) as PendingNotice };
      for (let i = 0; i < hours.length; i++) {
        for (const [field, n] of Object.entries(value(5 + i) as Record<string, string>)) yield { t: 'volume', tenant: tenant.id, hour: hours[i]!, field, n: Number(n) };
      }
      for await (const e of this.listSuppressions(tenant.id)) yield { t: 'suppression', tenant: tenant.id, v: e };
    }
    for (const json of await this.#call(() => this.client.hvals(feedbackKeys(REVIEW).records))) yield { t: 'feedback', v: JSON.parse(json) as FeedbackRecord };
  }

  /**
   * Writes in pipelines of RESTORE_BATCH commands, each within one slot; tenant records go in
   * after all their data, the identity last.
   */
  async restore(identity: StoreIdentity, items: AsyncIterable<BackupItem>): Promise<Record<string, number>> {
    const existing = await this.getIdentity();
    if (existing) throw new StoreNotEmptyError(existing);
    const counts: Record<string, number> = { tenants: 0, suspensions: 0, suppressions: 0, feedbackRecords: 0, volumeCounts: 0, notices: 0, tokens: 0 };
    let batch = this.client.pipeline();
    let size = 0;
    let group = '';
    const flush = async () => {
      if (size === 0) return;
      const results = await this.#call(() => batch.exec());
      for (const [err] of results ?? []) if (err) throw storeError(err);
      batch = this.client.pipeline();
      size = 0;
    };
    /** commands of one pipeline stay in one slot (Redis Cluster) */
    const write = async (slot: string, add: (p: ReturnType<Client['pipeline']>) => void, commands = 1) => {
      if (slot !== group || size + commands > RESTORE_BATCH) {
        await flush();
        group = slot;
      }
      add(batch);
      size += commands;
    };
    const tenants: TenantRecord[] = [];
    for await (const item of items) {
      switch (item.t) {
        case 'tenant':
          tenants.push(item.v);
          await write(item.v.id, (p) => p.set(keys(item.v.id).seal, identity.id));
          counts.tenants!++;
          break;
        case 'suspension': {
          const s = item.v;
          const k = keys(s.tenant);
          await write(s.tenant, (p) => {
            p.hset(k.suspensionRecords, s.id, JSON.stringify(s));
            if (item.active) p.hset(k.activeSuspensions, s.id, activeLine(s));
          }, 2);
          counts.suspensions!++;
          break;
        }
        case 'suppression':
          await write(item.tenant, (p) => p.hset(keys(item.tenant).suppressions, item.v.pseudonym, suppressionValue(item.v)));
          counts.suppressions!++;
          break;
        case 'feedback': {
          const r = item.v;
          const scope = scopeOf(r);
          const k = feedbackKeys(scope);
          await write(typeof scope === 'string' ? scope : '~review', (p) => p.hset(k.records, r.id, JSON.stringify(r)).hset(k.bySha, r.sha256, r.id).zadd(k.byTime, r.receivedAt, r.id), 3);
          counts.feedbackRecords!++;
          break;
        }
        case 'volume': {
          const key = keys(item.tenant).volume(item.hour);
          await write(item.tenant, (p) => p.hset(key, item.field, item.n).pexpire(key, VOLUME_KEEP_MS), 2);
          counts.volumeCounts!++;
          break;
        }
        case 'notice':
          await write(item.v.tenant, (p) => p.hset(keys(item.v.tenant).notices, item.v.id, JSON.stringify(item.v)));
          counts.notices!++;
          break;
        case 'token':
          await write(TOKENS_KEY, (p) => p.hset(TOKENS_KEY, item.v.id, JSON.stringify(item.v)));
          counts.tokens!++;
          break;
      }
    }
    for (const t of tenants) await write(TENANTS_KEY, (p) => p.hset(TENANTS_KEY, t.id, JSON.stringify(t)));
    await flush();
    if (!(await this.#call(() => this.client.set(IDENTITY_KEY, JSON.stringify(identity), 'NX')))) throw new StoreNotEmptyError((await this.getIdentity())!);
    await this.#call(() => this.client.del(LOST_IDENTITY_KEY));
    return counts;
  }

  /** Persistent when every master keeps an append-only file or RDB snapshots. */
  async durability(): Promise<Durability> {
    const nodes: Redis[] = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const found: string[] = [];
    for (const node of nodes) {
      let aof: string;
      let save: string;
      try {
        aof = ((await node.config('GET', 'appendonly')) as string[])[1] ?? '';
        save = ((await node.config('GET', 'save')) as string[])[1] ?? '';
      } catch (err) {
        return { persistent: null, detail: `CONFIG GET refused: ${(err as Error).message}` };
      }
      found.push(`appendonly ${aof || 'no'}, save "${save}"`);
      if (aof !== 'yes' && save.trim() === '') return { persistent: false, detail: found.join('; ') };
    }
    return { persistent: true, detail: found.join('; ') };
  }

  async getTenant(id: TenantId): Promise<TenantRecord | null> {
    const raw = await this.#call(() => this.client.hget(TENANTS_KEY, id));
    return raw ? (JSON.parse(raw) as TenantRecord) : null;
  }

  async listTenants(): Promise<TenantRecord[]> {
    const all = await this.#call(() => this.client.hvals(TENANTS_KEY));
    return all.map((raw) => JSON.parse(raw) as TenantRecord);
  }

  async addSuspension(s: Suspension): Promise<void> {
    const k = keys(s.tenant);
    await this.#run('mw_add_suspension', [2, k.activeSuspensions, k.suspensionRecords, s.id, JSON.stringify(s), activeLine(s)]);
  }

  async liftSuspension(tenant: TenantId, id: string, lifted: NonNullable<Suspension['lifted']>): Promise<boolean> {
    const k = keys(tenant);
    const done = await this.#run('mw_lift_suspension', [2, k.activeSuspensions, k.suspensionRecords, id, JSON.stringify(lifted)]);
    return Number(done) === 1;
  }

  async listSuspensions(tenant?: TenantId, options: { includeLifted?: boolean; now?: number } = {}): Promise<Suspension[]> {
    const tenants = tenant === undefined ? (await this.listTenants()).map((t) => t.id) : [tenant];
    const now = options.now ?? Date.now();
    const out: Suspension[] = [];
    for (const records of await this.#eachTenant(tenants, (t) => this.client.hvals(keys(t).suspensionRecords))) {
      for (const raw of records) {
        const s = JSON.parse(raw) as Suspension;
        if (options.includeLifted || isActive(s, now)) out.push(s);
      }
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** One MULTI/EXEC of HSETs: all entries or none, however many (a script's arguments would not hold a million). */
  async addSuppressions(tenant: TenantId, entries: readonly SuppressionEntry[]): Promise<void> {
    const k = keys(tenant);
    const tx = this.client.multi();
    for (let i = 0; i < entries.length; i += 5000) {
      const fields: string[] = [];
      const slice = entries.slice(i, i + 5000);
      for (const e of slice) fields.push(e.pseudonym, suppressionValue(e));
      tx.hset(k.suppressions, ...fields);
      // newer than a committed import's entry of the same pseudonym, which would otherwise win
      tx.hdel(k.suppressionImport, ...slice.map((e) => e.pseudonym));
    }
    await this.#call(() => tx.exec().then(checkExec));
  }

  /**
   * Staged in a hash of its own, IMPORT_BATCH entries per script call; one SET makes the whole
   * import visible (RCPT then reads the staging hash too), then the entries move into the list,
   * IMPORT_BATCH at a time. A failure before the SET drops the staging.
   */
  async importSuppressions(tenant: TenantId, batches: AsyncIterable<readonly SuppressionEntry[]>): Promise<number> {
    const k = keys(tenant);
    const id = randomUUID();
    // an import committed but not merged (its importer stopped) is finished first; an unfinished one is taken over
    if ((await this.#importState(tenant))?.startsWith('merging ')) await this.#mergeImport(tenant);
    await this.#call(() => this.client.multi().unlink(k.suppressionImport).set(k.suppressionImportState, `staging ${id}`).exec().then(checkExec));
    let n = 0;
    try {
      for await (const batch of batches) {
        for (let i = 0; i < batch.length; i += IMPORT_BATCH) {
          const fields: string[] = [];
          for (const e of batch.slice(i, i + IMPORT_BATCH)) fields.push(e.pseudonym, suppressionValue(e));
          if (Number(await this.#run('mw_import_stage', [2, k.suppressionImport, k.suppressionImportState, id, ...fields])) !== 1) throw new ImportSupersededError();
          n += fields.length / 2;
        }
      }
      if (Number(await this.#run('mw_import_commit', [2, k.suppressionImportState, k.suppressionImport, id])) !== 1) throw new ImportSupersededError();
    } catch (err) {
      if (!(err instanceof ImportSupersededError)) {
        // nothing was visible: drop what was staged, unless another import took over meanwhile
        if ((await this.#importState(tenant).catch(() => null)) === `staging ${id}`) await this.client.multi().del(k.suppressionImportState).unlink(k.suppressionImport).exec().catch(() => {});
      }
      throw err;
    }
    await this.#mergeImport(tenant);
    return n;
  }

  async #importState(tenant: TenantId): Promise<string | null> {
    return this.#call(() => this.client.get(keys(tenant).suppressionImportState));
  }

  /** Moves a committed import into the list, IMPORT_BATCH at a time; it is visible all along. */
  async #mergeImport(tenant: TenantId): Promise<void> {
    const k = keys(tenant);
    // the merge script removes the state with the last entry
    while ((await this.#call(() => this.client.hlen(k.suppressionImport))) > 0) {
      let cursor = '0';
      do {
        const [next, flat] = await this.#call(() => this.client.hscan(k.suppressionImport, cursor, 'COUNT', IMPORT_BATCH));
        const fields = flat.filter((_, i) => i % 2 === 0);
        if (fields.length > 0) await this.#run('mw_import_merge', [3, k.suppressions, k.suppressionImport, k.suppressionImportState, ...fields]);
        cursor = next;
      } while (cursor !== '0');
    }
  }

  /** whether a committed import's entries still count beside the list */
  async #merging(tenant: TenantId): Promise<boolean> {
    return (await this.#importState(tenant))?.startsWith('merging ') ?? false;
  }

  async getSuppression(tenant: TenantId, pseudonym: string): Promise<SuppressionEntry | null> {
    const k = keys(tenant);
    const imported = (await this.#merging(tenant)) ? await this.#call(() => this.client.hget(k.suppressionImport, pseudonym)) : null;
    const raw = imported ?? (await this.#call(() => this.client.hget(k.suppressions, pseudonym)));
    return raw === null ? null : suppressionEntry(raw);
  }

  async removeSuppression(tenant: TenantId, pseudonym: string): Promise<boolean> {
    const k = keys(tenant);
    const [[, a], [, b]] = (await this.#call(() => this.client.multi().hdel(k.suppressions, pseudonym).hdel(k.suppressionImport, pseudonym).exec())) as [[null, number], [null, number]];
    return a + b > 0;
  }

  /** While an import merges, its entries first, then the list's entries it does not replace. */
  async *listSuppressions(tenant: TenantId): AsyncIterable<SuppressionEntry> {
    const k = keys(tenant);
    const merging = await this.#merging(tenant);
    if (merging) for await (const [, entries] of this.#scanPages(k.suppressionImport)) yield* entries;
    for await (const [pseudonyms, entries] of this.#scanPages(k.suppressions)) {
      const shadowed = merging && pseudonyms.length > 0 ? await this.#call(() => this.client.hmget(k.suppressionImport, ...pseudonyms)) : [];
      for (let i = 0; i < entries.length; i++) if (!shadowed[i]) yield entries[i]!;
    }
  }

  async *#scanPages(key: string): AsyncIterable<[string[], SuppressionEntry[]]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.#call(() => this.client.hscan(key, cursor, 'COUNT', 1000));
      const pseudonyms: string[] = [];
      const entries: SuppressionEntry[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        pseudonyms.push(flat[i]!);
        entries.push(suppressionEntry(flat[i + 1]!));
      }
      yield [pseudonyms, entries];
      cursor = next;
    } while (cursor !== '0');
  }

  async countSuppressions(tenant: TenantId): Promise<number> {
    const k = keys(tenant);
    let n = await this.#call(() => this.client.hlen(k.suppressions));
    if (await this.#merging(tenant)) {
      for await (const [pseudonyms] of this.#scanPages(k.suppressionImport)) {
        if (pseudonyms.length === 0) continue;
        const existing = await this.#call(() => this.client.hmget(k.suppressions, ...pseudonyms));
        n += existing.filter((v) => v === null).length;
      }
    }
    return n;
  }

  async deleteTenantData(tenant: TenantId): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const k = keys(tenant);
    counts.suppressions = await this.#call(() => this.client.hlen(k.suppressions));
    counts.suspensions = await this.#call(() => this.client.hlen(k.suspensionRecords));
    counts.feedbackRecords = await this.#call(() => this.client.hlen(feedbackKeys(tenant).records));
    // every key of the tenant carries its hash tag and lives in one slot: scan the masters for it
    const nodes: Redis[] = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    let deleted = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await this.#call(() => node.scan(cursor, 'MATCH', `mw:{${tenant}}:*`, 'COUNT', 1000));
        for (const key of found) deleted += await this.#call(() => this.client.del(key));
        cursor = next;
      } while (cursor !== '0');
    }
    counts.keys = deleted;
    const tokens = (await this.listApiTokens()).filter((t) => t.tenant === tenant);
    for (const t of tokens) await this.#call(() => this.client.hdel(TOKENS_KEY, t.id));
    counts.tokens = tokens.length;
    counts.tenant = await this.#call(() => this.client.hdel(TENANTS_KEY, tenant));
    return counts;
  }

  async putApiToken(token: ApiToken): Promise<void> {
    await this.#call(() => this.client.hset(TOKENS_KEY, token.id, JSON.stringify(token)));
  }

  async getApiToken(id: string): Promise<ApiToken | null> {
    const raw = await this.#call(() => this.client.hget(TOKENS_KEY, id));
    return raw === null ? null : (JSON.parse(raw) as ApiToken);
  }

  async listApiTokens(): Promise<ApiToken[]> {
    return (await this.#call(() => this.client.hvals(TOKENS_KEY))).map((raw) => JSON.parse(raw) as ApiToken);
  }

  /** one round trip: MULTI of HINCRBYs and an expiry */
  async countVolume(tenant: TenantId, senderDomain: string | null, counts: Partial<VolumeCounts>, now: number): Promise<void> {
    const fields = volumeFields(senderDomain, counts);
    if (fields.length === 0) return;
    const key = keys(tenant).volume(hourOf(now));
    const tx = this.client.multi();
    for (const [field, n] of fields) tx.hincrby(key, field, n);
    tx.pexpire(key, VOLUME_KEEP_MS);
    await this.#call(() => tx.exec().then(checkExec));
  }

  /** one round trip: a pipeline of HMGETs over the window's hourly buckets */
  async volumeTotals(tenant: TenantId, senderDomain: string | null, hours: number, now: number): Promise<VolumeCounts> {
    const fields = totalsFields(senderDomain);
    const k = keys(tenant);
    const pipeline = this.client.pipeline();
    for (let h = hourOf(now) - hours + 1; h <= hourOf(now); h++) pipeline.hmget(k.volume(h), ...fields);
    const results = await this.#call(() => pipeline.exec());
    const totals = { delivered: 0, complaints: 0, hardBounces: 0 };
    for (const [err, values] of results ?? []) {
      if (err) throw storeError(err);
      const [d, c, hb] = values as Array<string | null>;
      totals.delivered += Number(d ?? 0);
      totals.complaints += Number(c ?? 0);
      totals.hardBounces += Number(hb ?? 0);
    }
    return totals;
  }

  /**
   * The claim is idempotent for its holder, a token drawn here: when the connection drops
   * before the reply, the claim is asked once more after the reconnect, and a claim that did
   * run reads back as this caller's own.
   */
  async claimOnce(tenant: TenantId, name: string, ttlMs: number, now: number): Promise<boolean> {
    const args = [1, keys(tenant).claim(name), now, ttlMs, randomUUID()];
    try {
      return Number(await this.#run('mw_claim_once', args)) === 1;
    } catch (err) {
      if (!(await this.#ready(CLAIM_RETRY_WAIT_MS))) throw err;
      return Number(await this.#run('mw_claim_once', args)) === 1;
    }
  }

  async addFeedbackReport(record: FeedbackRecord): Promise<boolean> {
    const k = feedbackKeys(scopeOf(record));
    const kept = await this.#run('mw_add_feedback', [3, k.records, k.bySha, k.byTime, record.id, record.sha256, record.receivedAt, JSON.stringify(record)]);
    return Number(kept) === 1;
  }

  async findFeedbackReport(scope: FeedbackScope, sha256: string): Promise<FeedbackRecord | null> {
    const id = await this.#call(() => this.client.hget(feedbackKeys(scope).bySha, sha256));
    return id === null ? null : this.getFeedbackReport(scope, id);
  }

  async getFeedbackReport(scope: FeedbackScope, id: string): Promise<FeedbackRecord | null> {
    const raw = await this.#call(() => this.client.hget(feedbackKeys(scope).records, id));
    return raw === null ? null : (JSON.parse(raw) as FeedbackRecord);
  }

  async listFeedbackReports(scope: FeedbackScope, options: { limit?: number; before?: string } = {}): Promise<FeedbackRecord[]> {
    const k = feedbackKeys(scope);
    const limit = options.limit ?? 100;
    // the page after `before` starts one past its place, newest first
    let from = 0;
    if (options.before !== undefined) {
      const rank = await this.#call(() => this.client.zrevrank(k.byTime, options.before!));
      if (rank === null) return [];
      from = rank + 1;
    }
    const ids = await this.#call(() => this.client.zrevrange(k.byTime, from, from + limit - 1));
    if (ids.length === 0) return [];
    const raws = await this.#call(() => this.client.hmget(k.records, ...ids));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as FeedbackRecord);
  }

  async eraseFeedbackReport(scope: FeedbackScope, id: string, at: number): Promise<boolean> {
    const k = feedbackKeys(scope);
    const raw = await this.#call(() => this.client.hget(k.records, id));
    if (raw === null) return false;
    await this.#call(() => this.client.hset(k.records, id, JSON.stringify({ ...(JSON.parse(raw) as FeedbackRecord), sealedReport: '', erasedAt: at })));
    return true;
  }

  async resolveReviewReport(id: string, resolution: ReviewResolution): Promise<{ record: FeedbackRecord; resolved: boolean } | null> {
    const k = feedbackKeys(REVIEW);
    const raw = await this.#call(() => this.client.hget(k.records, id));
    if (raw === null) return null;
    const record = JSON.parse(raw) as FeedbackRecord;
    if (record.resolution) return { record, resolved: false };
    // one decision per record, also between two desks at once: the first to claim it
    const claimed = await this.#call(() => this.client.hsetnx(k.resolutions, id, JSON.stringify(resolution)));
    if (claimed === 0) {
      const first = await this.#call(() => this.client.hget(k.resolutions, id));
      return { record: { ...record, resolution: JSON.parse(first!) as ReviewResolution }, resolved: false };
    }
    const resolved = { ...record, resolution };
    await this.#call(() => this.client.hset(k.records, id, JSON.stringify(resolved)));
    return { record: resolved, resolved: true };
  }

  /** a stream of every replica's audit lines, trimmed to about the newest `keep` */
  auditTrail(keep: number): SharedAuditTrail {
    const BATCH = 500;
    return {
      append: async (line) => {
        await this.#call(() => this.client.xadd(AUDIT_KEY, 'MAXLEN', '~', String(keep), '*', 'e', line));
      },
      read: async (wanted, page) => {
        const kept: Array<{ seq: number; line: string }> = [];
        let end = page.before !== undefined ? `(${streamId(page.before)}` : '+';
        for (;;) {
          const batch = await this.#call(() => this.client.xrevrange(AUDIT_KEY, end, '-', 'COUNT', BATCH));
          for (const [id, fields] of batch) {
            const line = fields[1] ?? '';
            if (!wanted(line)) continue;
            kept.push({ seq: auditSeq(id), line });
            if (kept.length > page.limit) break;
          }
          if (kept.length > page.limit || batch.length < BATCH) break;
          end = `(${batch.at(-1)![0]}`;
        }
        const lines = kept.slice(0, page.limit);
        return { lines, next: kept.length > page.limit ? lines.at(-1)!.seq : null };
      },
    };
  }

  async savePendingNotice(pending: PendingNotice): Promise<void> {
    await this.#call(() => this.client.hset(keys(pending.tenant).notices, pending.id, JSON.stringify(pending)));
  }

  async dropPendingNotice(tenant: TenantId, id: string): Promise<void> {
    await this.#call(() => this.client.hdel(keys(tenant).notices, id));
  }

  async listPendingNotices(): Promise<PendingNotice[]> {
    const tenants = (await this.listTenants()).map((t) => t.id);
    return (await this.#eachTenant(tenants, (t) => this.client.hvals(keys(t).notices))).flat().map((raw) => JSON.parse(raw) as PendingNotice);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }

  /**
   * One read per tenant, many in flight at once rather than a round trip each in turn (the
   * background jobs that read every tenant run every 30 to 60 s on every replica).
   */
  async #eachTenant<T>(tenants: readonly TenantId[], read: (tenant: TenantId) => Promise<T>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < tenants.length; i += 256) out.push(...(await Promise.all(tenants.slice(i, i + 256).map((t) => this.#call(() => read(t))))));
    return out;
  }

  /** true once the client is ready again within `ms` */
  async #ready(ms: number): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.client.on('ready', onReady);
    });
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storeError(err);
    }
  }
}

/** Another import of the same tenant took the staging over. */
export class ImportSupersededError extends Error {
  readonly code = 'IMPORT_SUPERSEDED';
  constructor() {
    super('another suppression import of this tenant started meanwhile and took over; nothing of this one was imported');
    this.name = 'ImportSupersededError';
  }
}

/** Redis refuses writes but still serves reads when it is out of memory or a read-only replica. */
const WRITE_REFUSED = /\b(OOM command not allowed|READONLY)\b/;

function storeError(err: unknown): StoreUnavailableError {
  const message = `redis: ${(err as Error).message}`;
  return WRITE_REFUSED.test(message) ? new StoreWriteRefusedError(message, { cause: err }) : new StoreUnavailableError(message, { cause: err });
}

/** a suppression entry as its hash field holds it: "expiresAt<TAB>entry JSON", the expiry first for the RCPT script */
function suppressionValue(e: SuppressionEntry): string {
  return `${e.expiresAt ?? ''}\t${JSON.stringify(e)}`;
}

function suppressionEntry(value: string): SuppressionEntry {
  return JSON.parse(value.slice(value.indexOf('\t') + 1)) as SuppressionEntry;
}

/** an active suspension as the MAIL script reads it: "scope<TAB>value<TAB>expiresAt" */
function activeLine(s: Suspension): string {
  return `${s.scope}\t${s.value ?? ''}\t${s.expiresAt ?? ''}`;
}

/** KEYS and ARGV of auth-check.lua and auth-failure.lua */
function authArgs(q: AuthQuestion): (string | number)[] {
  return [q.buckets.length, ...q.buckets.map(bucketKey), q.now, q.buckets.length, ...bucketArgs(q.buckets)];
}

function bucketArgs(buckets: readonly RateBucket[]): (string | number)[] {
  return buckets.flatMap((b) => [b.rate.windowMs, b.rate.limit, b.name]);
}

function checkExec(results: [Error | null, unknown][] | null): void {
  if (!results) throw new Error('transaction aborted');
  for (const [err] of results) if (err) throw err;
}

/** a stream entry's id ("1733520000000-3") as a number that orders like it: milliseconds × 1000 + sequence */
function auditSeq(id: string): number {
  const [ms, seq] = id.split('-');
  return Number(ms) * 1000 + Math.min(Number(seq), 999);
}

function streamId(seq: number): string {
  return `${Math.floor(seq / 1000)}-${seq % 1000}`;
}
