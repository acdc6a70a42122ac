// A worker's side of the IPC channel to its primary: accounting records go to the primary's
// one writer (one writer per accounting directory, as with one process), its metrics answer
// the primary's /metrics, and the primary's accounting state gates MAIL as it would in one
// process. Records wait here at most one flush interval, as they would in the writer.
import type { Config } from '../config/schema.js';
import type { Registry } from 'prom-client';
import type { AccountingRecord } from '../accounting/records.js';
import type { AccountingSink } from '../accounting/accountant.js';
import type { Acceptance } from '../accounting/writer.js';
import { isMessage, type AccountingLines, type PrimaryMessage, type WorkerMessage } from './messages.js';

/**
 * The worker's channel to its primary: `cluster.worker`. (Not `process`: a worker whose
 * process channel closes without cluster knowing is made to exit at once, before it drains.)
 * A worker whose primary dies is ended by node:cluster itself.
 */
export interface PrimaryChannel {
  send(message: WorkerMessage, callback?: (err: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  disconnect(): void;
  isConnected(): boolean;
}

export interface WorkerLinkOptions {
  readonly channel: PrimaryChannel;
  readonly registry: Registry;
  readonly flushMs: number;
  /** records waiting here before MAIL is refused, as the writer's own buffer */
  readonly maxBufferedRecords: number;
  /** the primary asked for a fresh tenant list */
  readonly onTenantsChanged: () => void;
  /** the primary read the configuration again */
  readonly onReload: (config: Config) => void;
}

export class WorkerLink implements AccountingSink {
  readonly #o: WorkerLinkOptions;
  #batch = new Map<string, { tenant: string; day: string; lines: string[]; count: number }>();
  #buffered = 0;
  #primary: Acceptance = 'ok';
  readonly #timer: NodeJS.Timeout;

  constructor(o: WorkerLinkOptions) {
    this.#o = o;
    o.channel.on('message', (m) => {
      if (!isMessage<PrimaryMessage>(m)) return;
      if (m.t === 'mw:accepting') this.#primary = m.state;
      else if (m.t === 'mw:tenants') o.onTenantsChanged();
      else if (m.t === 'mw:reload') o.onReload(m.config);
      else if (m.t === 'mw:metrics?') {
        void o.registry.getMetricsAsJSON().then((metrics) => this.#send({ t: 'mw:metrics', id: m.id, metrics }));
      }
    });
    this.#timer = setInterval(() => this.flush(), o.flushMs);
    this.#timer.unref();
  }

  ready(smtp: WorkerMessage & { t: 'mw:ready' }): void {
    this.#send(smtp);
  }

  add(record: AccountingRecord): void {
    this.addLines(record.tenant, record.time.slice(0, 10), `${JSON.stringify(record)}\n`, 1);
  }

  addLines(tenant: string, day: string, lines: string, count: number): void {
    const key = `${tenant}\n${day}`;
    let entry = this.#batch.get(key);
    if (!entry) this.#batch.set(key, (entry = { tenant, day, lines: [], count: 0 }));
    entry.lines.push(lines);
    entry.count += count;
    this.#buffered += count;
  }

  /** what the primary's writer said last, or this worker's own buffer when it is full */
  accepting(): Acceptance {
    return this.#buffered >= this.#o.maxBufferedRecords ? 'buffer-full' : this.#primary;
  }

  /** Hands what is buffered to the primary; resolves once it is on the channel. */
  flush(): Promise<void> {
    if (this.#batch.size === 0) return Promise.resolve();
    const batch: AccountingLines[] = [...this.#batch.values()].map((e) => ({ tenant: e.tenant, day: e.day, lines: e.lines.join(''), count: e.count }));
    this.#batch = new Map();
    this.#buffered = 0;
    return this.#send({ t: 'mw:accounting', batch });
  }

  /** Flushes, then closes the channel: the primary sees the records before the worker's exit. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    if (this.#o.channel.isConnected()) this.#o.channel.disconnect();
  }

  #send(message: WorkerMessage): Promise<void> {
    if (!this.#o.channel.isConnected()) return Promise.resolve();
    return new Promise((resolve) => this.#o.channel.send(message, () => resolve()));
  }
}
