// The append-only audit log: one JSON line per action taken or refused through the admin
// API or the CLI: who (actor and role), on which tenant, what, the reason they gave, the
// outcome, when, and the request id. No addresses: suppression changes are logged by count.
import { appendFile, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

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

export class AuditLog {
  readonly #file: string;
  #chain: Promise<void> = Promise.resolve();
  #dirReady: Promise<unknown> | null = null;

  constructor(file: string) {
    this.#file = file;
  }

  /** Appends one entry (O_APPEND, in order); resolves once it is written. */
  record(entry: AuditEntry, now: number = Date.now()): Promise<void> {
    const line = `${JSON.stringify({ time: new Date(now).toISOString(), ...entry })}\n`;
    this.#dirReady ??= mkdir(dirname(this.#file), { recursive: true });
    const next = this.#chain.then(async () => {
      await this.#dirReady;
      await appendFile(this.#file, line, { flag: 'a', mode: 0o600 });
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /**
   * The entries that match, newest first, `limit` at a time: each with the byte offset of
   * its line (`seq`), and `next`, the offset to give as `before` for the page after, or null
   * on the last page. The file is read backwards from its end (or from `before`), a chunk at
   * a time, until the page is full: a page costs what it shows, not the whole file.
   */
  async read(filter: { tenant?: string; actor?: string; action?: string }, page: { limit: number; before?: number }): Promise<{ entries: Array<AuditEntry & { time: string; seq: number }>; next: number | null }> {
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
          if (!entry || (filter.tenant !== undefined && entry.tenant !== filter.tenant) || (filter.actor !== undefined && entry.actor !== filter.actor) || (filter.action !== undefined && entry.action !== filter.action)) continue;
          kept.push({ ...entry, seq: line.at });
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

function parse(text: string): (AuditEntry & { time: string }) | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as AuditEntry & { time: string };
  } catch {
    return null;
  }
}
