// Waits between delivery attempts that shutdown can cut short: a retry's wait never holds a
// stopping process. Shared by the notifier and the DSN sender.
export class Waits {
  readonly #timers = new Map<NodeJS.Timeout, () => void>();

  /** Resolves after `ms`, or at once when endAll() is called first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.set(timer, resolve);
    });
  }

  /** Ends every wait now. */
  endAll(): void {
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer);
      resolve();
    }
    this.#timers.clear();
  }
}
