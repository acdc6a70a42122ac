// Accounting commands: queries over one tenant's records, retention runs by hand, and the
// move of a files installation's records into PostgreSQL.
import type { Config } from '../config/schema.js';
import { runLogRetention } from '../observability/log-files.js';
import { audited, refuseOverwrite, UsageError, withService, type Io } from './policy-commands.js';
import { CSV_HEADER, csvRow } from '../accounting/csv.js';
import { rangeBound } from '../accounting/query.js';
import { parseMailAddress } from '../domain/mailbox.js';
import { eraseSubject, exportSubject } from '../accounting/subject.js';
import { askRelay, relayOf } from './relay-call.js';
import type { EraseResult } from '../accounting/subject.js';
import { writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createLogger } from '../observability/logger.js';
import { listDir, readSegment, segmentsOf, TENANT_DIR } from '../accounting/segments.js';

export async function retentionRun(config: Config, values: { dryRun?: boolean; json?: boolean }, io: Io): Promise<number> {
  const { activeDays, archiveDays } = config.accounting.retention;
  const dryRun = values.dryRun ?? false;
  const where = config.accounting.kind === 'files' ? `accounting in ${config.accounting.dir}` : 'accounting in PostgreSQL';
  io.err(`${where}: archiving days older than ${activeDays} days, deleting those older than ${archiveDays}${dryRun ? ' (dry run: nothing is changed)' : ''}`);
  const result = await audited(
    config,
    { action: 'retention.run' },
    () =>
      withService(config, (_svc, _store, _accountant, records) =>
        records.retention({
          activeDays,
          archiveDays,
          now: Date.now(),
          dryRun,
          onProgress: (at, done, of, t) => io.err(`  [${done}/${of}] ${at}: ${t.archived} archived, ${t.deleted} deleted so far`),
        }),
      ),
    (r) => ({ archived: r.archived, deleted: r.deleted, dryRun }),
  );
  if (result.ran === false) io.err('another replica was running retention: nothing done');
  const logFilesDeleted = config.log.dir && !dryRun ? await runLogRetention(config.log.dir, config.log.retentionDays, Date.now()) : 0;
  if (values.json) {
    io.out(JSON.stringify({ dryRun, archived: result.archived, deleted: result.deleted, bytesDeleted: result.bytesDeleted, logFilesDeleted }));
    return 0;
  }
  const unit = config.accounting.kind === 'files' ? 'segment(s)' : 'day partition(s)';
  io.out(`${dryRun ? 'would archive' : 'archived'} ${result.archived} ${unit}, ${dryRun ? 'would delete' : 'deleted'} ${result.deleted} (${(result.bytesDeleted / 1024).toFixed(0)} KiB)`);
  if (config.log.dir && !dryRun) io.out(`deleted ${logFilesDeleted} technical log file(s) older than ${config.log.retentionDays} days from ${config.log.dir}`);
  return 0;
}

export interface QueryOptions {
  tenant: string;
  from?: string;
  to?: string;
  address?: string;
  messageId?: string;
  format: 'jsonl' | 'csv';
  /** false: --no-archive */
  archive: boolean;
}

