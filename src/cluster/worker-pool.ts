// The primary's side of `smtp.workers`: it forks the workers that take SMTP and feedback
// connections on the shared listening sockets, writes their accounting records with its own
// writer, tells them when accounting cannot take more, sums their metrics with its own, and
// replaces a worker that dies (counted). Stopping drains every worker as one process drains.
import type { Cluster, Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { AccountingSink } from '../accounting/accountant.js';
import type { Acceptance } from '../accounting/writer.js';
import { isMessage, type MetricsJson, type PrimaryMessage, type WorkerMessage } from './messages.js';

export interface WorkerPoolOptions {
  /** node:cluster, in the primary */
  readonly cluster: Cluster;
  readonly size: number;
  readonly log: Logger;
  /** where the workers' accounting records go: the primary's writer */
  readonly accounting: AccountingSink & { accepting(): Acceptance };
  /** told each time a worker that was not asked to stop is replaced */
  readonly onReplaced: (code: number | null, signal: string | null) => void;
  /** told how many workers are ready, at each change */
  readonly onWorkers: (ready: number) => void;
  /** how long a worker may take to drain when stopped before it is killed */
  readonly stopDeadlineMs: number;
  /** how often the accounting state is looked at and passed on when it changed */
  readonly acceptancePollMs?: number;
}

export interface PoolAddresses {
  readonly smtp: AddressInfo;
  readonly feedback: AddressInfo | null;
}

/** a worker that dies sooner than this after its start is restarted after a growing delay */
const STEADY_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #ready = new Map<number, PoolAddresses>();
  readonly #startedAt = new Map<number, number>();
  readonly #metricRequests = new Map<number, { pending: Set<number>; responses: MetricsJson[]; done: () => void }>();
  #nextRequest = 0;
  #stopping = false;
  #quickDeaths = 0;
  #acceptance: Acceptance = 'ok';
  #poll: NodeJS.Timeout | undefined;
  readonly #restarts = new Set<NodeJS.Timeout>();
  /** told at each worker that becomes ready; start() watches for the last of the first ones */
  #onReady: () => void = () => {};

  constructor(o: WorkerPoolOptions) {
    this.#o = o;
  }

  /**
   * Forks the workers and resolves once each listens, with where they listen. Rejects when a
   * worker exits before it is ready (a port in use, a store that does not answer): its own
   * error is on its stderr; the others are stopped.
   */
  async start(): Promise<PoolAddresses> {
    const { cluster } = this.#o;
    cluster.on('message', (worker, message) => this.#message(worker, message));
    const first = new Promise<PoolAddresses>((resolve, reject) => {
      const onExit = (worker: Worker, code: number | null, signal: string | null) => {
        if (this.#ready.size >= this.#o.size || this.#stopping) return;
        cluster.off('exit', onExit);
        reject(new Error(`worker ${worker.id} (pid ${worker.process.pid}) exited before it was ready (${signal ?? `code ${code}`})`));
      };
      cluster.on('exit', onExit);
      const onReady = () => {
        if (this.#ready.size < this.#o.size) return;
        cluster.off('exit', onExit);
        resolve([...this.#ready.values()][0]!);
      };
      this.#onReady = onReady;
    });
    for (let i = 0; i < this.#o.size; i++) this.#fork();
    try {
      const addresses = await first;
      cluster.on('exit', (worker, code, signal) => this.#exited(worker, code, signal));
      this.#poll = setInterval(() => this.#passAcceptance(), this.#o.acceptancePollMs ?? 250);
      this.#poll.unref();
      return addresses;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  get size(): number {
    return this.#ready.size;
  }

  /** every worker's metrics, as JSON, for the primary to sum with its own; a worker that does not answer within `timeoutMs` is left out */
  gather(timeoutMs = 2000): Promise<MetricsJson[]> {
    const id = this.#nextRequest++;
    const workers = Object.values(this.#o.cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected() && this.#ready.has(w.id));
    return new Promise((resolve) => {
      const request = { pending: new Set(workers.map((w) => w.id)), responses: [] as MetricsJson[], done: () => {} };
      const timer = setTimeout(() => request.done(), timeoutMs);
      request.done = () => {
        clearTimeout(timer);
        this.#metricRequests.delete(id);
        resolve(request.responses);
      };
      this.#metricRequests.set(id, request);
      if (workers.length === 0) return request.done();
      for (const w of workers) this.#tell(w, { t: 'mw:metrics?', id });
    });
  }

  /** `primary` summed with every worker's metrics, in the Prometheus text format */
  async metrics(primary: Registry): Promise<string> {
    const [own, workers] = await Promise.all([primary.getMetricsAsJSON(), this.gather()]);
    return AggregatorRegistry.aggregate([own, ...workers]).metrics();
  }

  /** tells every worker */
  broadcast(message: PrimaryMessage): void {
    for (const w of Object.values(this.#o.cluster.workers ?? {})) if (w?.isConnected()) this.#tell(w, message);
  }

  /** SIGTERM to every worker: each drains as one process does; killed after stopDeadlineMs */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#poll);
    for (const t of this.#restarts) clearTimeout(t);
    const workers = Object.values(this.#o.cluster.workers ?? {}).filter((w): w is Worker => !!w);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.process.exitCode !== null || w.process.signalCode !== null) return resolve();
            const kill = setTimeout(() => {
              this.#o.log.error({ worker: w.id, pid: w.process.pid }, 'worker did not stop in time: killed');
              w.process.kill('SIGKILL');
            }, this.#o.stopDeadlineMs);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
    this.#ready.clear();
  }

  #fork(): void {
    const worker = this.#o.cluster.fork();
    this.#startedAt.set(worker.id, Date.now());
  }

  #tell(worker: Worker, message: PrimaryMessage): void {
    try {
      worker.send(message);
    } catch {
      // the worker is going away; its exit is handled there
    }
  }

  #message(worker: Worker, message: unknown): void {
    if (!isMessage<WorkerMessage>(message)) return;
    switch (message.t) {
      case 'mw:accounting':
        for (const b of message.batch) this.#o.accounting.addLines(b.tenant, b.day, b.lines, b.count);
        break;
      case 'mw:ready':
        this.#ready.set(worker.id, { smtp: message.smtp, feedback: message.feedback });
        this.#tell(worker, { t: 'mw:accepting', state: this.#acceptance });
        this.#o.onWorkers(this.#ready.size);
        this.#onReady();
        break;
      case 'mw:metrics': {
        const request = this.#metricRequests.get(message.id);
        if (!request?.pending.delete(worker.id)) break;
        request.responses.push(message.metrics);
        if (request.pending.size === 0) request.done();
        break;
      }
    }
  }

  #exited(worker: Worker, code: number | null, signal: string | null): void {
    const started = this.#startedAt.get(worker.id) ?? 0;
    this.#startedAt.delete(worker.id);
    this.#ready.delete(worker.id);
    this.#o.onWorkers(this.#ready.size);
    for (const request of this.#metricRequests.values()) if (request.pending.delete(worker.id) && request.pending.size === 0) request.done();
    if (this.#stopping) return;
    this.#quickDeaths = Date.now() - started < STEADY_MS ? this.#quickDeaths + 1 : 0;
    const delay = this.#quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (this.#quickDeaths - 1));
    this.#o.log.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died: starting another');
    this.#o.onReplaced(code, signal);
    const timer = setTimeout(() => {
      this.#restarts.delete(timer);
      if (!this.#stopping) this.#fork();
    }, delay);
    this.#restarts.add(timer);
  }

  #passAcceptance(): void {
    const state = this.#o.accounting.accepting();
    if (state === this.#acceptance) return;
    this.#acceptance = state;
    this.broadcast({ t: 'mw:accepting', state });
  }
}
