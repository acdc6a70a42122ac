// mailwarden store status|init|backup|restore: the operator's hands on the policy store's
// identity. A store that lost its state is never set up again by itself; these commands are
// how a person decides: restore a backup, or start afresh on purpose.
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Config } from '../config/schema.js';
import { loadMasterKey } from '../crypto/master-key-file.js';
import { openStore } from '../store/open.js';
import { StoreNotEmptyError, type BackupItem, type Store, type StoreIdentity } from '../store/ports.js';
import { newIdentity, prepareStore } from '../policy/store-identity.js';
import { checkMasterKey, tenantRecord } from '../tenants/bootstrap.js';
import { UsageError, type Io } from './policy-commands.js';

export const BACKUP_FORMAT = 'mailwarden-store-backup';
const BACKUP_VERSION = 1;
const ITEM_KINDS = new Set(['tenant', 'suspension', 'suppression', 'feedback', 'volume', 'notice', 'token']);
/** progress on standard error every this many records */
const PROGRESS_EVERY = 100_000;

interface BackupHeader {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: number;
  readonly identity: StoreIdentity;
  /** ISO time the backup started */
  readonly at: string;
}

async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config.store);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function storeStatus(config: Config, o: { json?: boolean }, io: Io): Promise<number> {
  return status(config, io, o.json ?? false);
}

export function storeInit(config: Config, o: { empty?: boolean; yes?: boolean }, io: Io): Promise<number> {
  if (!o.empty) throw new UsageError('store init --empty --yes: the only way to initialise is empty (for a store with data, use store restore FILE)');
  if (!o.yes) throw new UsageError('store init --empty starts with no suppression list, no suspension and new tenant keys; add --yes if that is what you want');
  return init(config, io);
}

export function storeBackup(config: Config, file: string, o: { force?: boolean }, io: Io): Promise<number> {
  return backup(config, file, o.force ?? false, io);
}

export { restore as storeRestore };

async function status(config: Config, io: Io, json: boolean): Promise<number> {
  return withStore(config, async (store) => {
    const [identity, lost, durability, tenants] = await Promise.all([store.getIdentity(), store.getLostIdentity(), store.durability(), store.listTenants()]);
    if (json) {
      io.out(JSON.stringify({ identity, lostIdentity: lost, persistent: durability.persistent, durability: durability.detail, tenants: tenants.length }));
    } else {
      io.out(identity ? `identity ${identity.id}, created ${new Date(identity.createdAt).toISOString()}${identity.replaces ? `, replacing ${identity.replaces}` : ''}` : 'no identity: a new store, or one that lost its data (store restore FILE, or store init --empty --yes)');
      if (lost) io.out(`a replica found identity ${lost} lost`);
      io.out(`${tenants.length} tenant(s); ${durability.persistent === false ? 'NOT persistent' : durability.persistent ? 'persistent' : 'persistence unknown'} (${durability.detail})`);
    }
    return identity ? 0 : 1;
  });
}

async function init(config: Config, io: Io): Promise<number> {
  const master = loadMasterKey(config.keys, process.env);
  return withStore(config, async (store) => {
    const existing = await store.getIdentity();
    if (existing) throw new StoreNotEmptyError(existing);
    const left = (await store.listTenants()).length;
    if (left > 0) throw new UsageError(`the store has no identity but still holds ${left} tenant(s): restore a backup (store restore FILE), or remove what is left before starting afresh`);
    const lost = await store.getLostIdentity();
    const now = Date.now();
    const identity = newIdentity(now, lost ?? undefined);
    // loaded like a backup of the configuration's tenants: the identity comes last, so a relay
    // that takes the new store up finds its tenants already there
    const tenants = config.tenants.map((t): BackupItem => ({ t: 'tenant', v: tenantRecord(t, config.limits, master.key.newTenantKey(t.id).wrapped, now) }));
    async function* items(): AsyncIterable<BackupItem> {
      yield* tenants;
    }
    await store.restore(identity, items());
    io.out(`initialised store ${identity.id}${lost ? ` in place of the lost ${lost}` : ''}: ${tenants.length} tenant(s) from the configuration, with new keys; no suppressions, no suspensions`);
    io.out('relays serving the lost store take this one up by themselves');
    return 0;
  });
}