export async function accountingQuery(config: Config, values: QueryOptions, io: Io): Promise<number> {
  const { format } = values;
  // a bare date for --to includes that whole day
  const time = (flag: string, v: string | undefined, end: boolean) => {
    if (v === undefined) return undefined;
    const t = rangeBound(v, end);
    if (Number.isNaN(t)) throw new UsageError(`${flag}: "${v}" is not a date (2026-11-21) or time (2026-11-21T12:00:00Z)`);
    return t;
  };
  const from = time('--from', values.from, false);
  const to = time('--to', values.to, true);
  const tenant = values.tenant;
  const started = Date.now();
  let read = 0;
  let skipped = 0;
  let n = 0;
  await withService(config, async (svc, _store, _accountant, records) => {
    let pseudonym: string | undefined;
    if (values.address !== undefined) {
      const key = await svc.keyOf(tenant);
      if (!key) throw new UsageError(`no tenant "${tenant}"`);
      const parsed = parseMailAddress(values.address.trim());
      if (!parsed) throw new UsageError('--address: not an email address');
      pseudonym = key.pseudonym(parsed.matchForm);
    }
    if (format === 'csv') io.out(CSV_HEADER);
    const rows = records.query({
      tenant,
      from,
      to,
      pseudonym,
      messageId: values.messageId,
      archived: values.archive,
      onSegment: (day, wasRead) => {
        if (wasRead) read++;
        else skipped++;
        if ((read + skipped) % 30 === 0) io.err(`  ${read + skipped} day(s) looked at (${skipped} skipped by their index), up to ${day}`);
      },
    });
    for await (const r of rows) {
      n++;
      if (format === 'jsonl') io.out(JSON.stringify(r));
      else {
        const row = csvRow(r);
        if (row !== null) io.out(row);
      }
      if (n % 100_000 === 0) io.err(`  ${n} record(s) so far`);
    }
  });
  const segments = config.accounting.kind === 'files' ? `; ${read} day segment(s) read, ${skipped} skipped by their index` : '';
  io.err(`${n} record(s) for ${tenant}${segments}, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

export async function subjectExport(config: Config, values: { tenant: string; address: string; output?: string; force?: boolean }, io: Io): Promise<number> {
  const { tenant, address } = values;
  if (!parseMailAddress(address.trim())) throw new UsageError('--address: not an email address');
  refuseOverwrite(values);
  const doc = await audited(config, { action: 'subject.export', tenant }, () =>
    withService(config, async (svc, store, _accountant, records) => {
      const key = await svc.keyOf(tenant);
      if (!key) throw new UsageError(`no tenant "${tenant}"`);
      let looked = 0;
      const progress = {
        query: (q: Parameters<typeof records.query>[0]) =>
          records.query({
            ...q,
            onSegment: () => {
              if (++looked % 30 === 0) io.err(`  ${looked} day(s) looked at`);
            },
          }),
      };
      return exportSubject({ records: progress, tenant, address, key, store, now: Date.now() });
    }),
  (d) => ({ records: d.records.length, suppressed: d.suppression !== null }));
  const text = JSON.stringify(doc, null, 2);
  if (values.output) {
    writeFileSync(values.output, `${text}\n`, { mode: 0o600 });
    io.err(`written to ${values.output}`);
  } else io.out(text);
  io.err(`${doc.records.length} record(s)${doc.suppression ? `; on the suppression list (${doc.suppression.reason})` : '; not on the suppression list'}`);
  return 0;
}

/**
 * Erases one address of one tenant. When a relay writes to the accounting directory, the
 * erasure is done by the relay (through its admin API, with a token made for this one
 * request) so that no record it is writing is lost; otherwise here.
 */
export async function subjectErase(config: Config, { tenant, address }: { tenant: string; address: string }, io: Io): Promise<number> {
  if (!parseMailAddress(address.trim())) throw new UsageError('--address: not an email address');
  const relay = await relayOf(config);
  const result = await audited(config, { action: 'subject.erase', tenant }, () =>
    withService(config, async (svc, store, _accountant, records) => {
      const key = await svc.keyOf(tenant);
      if (!key) throw new UsageError(`no tenant "${tenant}"`);
      // with files, a relay writing the segments erases them itself; the database takes the erasure from anyone
      if (relay === null || config.accounting.kind === 'postgres') {
        return eraseSubject({ store, tenant, key, address, now: Date.now(), eraseRecords: (pseudonym) => records.eraseSubject(tenant, pseudonym) });
      }
      io.err(`a relay (pid ${relay.pid}) writes these records: asking it to erase them`);
      return askRelay<EraseResult>(relay, store, `/tenants/${tenant}/subjects/erase`, { address }, 'subject erase');
    }),
  (r) => ({ records: r.recordsRemoved, segments: r.segmentsRewritten, reports: r.reportsErased, stillSuppressed: r.stillSuppressed }));
  io.out(`erased ${result.recordsRemoved} record(s) from ${result.segmentsRewritten} segment(s) of ${tenant}`);
  io.out(`erased the text of ${result.reportsErased} kept complaint or bounce report(s) naming the address (their figures stay)`);
  io.out(
    result.stillSuppressed
      ? 'the address stays suppressed: its suppression entry is kept as a bare pseudonym, without the address (an opt-out must outlive erasure)'
      : 'the address was not on the suppression list',
  );
  return 0;
}

/**
 * Moves the records of a files installation (accounting.kind: files, the segments under
 * --from, accounting.dir by default) into the PostgreSQL database the configuration names.
 * Each segment is shipped in batches like a journal file, under a journal named after the
 * directory, with the record's position in its segment as the offset: a run stopped part-way
 * and run again takes up where it stopped, and writes no record twice. The segments are left
 * as they are; delete them once the relays run on PostgreSQL.
 */
export async function accountingMigrate(config: Config, values: { from?: string; json?: boolean }, io: Io): Promise<number> {
  if (config.accounting.kind !== 'postgres') throw new UsageError('accounting migrate moves records into PostgreSQL: set accounting.kind: postgres and accounting.postgres.url first');
  const from = resolve(values.from ?? config.accounting.dir);
  const { openAccountingRecords } = await import('../accounting/open.js');
  const { PostgresAccounting } = await import('../accounting/postgres/store.js');
  const records = await openAccountingRecords(config.accounting, createLogger('warn', process.stderr));
  if (!(records instanceof PostgresAccounting)) throw new Error('accounting.kind postgres opened no database');
  const journal = `migrate:${from}`;
  const batchRecords = config.accounting.postgres!.batchRecords;
  const started = Date.now();
  let moved = 0;
  let skipped = 0;
  try {
    const tenants = [...new Set([...(await listDir(join(from, 'active'))), ...(await listDir(join(from, 'archive')))])].filter((t) => TENANT_DIR.test(t)).sort();
    const segments = (await Promise.all(tenants.map(async (t) => (await segmentsOf(from, t)).map((s) => ({ tenant: t, ...s }))))).flat();
    io.err(`moving the records of ${segments.length} segment(s) of ${tenants.length} tenant(s) from ${from} into PostgreSQL`);
    for (const [i, segment] of segments.entries()) {
      const file = relative(from, segment.file);
      const done = await records.shipped(journal, file);
      let at = 0;
      let batch: string[] = [];
      const ship = async () => {
        if (at + batch.length > done) {
          // a batch begun before a stopped run's offset is shipped from that offset on
          const skip = Math.max(0, done - at);
          await records.ship({ journal, file, from: at + skip, to: at + batch.length, lines: batch.slice(skip) });
          moved += batch.length - skip;
          skipped += skip;
        } else skipped += batch.length;
        at += batch.length;
        batch = [];
      };
      for await (const r of readSegment(segment.file)) {
        batch.push(JSON.stringify(r));
        if (batch.length >= batchRecords) await ship();
      }
      await ship();
      io.err(`  [${i + 1}/${segments.length}] ${file}: ${at} record(s)`);
    }
  } finally {
    await records.close();
  }
  const seconds = (Date.now() - started) / 1000;
  if (values.json) io.out(JSON.stringify({ from, moved, alreadyThere: skipped, seconds }));
  else {
    io.out(`moved ${moved} record(s) into PostgreSQL${skipped ? ` (${skipped} were there from an earlier run)` : ''} in ${seconds.toFixed(1)} s`);
    io.out('the segments are left as they were: delete them once every relay runs with accounting.kind: postgres; run `mailwarden retention run` to archive the old days');
  }
  return 0;
}
