// The accounting log writer. Records are taken on the hot path into a bounded in-memory
// buffer and written at least once a second, off the reply path, into one JSON Lines
// segment per tenant and UTC day: <dir>/active/<tenant>/<YYYY-MM-DD>.jsonl. A day's segment
// is synced and sealed (gzip, .jsonl.gz) when the day is over. A process killed outright
// loses at most the records of the last flush interval; at the next start a torn last line
// is cut off and segments of past days are sealed. When the buffer is full or the disk is
// nearly full, accepting() says so and the relay answers MAIL with 452 4.3.1 instead of
// taking mail it could not account for.
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, stat, truncate, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { BufferedRecords, type Acceptance, type BufferOptions, type Lines } from './buffer.js';
import { TENANT_DIR, writeIndex } from './segments.js';
import { eraseFromSegments } from './subject.js';

export interface AccountingOptions extends BufferOptions {
  /**
   * A second writer beside a running relay (a CLI command): it only appends whole lines and
   * leaves repairing and sealing to the relay, which may be writing the same segments.
   */
  readonly secondary?: boolean;
}

export type { Acceptance };

const SEGMENT = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

/** Written by a running relay beside its accounting records: who writes them, and where its admin API answers. */
export interface RelayPresence {
  readonly pid: number;
  readonly adminApi: { readonly host: string; readonly port: number } | null;
}

export function presenceFile(dir: string): string {
  return join(dir, 'relay.json');
}

export async function announceRelay(dir: string, presence: RelayPresence): Promise<void> {
  await writeFile(presenceFile(dir), `${JSON.stringify(presence)}\n`, { mode: 0o600 });
}

export async function withdrawRelay(dir: string): Promise<void> {
  await unlink(presenceFile(dir)).catch(() => undefined);
}

/** The relay writing to this accounting directory, if one runs. */
export async function runningRelay(dir: string): Promise<RelayPresence | null> {
  let presence: RelayPresence;
  try {
    presence = JSON.parse(await readFile(presenceFile(dir), 'utf8')) as RelayPresence;
  } catch {
    return null;
  }
  try {
    process.kill(presence.pid, 0);
    return presence;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? presence : null;
  }
}

export function activeDir(dir: string): string {
  return join(dir, 'active');
}

export class AccountingLog extends BufferedRecords {
  readonly #o: AccountingOptions;
  readonly #handles = new Map<string, { handle: FileHandle; day: string; tenant: string }>();

  private constructor(options: AccountingOptions) {
    super(options);
    this.#o = options;
  }

  /** Opens the log: repairs torn tails, seals the segments of past days, starts the flush timer. */
  static async open(options: AccountingOptions): Promise<AccountingLog> {
    const log = new AccountingLog(options);
    await mkdir(activeDir(options.dir), { recursive: true });
    if (!options.secondary) await log.#repair();
    await log.checkDisk();
    log.startTimer('accounting records');
    return log;
  }

  /**
   * Erases a subject's records of one tenant, in turn with the writes: what is buffered is
   * written first, the tenant's open segment is closed while it is rewritten, and the next
   * write opens it again.
   */
  async eraseSubject(tenant: string, pseudonym: string): Promise<{ segments: number; removed: number }> {
    await this.flush();
    return this.serial(async () => {
      await this.#closeTenant(tenant);
      return eraseFromSegments(this.#o.dir, tenant, pseudonym);
    });
  }

  /** Writes what is buffered, then closes the tenant's open segments so they can be deleted (offboarding). */
  async releaseTenant(tenant: string): Promise<void> {
    await this.flush();
    await this.serial(async () => {
      this.dropBuffered(tenant);
      await this.#closeTenant(tenant);
    });
  }

  async #closeTenant(tenant: string): Promise<void> {
    for (const [key, open] of this.#handles) {
      if (open.tenant !== tenant) continue;
      this.#handles.delete(key);
      await open.handle.sync();
      await open.handle.close();
    }
  }

  /** the open segments stay open segments for the next start */
  protected async closeFiles(): Promise<void> {
    for (const { handle } of this.#handles.values()) {
      await handle.sync();
      await handle.close();
    }
    this.#handles.clear();
  }

