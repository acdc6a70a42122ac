// Ships a replica's journal to PostgreSQL in batches, off the hot path. Each batch is
// written together with its file's new offset (PostgresAccounting.ship), so after any
// failure — the database gone, the reply lost, this process killed — the next attempt starts
// where the database says the file stands, and no record is written twice. A file closed and
// shipped to its end is deleted (first the file, then its offset: the other order could ship
// it again after a crash).
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Journal } from '../journal.js';
import type { PostgresAccounting } from './store.js';

export interface ShipperOptions {
  readonly journal: Journal;
  /** where the journal's files are */
  readonly dir: string;
  readonly store: PostgresAccounting;
  readonly log: Logger;
  /** records per batch at most */
  readonly batchRecords: number;
  /** how often it looks for records to ship; after a failure it waits up to 10 times longer */
  readonly intervalMs: number;
  /** told how many records each batch wrote */
  readonly onShipped?: (records: number) => void;
}

/** bytes read from a journal file at a time */
const READ_BYTES = 4 * 1024 * 1024;

export class Shipper {
  readonly #o: ShipperOptions;
  /** each file's offset as the database has it, once asked */
  readonly #offsets = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #failures = 0;
  #stopped = false;

  constructor(options: ShipperOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Stops looking; waits for the batch in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  /** bytes of the journal not shipped yet */
  backlog(): number {
    let n = 0;
    for (const f of this.#o.journal.files()) n += f.size - (this.#offsets.get(f.name) ?? 0);
    return n;
  }

  /** Writes what is buffered, closes the journal's file, and ships everything; throws when the database cannot take it. */
  async drain(): Promise<void> {
    await this.#o.journal.rotate();
    await this.shipAll();
  }

  /** One pass over the journal: ships every whole line there is. */
  shipAll(): Promise<void> {
    const run = (this.#running ?? Promise.resolve()).catch(() => undefined).then(() => this.#pass());
    this.#running = run;
    return run;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.shipAll().then(
        () => {
          if (this.#failures > 0) this.#o.log.info({ failures: this.#failures }, 'accounting database reachable again: the journal is shipped');
          this.#failures = 0;
          this.#schedule(this.#o.intervalMs);
        },
        (err: unknown) => {
          if (this.#failures === 0) this.#o.log.warn({ err: (err as Error).message, backlogBytes: this.backlog() }, 'accounting records not shipped: they wait in the journal');
          this.#failures++;
          this.#schedule(Math.min(this.#o.intervalMs * 2 ** this.#failures, this.#o.intervalMs * 10));
        },
      );
    }, ms);
    this.#timer.unref();
  }

  async #pass(): Promise<void> {
    const { journal, store } = this.#o;
    for (const f of journal.files()) {
      let at = this.#offsets.get(f.name) ?? (await store.shipped(journal.id, f.name));
      this.#offsets.set(f.name, at);
      if (at < f.size) at = await this.#shipFile(f.name, at, f.size);
      if (f.closed && at >= f.size) {
        await journal.remove(f.name);
        await store.forget(journal.id, f.name);
        this.#offsets.delete(f.name);
      }
    }
  }

  /** ships a file's whole lines from `at` to `size`; returns the offset reached */
  async #shipFile(name: string, at: number, size: number): Promise<number> {
    const handle = await open(join(this.#o.dir, name), 'r');
    try {
      while (at < size) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, size - at));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
        const chunk = buffer.subarray(0, bytesRead);
        const lines: string[] = [];
        let used = 0;
        for (let start = 0; lines.length < this.#o.batchRecords; ) {
          const lf = chunk.indexOf(0x0a, start);
          if (lf === -1) break;
          if (lf > start) lines.push(chunk.toString('utf8', start, lf));
          start = lf + 1;
          used = start;
        }
        if (used === 0) throw new Error(`accounting journal ${name}: a line longer than ${READ_BYTES} bytes at offset ${at}`);
        const reached = await this.#o.store.ship({ journal: this.#o.journal.id, file: name, from: at, to: at + used, lines });
        if (reached === at + used) this.#o.onShipped?.(lines.length);
        at = reached;
        this.#offsets.set(name, at);
      }
      return at;
    } finally {
      await handle.close();
    }
  }
}
