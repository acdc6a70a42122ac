// The local journal of a replica whose accounting records live in PostgreSQL: records go
// here first (buffered, written and synced at least once every flushMs, as the segment
// writer does) and are shipped from here in batches, off the hot path (postgres/shipper.ts).
// A PostgreSQL outage costs no mail and no record: the journal grows, and drains when the
// database is back; MAIL is refused (452 4.3.1) only when the journal's disk is nearly full.
//
// Files: <dir>/j-<seq>.jsonl, append-only, whole lines. A new file is begun every rotateMs
// (or past maxFileBytes) and at every start; the shipper deletes a file once it is closed and
// shipped to its end, so the journal holds only what is on its way. The journal's id (in
// <dir>/journal.id, made once) names it in PostgreSQL, where each file's shipped offset is kept.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BufferedRecords, type BufferOptions, type Lines } from './buffer.js';
import { cutTornTail } from './writer.js';

const FILE = /^j-(\d{12})\.jsonl$/;

export interface JournalOptions extends BufferOptions {
  /** a file is closed and the next begun after this long */
  readonly rotateMs: number;
  /** or once it holds this much */
  readonly maxFileBytes: number;
}

export interface JournalFile {
  readonly name: string;
  /** bytes of whole lines in it: what may be shipped */
  readonly size: number;
  /** no more lines will be added */
  readonly closed: boolean;
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly name: string;
  size: number;
  readonly opened: number;
}

function fileName(seq: number): string {
  return `j-${String(seq).padStart(12, '0')}.jsonl`;
}

export class Journal extends BufferedRecords {
  readonly #o: JournalOptions;
  readonly id: string;
  #seq: number;
  #current: OpenFile | null = null;
  /** closed files not deleted yet, with their sizes */
  readonly #closed = new Map<string, number>();

  private constructor(options: JournalOptions, id: string, seq: number) {
    super(options);
    this.#o = options;
    this.id = id;
    this.#seq = seq;
  }

  /** Opens the journal: its id, the files left by the last run (torn tails cut), a new file. */
  static async open(options: JournalOptions): Promise<Journal> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const idFile = join(options.dir, 'journal.id');
    let id: string;
    try {
      id = (await readFile(idFile, 'utf8')).trim();
    } catch {
      id = randomUUID();
      await writeFile(idFile, `${id}\n`, { mode: 0o600 });
    }
    const left = (await readdir(options.dir)).filter((n) => FILE.test(n)).sort();
    const seq = left.length ? Number(FILE.exec(left.at(-1)!)![1]) + 1 : 1;
    const journal = new Journal(options, id, seq);
    for (const name of left) {
      const cut = await cutTornTail(join(options.dir, name));
      if (cut > 0) options.log.warn({ file: name, bytes: cut }, 'accounting journal ended in a torn line (the process was killed while writing): cut off');
      journal.#closed.set(name, (await stat(join(options.dir, name))).size);
    }
    await journal.checkDisk();
    journal.startTimer('accounting records');
    return journal;
  }

  /** The files in order, oldest first: closed ones, then the one being written. */
  files(): JournalFile[] {
    const out: JournalFile[] = [...this.#closed].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, size]) => ({ name, size, closed: true }));
    if (this.#current) out.push({ name: this.#current.name, size: this.#current.size, closed: false });
    return out;
  }

  /** bytes in the journal's files */
  get bytes(): number {
    let n = this.#current?.size ?? 0;
    for (const size of this.#closed.values()) n += size;
    return n;
  }

  /** A closed file shipped to its end: deleted. */
  async remove(name: string): Promise<void> {
    if (!this.#closed.has(name)) return;
    await unlink(join(this.#o.dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.#closed.delete(name);
  }

  /** Writes what is buffered and closes the current file, so that all of it can be shipped and deleted. */
  async rotate(): Promise<void> {
    await this.flush();
    await this.serial(() => this.#closeCurrent());
  }

  protected async write(batch: Lines[]): Promise<void> {
    if (batch.length > 0) {
      const text = batch.map((l) => l.line).join('');
      try {
        const current = await this.#file();
        await current.handle.write(text);
        await current.handle.datasync();
        current.size += Buffer.byteLength(text);
      } catch (err) {
        this.requeue(batch, 0);
        throw err;
      }
    }
    const current = this.#current;
    if (current && (this.#o.now() - current.opened >= this.#o.rotateMs || current.size >= this.#o.maxFileBytes)) await this.#closeCurrent();
  }

  protected async closeFiles(): Promise<void> {
    await this.#closeCurrent();
  }

  async #file(): Promise<OpenFile> {
    if (this.#current) return this.#current;
    const name = fileName(this.#seq++);
    const handle = await open(join(this.#o.dir, name), 'a', 0o600);
    this.#current = { handle, name, size: 0, opened: this.#o.now() };
    return this.#current;
  }

  async #closeCurrent(): Promise<void> {
    const current = this.#current;
    if (!current) return;
    this.#current = null;
    await current.handle.sync();
    await current.handle.close();
    this.#closed.set(current.name, current.size);
  }
}
