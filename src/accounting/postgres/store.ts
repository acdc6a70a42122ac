// The accounting records in PostgreSQL, shared by every replica (accounting.kind: postgres).
// Records arrive in batches from each replica's journal (ship); the schema is in
// migrations.ts. A day's records are one partition: retention moves it from the active
// table to the archive whole, and drops it whole, once per installation under a lock.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import type { TenantId } from '../../domain/tenant.js';
import type { AccountingRecord } from '../records.js';
import type { AccountingStore, RecordQuery, RetentionResult, RetentionRun, TenantReturn } from '../port.js';
import { migrate } from './migrations.js';
import { ageInDays } from '../retention.js';

const DAY = 86_400_000;
/** advisory lock keys: creating partitions, and the retention run */
const PARTITION_LOCK = 7_238_411_002;
const RETENTION_LOCK = 7_238_411_003;
/** records fetched per round trip by a query */
const PAGE = 5_000;

type Where = 'active' | 'archive';
const TABLE: Record<Where, string> = { active: 'mw_accounting', archive: 'mw_accounting_archive' };

function partitionName(day: string): string {
  return `mw_accounting_p${day.replaceAll('-', '')}`;
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
}

export interface PostgresAccountingOptions {
  readonly url: string;
  readonly log: Logger;
  /** connections this process keeps at most */
  readonly maxConnections?: number;
  /** how long a connection attempt or a statement may take */
  readonly timeoutMs?: number;
  /** a tablespace archived days are moved to (cheaper, or compressing, storage); none: they stay where they are */
  readonly archiveTablespace?: string;
  /**
   * A relay starts while the database cannot be reached: its records wait in the journal, and
   * the schema is brought up to date at the first call that reaches it. Without it (a CLI
   * command), an unreachable database fails open().
   */
  readonly startWithoutDatabase?: boolean;
}

/** errors that say the database could not be reached (rather than that it refused something) */
function unreachable(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', '57P01', '57P02', '57P03'].includes(code) || /timeout|terminated|Connection terminated/i.test((err as Error).message ?? '');
}

/** A batch of journal lines to ship, and where they sit in their journal file. */
export interface ShipBatch {
  readonly journal: string;
  readonly file: string;
  /** byte offset of the first line, as the journal file has it */
  readonly from: number;
  /** byte offset after the last line */
  readonly to: number;
  /** whole records, each a JSON text (schema v1) */
  readonly lines: readonly string[];
}

