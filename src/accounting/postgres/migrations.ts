// The accounting schema in PostgreSQL, created and migrated by mailwarden itself: versioned
// migrations, each run once, in order, in one transaction, under an advisory lock so that
// replicas starting together do not race. A database newer than this code is refused.
import type { Pool } from 'pg';

/** the advisory lock key of schema migrations (any constant; shared by every replica) */
const MIGRATION_LOCK = 7_238_411_001;

/**
 * Records live in `mw_accounting` (active) and `mw_accounting_archive`, both partitioned by
 * UTC day; a day's partition moves from one to the other whole (detach, attach) and is
 * dropped whole. The record is kept as the JSON text it was written as (schema v1); the fields queries use
 * are columns. Erasures are remembered (tenant, pseudonym or the whole tenant, and when) so
 * that records still on their way from a replica's journal are not written after them.
 * `mw_accounting_journal` holds how far each replica's journal files are shipped: a batch
 * and its new offset are committed together, so each batch is written exactly once.
 */
const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE SEQUENCE mw_accounting_id;
      CREATE TABLE mw_accounting (
        id bigint NOT NULL DEFAULT nextval('mw_accounting_id'),
        day date NOT NULL,
        time timestamptz NOT NULL,
        tenant text NOT NULL,
        type text NOT NULL,
        sender_p text,
        recipient_p text,
        message_id text,
        record json NOT NULL
      ) PARTITION BY RANGE (day);
      CREATE TABLE mw_accounting_archive (LIKE mw_accounting INCLUDING DEFAULTS) PARTITION BY RANGE (day);
      CREATE INDEX mw_accounting_tenant_time ON mw_accounting (tenant, time, id);
      CREATE INDEX mw_accounting_tenant_recipient ON mw_accounting (tenant, recipient_p) WHERE recipient_p IS NOT NULL;
      CREATE INDEX mw_accounting_tenant_sender ON mw_accounting (tenant, sender_p) WHERE sender_p IS NOT NULL;
      CREATE INDEX mw_accounting_tenant_message ON mw_accounting (tenant, message_id) WHERE message_id IS NOT NULL;
      CREATE INDEX mw_accounting_archive_tenant_time ON mw_accounting_archive (tenant, time, id);
      CREATE INDEX mw_accounting_archive_tenant_recipient ON mw_accounting_archive (tenant, recipient_p) WHERE recipient_p IS NOT NULL;
      CREATE INDEX mw_accounting_archive_tenant_sender ON mw_accounting_archive (tenant, sender_p) WHERE sender_p IS NOT NULL;
      CREATE INDEX mw_accounting_archive_tenant_message ON mw_accounting_archive (tenant, message_id) WHERE message_id IS NOT NULL;
      CREATE TABLE mw_accounting_erasures (
        tenant text NOT NULL,
        pseudonym text,
        at timestamptz NOT NULL
      );
      CREATE INDEX mw_accounting_erasures_tenant ON mw_accounting_erasures (tenant);
      CREATE TABLE mw_accounting_journal (
        journal text NOT NULL,
        file text NOT NULL,
        shipped bigint NOT NULL,
        PRIMARY KEY (journal, file)
      );
      CREATE TABLE mw_accounting_runs (
        job text PRIMARY KEY,
        last_run timestamptz NOT NULL
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Brings the schema to this code's version; returns the versions applied now. */
export async function migrate(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS mw_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM mw_schema_migrations ORDER BY version');
      const have = new Set(rows.map((r) => r.version));
      const newest = Math.max(0, ...have);
      if (newest > SCHEMA_VERSION) throw new Error(`the accounting database has schema version ${newest}, newer than this mailwarden knows (${SCHEMA_VERSION}): run the newer mailwarden`);
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (have.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO mw_schema_migrations (version) VALUES ($1)', [m.version]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
