// What every local writer of accounting records shares: records are taken on the hot path
// into a bounded in-memory buffer and written at least once every flushMs, off the reply
// path, one flush after the other. When the buffer is full or the disk is nearly full,
// accepting() says so and the relay answers MAIL with 452 4.3.1 instead of taking mail it
// could not account for. Records that come after close() are logged and counted, never
// silently dropped. The segment writer (writer.ts) and the journal (journal.ts) say where
// the lines go.
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { AccountingRecord } from './records.js';

export interface BufferOptions {
  /** a directory on the disk the records go to: its free space is watched */
  readonly dir: string;
  readonly flushMs: number;
  /** records waiting to be written before MAIL is refused */
  readonly maxBufferedRecords: number;
  /** free space on the accounting disk below which MAIL is refused */
  readonly minFreeBytes: number;
  readonly now: () => number;
  readonly log: Logger;
  /** told about records that came after close(): they are not written (logged and counted, never silently dropped) */
  readonly onLost?: (count: number) => void;
}

export type Acceptance = 'ok' | 'buffer-full' | 'disk-low';

/** one or more whole lines of one tenant and UTC day: `count` records */
export interface Lines {
  readonly tenant: string;
  readonly day: string;
  readonly line: string;
  readonly count: number;
}

export abstract class BufferedRecords {
  protected readonly options: BufferOptions;
  #buffer: Lines[] = [];
  #buffered = 0;
  #chain: Promise<void> = Promise.resolve();
  #diskLow = false;
  #timer: NodeJS.Timeout | null = null;
  #written = 0;
  #closed = false;

  protected constructor(options: BufferOptions) {
    this.options = options;
  }

  /** Writes what `batch` holds; puts back (requeue) what it could not write before it throws. */
  protected abstract write(batch: Lines[]): Promise<void>;

  /** Syncs and closes what is open, after the last flush. */
  protected abstract closeFiles(): Promise<void>;

  protected startTimer(what: string): void {
    this.#timer = setInterval(() => void this.flush().catch((err: unknown) => this.options.log.error({ err: (err as Error).message }, `${what} not written`)), this.options.flushMs);
    this.#timer.unref();
  }

  /** Takes a record; never blocks, never throws. */
  add(record: AccountingRecord): void {
    this.addLines(record.tenant, record.time.slice(0, 10), `${JSON.stringify(record)}\n`, 1);
  }

  /** Takes `count` records already serialised, each a line ending in LF, of one tenant and UTC day. */
  addLines(tenant: string, day: string, lines: string, count: number): void {
    if (this.#closed) {
      this.options.log.error({ tenant, day, records: count }, 'accounting records arrived after the log was closed: not written');
      this.options.onLost?.(count);
      return;
    }
    this.#buffer.push({ tenant, day, line: lines, count });
    this.#buffered += count;
  }

  /** Whether mail may be taken: there is room to account for it. */
  accepting(): Acceptance {
    if (this.#buffered >= this.options.maxBufferedRecords) return 'buffer-full';
    if (this.#diskLow) return 'disk-low';
    return 'ok';
  }

  /** records written since the start */
  get written(): number {
    return this.#written;
  }

  /** Writes what is buffered; resolves when it is in the files. */
  flush(): Promise<void> {
    return this.serial(async () => {
      const batch = this.#buffer;
      this.#buffer = [];
      this.#buffered = 0;
      await this.write(batch);
      this.#written += batch.reduce((n, l) => n + l.count, 0);
      await this.checkDisk();
    });
  }

  /** Runs `fn` in turn with the flushes. */
  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn);
    this.#chain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Puts lines that could not be written back in front of the buffer, for the next flush. */
  protected requeue(lines: Lines[], written: number): void {
    this.#buffer.unshift(...lines);
    this.#buffered += lines.reduce((n, l) => n + l.count, 0);
    this.#written += written;
  }

  /** Drops what is buffered of a tenant (offboarding). */
  protected dropBuffered(tenant: string): void {
    this.#buffer = this.#buffer.filter((r) => r.tenant !== tenant);
    this.#buffered = this.#buffer.reduce((n, r) => n + r.count, 0);
  }

  /** Writes everything, then syncs and closes what is open. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
    await this.serial(() => this.closeFiles());
  }

  protected async checkDisk(): Promise<void> {
    try {
      const s = await statfs(this.options.dir);
      const free = Number(s.bavail) * Number(s.bsize);
      const low = free < this.options.minFreeBytes;
      if (low !== this.#diskLow) this.options.log[low ? 'error' : 'info']({ freeBytes: free, minFreeBytes: this.options.minFreeBytes }, low ? 'accounting disk nearly full: refusing new mail' : 'accounting disk has room again');
      this.#diskLow = low;
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'free space on the accounting disk unknown');
    }
  }
}
