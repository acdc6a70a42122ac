// The append-only audit log: one JSON line per action taken or refused through the admin
// API or the CLI: who (actor and role), on which tenant, what, the reason they gave, the
// outcome, when, and the request id. No addresses: suppression changes are logged by count.
import { appendFile, mkdir } from 'node:fs/promises';
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
}
