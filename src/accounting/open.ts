// Opens the accounting the configuration names: its local writer (the segment writer for
// files, the journal and its shipper for postgres) and the records port every accounting
// operation goes through. Only the composition root and the CLI call this; each adapter is
// loaded only when chosen.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { StartupError } from '../config/startup-error.js';
import { withoutPassword } from '../store/open.js';
import type { AccountingSink } from './accountant.js';
import type { Acceptance, BufferedRecords } from './buffer.js';
import type { AccountingStore } from './port.js';
import type { AccountingRecord } from './records.js';
import { AccountingLog } from './writer.js';
import { FileAccounting } from './files/store.js';

type AccountingConfig = Config['accounting'];

export interface Accounting {
  /** where this process's records go first; MAIL asks it whether there is room */
  readonly writer: AccountingSink & Pick<BufferedRecords, 'accepting' | 'flush'>;
  readonly records: AccountingStore;
  /** resolves once what this process wrote so far is in `records` (postgres: the journal shipped) */
  settle(): Promise<void>;
  /** bytes written locally and not yet in `records` */
  backlog(): number;
  /** writes and ships what it can, then closes */
  close(): Promise<void>;
}

export interface AccountingHooks {
  readonly now: () => number;
  readonly log: Logger;
  /** records that came after close() */
  readonly onLost?: (count: number) => void;
  /** records a shipped batch wrote */
  readonly onShipped?: (count: number) => void;
}

async function openPostgres(config: AccountingConfig, log: Logger, startWithoutDatabase = false) {
  const pg = config.postgres!;
  const { PostgresAccounting } = await import('./postgres/store.js');
  try {
    return await PostgresAccounting.open({ url: pg.url, log, maxConnections: pg.maxConnections, timeoutMs: pg.timeoutMs, archiveTablespace: pg.archiveTablespace, startWithoutDatabase });
  } catch (err) {
    throw new StartupError('accounting.postgres.url', `cannot open the accounting database at ${withoutPassword(pg.url)}: ${(err as Error).message}`, { cause: err, unavailable: true });
  }
}

/** The accounting of a relay process (the one process, or the primary of its workers). */
export async function openAccounting(config: AccountingConfig, hooks: AccountingHooks): Promise<Accounting> {
  const buffer = { dir: config.dir, flushMs: config.flushMs, maxBufferedRecords: config.maxBufferedRecords, minFreeBytes: config.minFreeBytes, now: hooks.now, log: hooks.log, onLost: hooks.onLost };
  if (config.kind === 'files') {
    const writer = await AccountingLog.open(buffer);
    return {
      writer,
      records: new FileAccounting(config.dir, writer),
      settle: () => writer.flush(),
      backlog: () => 0,
      close: () => writer.close(),
    };
  }
  const pg = config.postgres!;
  // a relay starts without the database: its records wait in the journal
  const store = await openPostgres(config, hooks.log, true);
  const { Journal } = await import('./journal.js');
  const { Shipper } = await import('./postgres/shipper.js');
  const dir = join(config.dir, 'journal');
  const journal = await Journal.open({ ...buffer, dir, rotateMs: pg.journalRotateMs, maxFileBytes: 64 * 1024 * 1024 });
  const shipper = new Shipper({ journal, dir, store, log: hooks.log, batchRecords: pg.batchRecords, intervalMs: pg.shipIntervalMs, onShipped: hooks.onShipped });
  shipper.start();
  return {
    writer: journal,
    records: store,
    settle: () => shipper.drain(),
    backlog: () => shipper.backlog(),
    async close() {
      await journal.close();
      await shipper.stop();
      // what the database takes now is not left for the next start; what it cannot take waits in the journal
      await shipper.shipAll().catch((err: unknown) => hooks.log.warn({ err: (err as Error).message, backlogBytes: shipper.backlog() }, 'accounting records left in the journal for the next start'));
      await store.close();
    },
  };
}

/** The records port alone, to read (an SMTP worker attributing reports by Message-ID). */
export async function openAccountingRecords(config: AccountingConfig, log: Logger, startWithoutDatabase = false): Promise<AccountingStore> {
  return config.kind === 'files' ? new FileAccounting(config.dir) : openPostgres(config, log, startWithoutDatabase);
}

/**
 * The accounting of a CLI command beside (or without) a running relay: the records port, and
 * a sink for the records of what the command changes. With files they are appended to the
 * segments; with postgres they are written at close, in one batch of their own.
 */
export async function openCliAccounting(config: AccountingConfig, log: Logger): Promise<{ records: AccountingStore; sink: AccountingSink & { accepting(): Acceptance }; close(): Promise<void> }> {
  if (config.kind === 'files') {
    const writer = await AccountingLog.open({ dir: config.dir, flushMs: config.flushMs, maxBufferedRecords: config.maxBufferedRecords, minFreeBytes: 0, now: Date.now, log, secondary: true });
    return { records: new FileAccounting(config.dir), sink: writer, close: () => writer.close() };
  }
  const store = await openPostgres(config, log);
  const lines: string[] = [];
  const { randomUUID } = await import('node:crypto');
  return {
    records: store,
    sink: {
      add: (r: AccountingRecord) => void lines.push(JSON.stringify(r)),
      addLines: (_tenant: string, _day: string, text: string) => void lines.push(...text.split('\n').filter(Boolean)),
      accepting: () => 'ok',
    },
    async close() {
      try {
        if (lines.length > 0) {
          const journal = `cli-${randomUUID()}`;
          await store.ship({ journal, file: 'records', from: 0, to: lines.length, lines });
          await store.forget(journal, 'records');
        }
      } finally {
        await store.close();
      }
    },
  };
}
