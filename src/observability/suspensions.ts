// The active-suspension gauges, refreshed from the store: every `intervalMs`, and at once
// after this process suspended or lifted. Reading every tenant's suspensions may take many
// store round trips, so it never runs inside a scrape; a scrape shows the last refresh.
import type { Logger } from 'pino';
import type { Suspension } from '../domain/policy.js';
import { withDeadline } from '../policy/pipeline.js';

export interface SuspensionGaugeDeps {
  readonly list: () => Promise<readonly Suspension[]>;
  readonly set: (active: readonly Suspension[]) => void;
  readonly deadlineMs: number;
  readonly log: Logger;
}

export class SuspensionGauge {
  readonly #deps: SuspensionGaugeDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(deps: SuspensionGaugeDeps) {
    this.#deps = deps;
  }

  start(intervalMs: number): void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  /** one refresh at a time; a request during one runs once more after it */
  refresh(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          this.#deps.set(await withDeadline(this.#deps.list(), this.#deps.deadlineMs));
        } catch (err) {
          // the last figures stay; store health has its own metrics
          this.#deps.log.warn({ err: (err as Error).message }, 'active suspensions not refreshed');
        }
      } while (this.#again);
      this.#running = null;
    })();
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
