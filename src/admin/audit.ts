// The append-only audit log: one JSON line per action taken or refused through the admin
// API or the CLI: who (actor and role), on which tenant, what, the reason they gave, the
// outcome, when, and the request id. No addresses: suppression changes are logged by count.
import { appendFile, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SharedAuditTrail } from '../store/ports.js';

export interface AuditEntry {
  readonly actor: string;
  readonly role: string;
  readonly tenant?: string;
  /** e.g. suspension.create, suspension.lift, suppression.add, feedback.ingest, tenant.read */
  readonly action: string;
  readonly outcome: 'ok' | 'denied' | 'invalid' | 'not-found' | 'error';
  readonly reason?: string;
  readonly requestId: string;
  readonly via: 'http' | 'cli';
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

type Filter = { tenant?: string; actor?: string; action?: string };
type Page = { entries: Array<AuditEntry & { time: string; seq: number }>; next: number | null };

export class AuditLog {
  readonly #file: string;
  readonly #shared: SharedAuditTrail | null;
  readonly #sharedOk: () => boolean;
  readonly #sharedFailed: (err: Error) => void;
  #chain: Promise<void> = Promise.resolve();
  #dirReady: Promise<unknown> | null = null;

  /**
   * `shared`: the trail replicas share (the shared store's), written beside the file and read
   * instead of it, while `sharedOk` says the store is the one this relay knows (nothing is
   * written into a lost one); a line it could not take is in the file still, and `sharedFailed`
   * hears of it.
   */
  constructor(file: string, shared: SharedAuditTrail | null = null, options: { sharedOk?: () => boolean; sharedFailed?: (err: Error) => void } = {}) {
    this.#file = file;
    this.#shared = shared;
    this.#sharedOk = options.sharedOk ?? (() => true);
    this.#sharedFailed = options.sharedFailed ?? (() => undefined);
  }

  /** Appends one entry (O_APPEND, in order), and to the shared trail; resolves once it is written. */
  record(entry: AuditEntry, now: number = Date.now()): Promise<void> {
    const json = JSON.stringify({ time: new Date(now).toISOString(), ...entry });
    this.#dirReady ??= mkdir(dirname(this.#file), { recursive: true });
    const next = this.#chain.then(async () => {
      await this.#dirReady;
      await appendFile(this.#file, `${json}\n`, { flag: 'a', mode: 0o600 });
    });
    this.#chain = next.catch(() => undefined);
    const shared = this.#shared;
    return shared && this.#sharedOk() ? next.then(() => shared.append(json).catch((err: Error) => this.#sharedFailed(err))) : next;
  }

  /** The entries that match, newest first, a page at a time: the shared trail's where there is one, else the file's. */
  async read(filter: Filter, page: { limit: number; before?: number }): Promise<Page> {
    if (!this.#shared) return this.#readFile(filter, page);
    await this.#chain;
    const found = await this.#shared.read((line) => matches(parse(line), filter), page);
    return { entries: found.lines.map((l) => ({ ...parse(l.line)!, seq: l.seq })), next: found.next };
  }

  /**
   * The file's entries that match, newest first, `limit` at a time: each with the byte offset of
   * its line (`seq`), and `next`, the offset to give as `before` for the page after, or null
   * on the last page. The file is read backwards from its end (or from `before`), a chunk at
   * a time, until the page is full: a page costs what it shows, not the whole file.
   */
  async #readFile(filter: Filter, page: { limit: number; before?: number }): Promise<Page> {
    await this.#chain;
    let file: FileHandle;
    try {
      file = await open(this.#file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], next: null };
      throw err;
    }
    const kept: Array<AuditEntry & { time: string; seq: number }> = [];
    try {
      const size = (await file.stat()).size;
      let pos = page.before !== undefined ? Math.min(page.before, size) : size;
      // the start of a line that began before the chunk read last, and its bytes so far
      let partial = Buffer.alloc(0);
      while (pos > 0 && kept.length <= page.limit) {
        const start = Math.max(0, pos - READ_CHUNK);
        const chunk = Buffer.alloc(pos - start);
        await file.read(chunk, 0, chunk.length, start);
        const data = Buffer.concat([chunk, partial]);
        // whole lines only: what precedes the chunk's first newline belongs to a line that starts earlier
        const first = start === 0 ? 0 : data.indexOf(0x0a) + 1;
        if (start > 0 && first === 0) {
          partial = data;
          pos = start;
          continue;
        }
        const lines: Array<{ at: number; text: string }> = [];
        let at = first;
        for (let nl = data.indexOf(0x0a, at); nl !== -1; nl = data.indexOf(0x0a, at)) {
          lines.push({ at: start + at, text: data.subarray(at, nl).toString('utf8') });
          at = nl + 1;
        }
        for (const line of lines.reverse()) {
          const entry = parse(line.text);
          if (!matches(entry, filter)) continue;
          kept.push({ ...entry!, seq: line.at });
          if (kept.length > page.limit) break;
        }
        partial = data.subarray(0, first);
        pos = start;
      }
    } finally {
      await file.close();
    }
    const more = kept.length > page.limit;
    const entries = kept.slice(0, page.limit);
    return { entries, next: more ? entries.at(-1)!.seq : null };
  }
}

/** how much of the file one read takes, going backwards */
const READ_CHUNK = 64 * 1024;

function matches(entry: (AuditEntry & { time: string }) | null, filter: Filter): boolean {
  return entry !== null && (filter.tenant === undefined || entry.tenant === filter.tenant) && (filter.actor === undefined || entry.actor === filter.actor) && (filter.action === undefined || entry.action === filter.action);
}

function parse(text: string): (AuditEntry & { time: string }) | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as AuditEntry & { time: string };
  } catch {
    return null;
  }
}