export class PostgresAccounting implements AccountingStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  /** where each day's partition is, as last seen: saves a catalog lookup per batch */
  readonly #partitions = new Map<string, Where>();
  readonly #archiveTablespace: string | null;
  /** the schema is known to be this code's version */
  #migrated: Promise<void> | null;

  private constructor(pool: pg.Pool, log: Logger, archiveTablespace: string | null, migrated: boolean) {
    this.#pool = pool;
    this.#log = log;
    this.#archiveTablespace = archiveTablespace;
    this.#migrated = migrated ? Promise.resolve() : null;
  }

  /** Connects and brings the schema up to date (under a lock: replicas may start together). */
  static async open(o: PostgresAccountingOptions): Promise<PostgresAccounting> {
    const timeout = o.timeoutMs ?? 10_000;
    const pool = new pg.Pool({ connectionString: o.url, max: o.maxConnections ?? 4, connectionTimeoutMillis: timeout, statement_timeout: 10 * timeout, application_name: 'mailwarden' });
    // an idle connection the server dropped (restart, failover) is an event, not a crash
    pool.on('error', (err) => o.log.warn({ err: err.message }, 'accounting database connection lost'));
    try {
      await PostgresAccounting.#migrate(pool, o.log);
    } catch (err) {
      if (o.startWithoutDatabase && unreachable(err)) {
        o.log.warn({ err: (err as Error).message }, 'accounting database unreachable at start: records wait in the journal until it answers');
        return new PostgresAccounting(pool, o.log, o.archiveTablespace ?? null, false);
      }
      await pool.end();
      throw err;
    }
    return new PostgresAccounting(pool, o.log, o.archiveTablespace ?? null, true);
  }

  static async #migrate(pool: pg.Pool, log: Logger): Promise<void> {
    const applied = await migrate(pool);
    if (applied.length) log.info({ versions: applied }, 'accounting database schema migrated');
  }

  /** resolves once the schema is up to date; a relay that started without the database does it here */
  #ready(): Promise<void> {
    if (!this.#migrated) {
      const attempt = PostgresAccounting.#migrate(this.#pool, this.#log);
      this.#migrated = attempt;
      attempt.catch(() => {
        if (this.#migrated === attempt) this.#migrated = null;
      });
    }
    return this.#migrated;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** how far a journal file is shipped: its offset, 0 when nothing was */
  async shipped(journal: string, file: string): Promise<number> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ shipped: string }>('SELECT shipped FROM mw_accounting_journal WHERE journal = $1 AND file = $2', [journal, file]);
    return rows.length ? Number(rows[0]!.shipped) : 0;
  }

  /**
   * Writes a batch and moves its file's offset in one transaction, so that a batch is
   * written exactly once whatever fails when. Returns the file's offset afterwards: `to`,
   * or what another attempt had already shipped when `from` is behind it.
   */
  async ship(batch: ShipBatch): Promise<number> {
    try {
      return await this.#transaction(async (client) => {
        const { rows } = await client.query<{ shipped: string }>('SELECT shipped FROM mw_accounting_journal WHERE journal = $1 AND file = $2 FOR UPDATE', [batch.journal, batch.file]);
        const at = rows.length ? Number(rows[0]!.shipped) : 0;
        if (at !== batch.from) return at;
        if (batch.lines.length > 0) await this.#insert(client, batch.lines);
        await client.query(
          'INSERT INTO mw_accounting_journal (journal, file, shipped) VALUES ($1, $2, $3) ON CONFLICT (journal, file) DO UPDATE SET shipped = EXCLUDED.shipped',
          [batch.journal, batch.file, batch.to],
        );
        return batch.to;
      });
    } catch (err) {
      // a partition may have moved meanwhile (another replica's retention): looked up again next time
      this.#partitions.clear();
      throw err;
    }
  }

  /** Runs `fn` in one transaction on one connection: committed when it returns, rolled back when it throws. */
  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.#ready();
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** A journal file is gone from its replica: its offset is no longer needed. */
  async forget(journal: string, file: string): Promise<void> {
    await this.#ready();
    await this.#pool.query('DELETE FROM mw_accounting_journal WHERE journal = $1 AND file = $2', [journal, file]);
  }

  async #insert(client: pg.PoolClient, lines: readonly string[]): Promise<void> {
    const byWhere: Record<Where, string[]> = { active: [], archive: [] };
    const days = new Set<string>();
    const dayOf = (line: string) => /"time":"(\d{4}-\d\d-\d\d)T/.exec(line)?.[1];
    for (const line of lines) {
      const day = dayOf(line);
      if (!day) throw new Error('an accounting record without a time');
      days.add(day);
    }
    const where = await this.#ensurePartitions(client, [...days]);
    for (const line of lines) byWhere[where.get(dayOf(line)!)!].push(line);
    for (const w of ['active', 'archive'] as const) {
      if (byWhere[w].length === 0) continue;
      // records erased (or their tenant deleted) after they were written are not written again
      await client.query(
        `INSERT INTO ${TABLE[w]} (day, time, tenant, type, sender_p, recipient_p, message_id, record)
         SELECT (t AT TIME ZONE 'UTC')::date, t, r->>'tenant', r->>'type', r->'sender'->>'p', r->'recipient'->>'p', r->>'messageId', r
         FROM (SELECT r, (r->>'time')::timestamptz AS t, n FROM json_array_elements($1::json) WITH ORDINALITY AS a(r, n)) x
         WHERE NOT EXISTS (
           SELECT 1 FROM mw_accounting_erasures e
           WHERE e.tenant = x.r->>'tenant' AND e.at >= x.t
             AND (e.pseudonym IS NULL OR e.pseudonym = x.r->'sender'->>'p' OR e.pseudonym = x.r->'recipient'->>'p'))
         ORDER BY n`,
        [`[${byWhere[w].join(',')}]`],
      );
    }
  }

  /** where each day's partition is; a day without one gets one in the active table */
  async #ensurePartitions(client: pg.PoolClient, days: string[]): Promise<Map<string, Where>> {
    const out = new Map<string, Where>();
    const unknown = days.filter((d) => !this.#partitions.has(d));
    if (unknown.length > 0) {
      await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      const found = await this.#locate(client, unknown.map(partitionName));
      for (const day of unknown) {
        let w = found.get(partitionName(day));
        if (!w) {
          await client.query(`CREATE TABLE ${partitionName(day)} PARTITION OF mw_accounting FOR VALUES FROM ('${day}') TO ('${nextDay(day)}')`);
          w = 'active';
          this.#log.info({ day }, 'accounting partition created');
        }
        this.#partitions.set(day, w);
      }
    }
    for (const day of days) out.set(day, this.#partitions.get(day)!);
    return out;
  }

  /** which of these partitions exist, and under which table */
  async #locate(client: pg.PoolClient | pg.Pool, names: string[]): Promise<Map<string, Where>> {
    const { rows } = await client.query<{ name: string; parent: string }>(
      `SELECT c.relname AS name, p.relname AS parent FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE c.relname = ANY($1) AND p.relname IN ('mw_accounting', 'mw_accounting_archive')`,
      [names],
    );
    return new Map(rows.map((r) => [r.name, r.parent === 'mw_accounting' ? 'active' : 'archive']));
  }

  async *query(q: RecordQuery): AsyncIterable<AccountingRecord> {
    await this.#ready();
    const where: string[] = ['tenant = $1'];
    const params: unknown[] = [q.tenant];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.from !== undefined) add('time >= ?', new Date(q.from));
    if (q.to !== undefined) add('time < ?', new Date(q.to));
    if (q.pseudonym) {
      params.push(q.pseudonym);
      where.push(`(sender_p = $${params.length} OR recipient_p = $${params.length})`);
    }
    if (q.messageId) add('message_id = ?', q.messageId);
    const tables = q.archived === false ? [TABLE.active] : [TABLE.active, TABLE.archive];
    let after: { time: Date; id: string } | null = null;
    for (;;) {
      const page = [...params];
      let keyset = '';
      if (after) {
        page.push(after.time, after.id);
        keyset = ` AND (time, id) > ($${page.length - 1}, $${page.length})`;
      }
      const union = tables.map((t) => `SELECT id, time, record FROM ${t} WHERE ${where.join(' AND ')}${keyset}`).join(' UNION ALL ');
      const { rows } = await this.#pool.query<{ id: string; time: Date; record: AccountingRecord }>(`${union} ORDER BY time, id LIMIT ${PAGE}`, page);
      for (const r of rows) yield r.record;
      if (rows.length < PAGE) return;
      const last = rows.at(-1)!;
      after = { time: last.time, id: last.id };
    }
  }

  async retention(run: RetentionRun): Promise<RetentionResult> {
    const totals: RetentionResult = { archived: 0, deleted: 0, bytesDeleted: 0, ran: true };
    // a dry run writes nothing: every change below is made only when it is not one
    const result = await this.#transaction(async (client) => {
      const { rows: lock } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS got', [RETENTION_LOCK]);
      if (!lock[0]!.got) return { ...totals, ran: false };
      if (run.everyMs !== undefined) {
        const { rows } = await client.query<{ last_run: Date }>("SELECT last_run FROM mw_accounting_runs WHERE job = 'retention'");
        if (rows.length && run.now - rows[0]!.last_run.getTime() < run.everyMs) return { ...totals, ran: false };
      }
      // the partition lock too: no batch creates a day's partition while it moves
      await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      const { rows: parts } = await client.query<{ name: string; parent: string; bytes: string }>(
        `SELECT c.relname AS name, p.relname AS parent, pg_total_relation_size(c.oid) AS bytes FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname IN ('mw_accounting', 'mw_accounting_archive') ORDER BY c.relname`,
      );
      for (const [i, part] of parts.entries()) {
        const m = /^mw_accounting_p(\d{4})(\d\d)(\d\d)$/.exec(part.name);
        if (!m) continue;
        const day = `${m[1]}-${m[2]}-${m[3]}`;
        const age = ageInDays(day, run.now);
        if (age > run.archiveDays) {
          if (!run.dryRun) await client.query(`DROP TABLE ${part.name}`);
          totals.deleted++;
          totals.bytesDeleted += Number(part.bytes);
        } else if (age > run.activeDays && part.parent === 'mw_accounting') {
          if (!run.dryRun) {
            await client.query(`ALTER TABLE mw_accounting DETACH PARTITION ${part.name}`);
            // the only copy retention makes: onto the archive's storage, when it has its own
            if (this.#archiveTablespace) await client.query(`ALTER TABLE ${part.name} SET TABLESPACE ${pg.escapeIdentifier(this.#archiveTablespace)}`);
            await client.query(`ALTER TABLE mw_accounting_archive ATTACH PARTITION ${part.name} FOR VALUES FROM ('${day}') TO ('${nextDay(day)}')`);
          }
          totals.archived++;
        }
        run.onProgress?.(day, i + 1, parts.length, totals);
      }
      if (!run.dryRun) {
        // an erasure need not be remembered longer than any record could have waited
        await client.query('DELETE FROM mw_accounting_erasures WHERE at < $1', [new Date(run.now - (run.archiveDays + 1) * DAY)]);
        await client.query("INSERT INTO mw_accounting_runs (job, last_run) VALUES ('retention', $1) ON CONFLICT (job) DO UPDATE SET last_run = EXCLUDED.last_run", [new Date(run.now)]);
      }
      return totals;
    });
    // days may have moved: where each partition is is looked up again
    if (result.ran) this.#partitions.clear();
    return result;
  }

  async eraseSubject(tenant: TenantId, pseudonym: string): Promise<{ removed: number }> {
    return { removed: await this.#delete(tenant, pseudonym) };
  }

  async deleteTenant(tenant: TenantId): Promise<{ records: number }> {
    return { records: await this.#delete(tenant, null) };
  }

  /** deletes a subject's (or, with null, all the tenant's) records and remembers it, in one transaction */
  #delete(tenant: TenantId, pseudonym: string | null): Promise<number> {
    return this.#transaction(async (client) => {
      await client.query('INSERT INTO mw_accounting_erasures (tenant, pseudonym, at) VALUES ($1, $2, now())', [tenant, pseudonym]);
      let removed = 0;
      for (const table of Object.values(TABLE)) {
        const r = pseudonym === null ? await client.query(`DELETE FROM ${table} WHERE tenant = $1`, [tenant]) : await client.query(`DELETE FROM ${table} WHERE tenant = $1 AND (sender_p = $2 OR recipient_p = $2)`, [tenant, pseudonym]);
        removed += r.rowCount ?? 0;
      }
      return removed;
    });
  }

  async countTenant(tenant: TenantId): Promise<number> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ n: string }>('SELECT (SELECT count(*) FROM mw_accounting WHERE tenant = $1) + (SELECT count(*) FROM mw_accounting_archive WHERE tenant = $1) AS n', [tenant]);
    return Number(rows[0]!.n);
  }

  async returnTenant(tenant: TenantId, dir: string): Promise<TenantReturn> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const out = createWriteStream(join(dir, 'records.jsonl'), { mode: 0o600 });
    let records = 0;
    let bytes = 0;
    for await (const r of this.query({ tenant })) {
      const line = `${JSON.stringify(r)}\n`;
      records++;
      bytes += Buffer.byteLength(line);
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    return { files: 1, bytes, records };
  }

  /** records in the active table and the archive, for tests and the migrate command */
  async count(): Promise<number> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ n: string }>('SELECT (SELECT count(*) FROM mw_accounting) + (SELECT count(*) FROM mw_accounting_archive) AS n');
    return Number(rows[0]!.n);
  }

  /** whether a day's records are active, archived, or not kept (none, or deleted), and on which tablespace */
  async whereIs(day: string): Promise<{ where: Where; tablespace: string } | null> {
    const where = (await this.#locate(this.#pool, [partitionName(day)])).get(partitionName(day));
    if (!where) return null;
    const { rows } = await this.#pool.query<{ tablespace: string | null }>('SELECT tablespace FROM pg_tables WHERE tablename = $1', [partitionName(day)]);
    return { where, tablespace: rows[0]?.tablespace ?? 'pg_default' };
  }
}
