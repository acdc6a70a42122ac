// Technical log files: when log.dir is set, every log line also goes to
// <dir>/mailwarden-<YYYY-MM-DD>.log (UTC day), and files older than log.retentionDays are
// deleted by the retention run. Standard output keeps every line as before.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ageInDays } from '../accounting/retention.js';

const FILE = /^mailwarden-(\d{4}-\d{2}-\d{2})\.log$/;

/** A stream that appends to the file of the current UTC day, switching at midnight. */
export class DailyLogFile extends Writable {
  readonly #dir: string;
  readonly #now: () => number;
  #day = '';
  #out: WriteStream | null = null;

  constructor(dir: string, now: () => number = Date.now) {
    super();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#dir = dir;
    this.#now = now;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const day = new Date(this.#now()).toISOString().slice(0, 10);
    if (day !== this.#day) {
      this.#out?.end();
      this.#out = createWriteStream(join(this.#dir, `mailwarden-${day}.log`), { flags: 'a', mode: 0o600 });
      this.#day = day;
    }
    this.#out!.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#out) return cb();
    this.#out.end(() => cb());
  }
}

/** Deletes log files older than `days` whole UTC days; returns how many. */
export async function runLogRetention(dir: string, days: number, now: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let deleted = 0;
  for (const name of names) {
    const m = FILE.exec(name);
    if (!m || ageInDays(m[1]!, now) <= days) continue;
    await rm(join(dir, name));
    deleted++;
  }
  return deleted;
}