async function backup(config: Config, file: string, force: boolean, io: Io): Promise<number> {
  if (existsSync(file) && !force) throw new UsageError(`${file} exists; give --force to replace it`);
  return withStore(config, async (store) => {
    await prepareStore(store, Date.now());
    const identity = await store.getIdentity();
    if (!identity) throw new UsageError('the store has no identity: there is nothing of a known store to back up');
    const partial = `${file}.partial`;
    const out = createWriteStream(partial, { mode: 0o600 });
    const write = async (line: string) => {
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    };
    const counts: Record<string, number> = {};
    let n = 0;
    try {
      const header: BackupHeader = { format: BACKUP_FORMAT, version: BACKUP_VERSION, identity, at: new Date().toISOString() };
      await write(JSON.stringify(header));
      for await (const item of store.backup(Date.now())) {
        await write(JSON.stringify(item));
        counts[item.t] = (counts[item.t] ?? 0) + 1;
        if (++n % PROGRESS_EVERY === 0) io.err(`  ${n} records`);
      }
      await write(JSON.stringify({ end: true, records: n, counts }));
      out.end();
      await once(out, 'finish');
    } catch (err) {
      out.destroy();
      rmSync(partial, { force: true });
      throw err;
    }
    renameSync(partial, file);
    io.out(`backed up store ${identity.id} to ${file}: ${n} records (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'empty'}); addresses stay sealed, the file is useless without the master key`);
    return 0;
  });
}

/** Reads a backup file line by line; `check` first, so that a bad file loads nothing. */
async function* readBackup(file: string): AsyncIterable<{ line: number; value: Record<string, unknown> }> {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UsageError(`${file}:${line}: not JSON`);
    }
    if (typeof value !== 'object' || value === null) throw new UsageError(`${file}:${line}: not a record`);
    yield { line, value: value as Record<string, unknown> };
  }
}

async function check(file: string): Promise<{ header: BackupHeader; tenants: BackupItem[] }> {
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  let header: BackupHeader | null = null;
  let ended = false;
  let records = 0;
  const tenants: BackupItem[] = [];
  for await (const { line, value } of readBackup(file)) {
    if (header === null) {
      if (value.format !== BACKUP_FORMAT || value.version !== BACKUP_VERSION || typeof (value.identity as StoreIdentity | undefined)?.id !== 'string') throw new UsageError(`${file}:${line}: not a mailwarden store backup (version ${BACKUP_VERSION})`);
      header = value as unknown as BackupHeader;
    } else if (ended) {
      throw new UsageError(`${file}:${line}: records after the end line`);
    } else if (value.end === true) {
      if (value.records !== records) throw new UsageError(`${file}:${line}: the end line counts ${String(value.records)} records, the file holds ${records}`);
      ended = true;
    } else {
      if (typeof value.t !== 'string' || !ITEM_KINDS.has(value.t) || typeof value.v !== 'object' || value.v === null) throw new UsageError(`${file}:${line}: not a backup record`);
      if (value.t === 'tenant') tenants.push(value as unknown as BackupItem);
      records++;
    }
  }
  if (!header) throw new UsageError(`${file}: empty`);
  if (!ended) throw new UsageError(`${file}: no end line: the backup is incomplete`);
  return { header, tenants };
}

async function restore(config: Config, file: string, io: Io): Promise<number> {
  const { header, tenants } = await check(file);
  // a backup is useless without its master key: better to know before loading it
  checkMasterKey(
    tenants.map((t) => (t as Extract<BackupItem, { t: 'tenant' }>).v),
    loadMasterKey(config.keys, process.env).key,
  );
  return withStore(config, async (store) => {
    let n = 0;
    async function* items(): AsyncIterable<BackupItem> {
      let first = true;
      for await (const { value } of readBackup(file)) {
        if (first || value.end === true) {
          first = false;
          continue;
        }
        if (++n % PROGRESS_EVERY === 0) io.err(`  ${n} records`);
        yield value as unknown as BackupItem;
      }
    }
    const counts = await store.restore(header.identity, items());
    io.out(`restored store ${header.identity.id} from ${file} (backup of ${header.at}): ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
    io.out('relays that knew this store take it up again by themselves');
    return 0;
  });
}
