// The append-only audit log: one JSON line per action taken or refused through the admin
// API or the CLI: who (actor and role), on which tenant, what, the reason they gave, the
// outcome, when, and the request id. No addresses: suppression changes are logged by count.
import { createReadStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

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
   * The entries that match, newest first, `limit` at a time: each with its line number
   * (`seq`), and `next`, the line number to give as `before` for the page after, or null on
   * the last page. The file is read from its start, as it holds no index.
   */
  async read(filter: { tenant?: string; actor?: string; action?: string }, page: { limit: number; before?: number }): Promise<{ entries: Array<AuditEntry & { time: string; seq: number }>; next: number | null }> {
    await this.#chain;
    const kept: Array<AuditEntry & { time: string; seq: number }> = [];
    let dropped = false;
    let seq = -1;
    const lines = createInterface({ input: createReadStream(this.#file), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        seq++;
        if (page.before !== undefined && seq >= page.before) break;
        if (!line) continue;
        let entry: AuditEntry & { time: string };
        try {
          entry = JSON.parse(line) as AuditEntry & { time: string };
        } catch {
          continue;
        }
        if ((filter.tenant !== undefined && entry.tenant !== filter.tenant) || (filter.actor !== undefined && entry.actor !== filter.actor) || (filter.action !== undefined && entry.action !== filter.action)) continue;
        kept.push({ ...entry, seq });
        if (kept.length > page.limit) {
          kept.shift();
          dropped = true;
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    } finally {
      lines.close();
    }
    kept.reverse();
    return { entries: kept, next: dropped ? kept.at(-1)!.seq : null };
  }
}