  protected async write(batch: Lines[]): Promise<void> {
    const byFile = new Map<string, { tenant: string; day: string; lines: string[]; count: number }>();
    for (const r of batch) {
      const key = `${r.tenant}/${r.day}`;
      const entry = byFile.get(key) ?? { tenant: r.tenant, day: r.day, lines: [], count: 0 };
      entry.lines.push(r.line);
      entry.count += r.count;
      byFile.set(key, entry);
    }
    const files = [...byFile];
    let written = 0;
    for (let i = 0; i < files.length; i++) {
      const [key, { tenant, day, lines, count }] = files[i]!;
      try {
        const handle = await this.#handle(key, tenant, day);
        await handle.write(lines.join(''));
        written += count;
      } catch (err) {
        // this file's records and those of the files not yet written are kept for the next attempt
        this.requeue(
          files.slice(i).map(([, f]) => ({ tenant: f.tenant, day: f.day, line: f.lines.join(''), count: f.count })),
          written,
        );
        throw err;
      }
    }
    // then the days that are over (their last records were just written): synced and sealed
    const today = utcDay(this.#o.now());
    for (const [key, open] of this.#handles) {
      if (open.day >= today || this.#o.secondary) continue;
      this.#handles.delete(key);
      await open.handle.sync();
      await open.handle.close();
      await this.#seal(join(activeDir(this.#o.dir), open.tenant, `${open.day}.jsonl`));
    }
  }

  async #handle(key: string, tenant: string, day: string): Promise<FileHandle> {
    const existing = this.#handles.get(key);
    if (existing) return existing.handle;
    const dir = join(activeDir(this.#o.dir), tenant);
    await mkdir(dir, { recursive: true });
    const handle = await open(join(dir, `${day}.jsonl`), 'a', 0o600);
    this.#handles.set(key, { handle, day, tenant });
    return handle;
  }

  /** Cuts torn last lines; seals the open segments of days that are over. */
  async #repair(): Promise<void> {
    const root = activeDir(this.#o.dir);
    const today = utcDay(this.#o.now());
    for (const tenant of await readdir(root)) {
      if (!TENANT_DIR.test(tenant)) continue;
      for (const name of await readdir(join(root, tenant))) {
        const m = SEGMENT.exec(name);
        if (!m) continue;
        const file = join(root, tenant, name);
        const cut = await cutTornTail(file);
        if (cut > 0) this.#o.log.warn({ tenant, segment: name, bytes: cut }, 'accounting segment ended in a torn line (the process was killed while writing): cut off');
        if (m[1]! < today) await this.#seal(file);
      }
    }
  }

  /**
   * foo.jsonl → foo.jsonl.gz, synced, then the plain file removed. Records that arrived for
   * a day already sealed are added as a further gzip member (gzip readers read them all).
   */
  async #seal(file: string): Promise<void> {
    const tmp = `${file}.gz.tmp`;
    await pipeline(createReadStream(file), createGzip(), createWriteStream(tmp, { mode: 0o600 }));
    const sealed = `${file}.gz`;
    if (await exists(sealed)) {
      const out = await open(sealed, 'a');
      await out.write(await readFile(tmp));
      await out.sync();
      await out.close();
      await unlink(tmp);
    } else {
      const h = await open(tmp, 'r');
      await h.sync();
      await h.close();
      await rename(tmp, sealed);
    }
    await unlink(file);
    // what the segment holds, for queries to skip it; rebuilt over every member
    await writeIndex(sealed);
    this.#o.log.info({ segment: sealed }, 'accounting segment sealed');
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Truncates a file after its last newline; returns how many bytes were cut. */
export async function cutTornTail(file: string): Promise<number> {
  const { size } = await stat(file);
  if (size === 0) return 0;
  const h = await open(file, 'r');
  try {
    const window = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(window);
    await h.read(buf, 0, window, size - window);
    if (buf[window - 1] === 0x0a) return 0;
    const last = buf.lastIndexOf(0x0a);
    const keep = last < 0 ? (window === size ? 0 : size - window) : size - window + last + 1;
    await truncate(file, keep);
    return size - keep;
  } finally {
    await h.close();
  }
}
