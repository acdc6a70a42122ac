// Metrics on the hot path at the cost of an addition. prom-client hashes and validates the
// label set on every inc() and observe(), bound children included; with about ten of them
// per message that was most of what metrics cost the relay. Here a child is bound once and
// counts into plain numbers; prom-client still renders every scrape.
//   - CounterTallies: children of a prom-client Counter whose counts are handed over in the
//     counter's collect(), which prom-client calls before each scrape.
//   - FastHistogram: a histogram served through the registry (its get() returns what
//     prom-client's own histogram returns), observed without any label work.
import type { Counter, Metric, Registry } from 'prom-client';

/** what a metric's get() gives the registry to render (prom-client's MetricObjectWithValues) */
interface Rendered {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }>;
}

export interface Tally {
  inc(n?: number): void;
}

export class CounterTallies<L extends string> {
  readonly #tallies: Array<{ readonly labels: Partial<Record<L, string>>; n: number; shown: boolean }> = [];

  /** hands the counts to the counter; call from its collect() */
  flushInto(counter: Counter<L>): void {
    for (const t of this.#tallies) {
      if (t.n === 0 && t.shown) continue;
      // a child's series is rendered from the first scrape on, at 0 if nothing was counted
      counter.inc(t.labels, t.n);
      t.n = 0;
      t.shown = true;
    }
  }

  /** a child counting into this label set */
  child(labels: Partial<Record<L, string>>): Tally {
    const tally = { labels, n: 0, shown: false };
    this.#tallies.push(tally);
    return {
      inc: (n = 1) => {
        tally.n += n;
      },
    };
  }
}

export interface Observer {
  observe(value: number): void;
}

interface Child {
  readonly labels: Record<string, string>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #buckets: readonly number[];
  readonly #children = new Map<string, Child>();

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.#buckets = [...buckets].sort((a, b) => a - b);
    registry.registerMetric(this as unknown as Metric);
  }

  /** the child for this label set, created (with every bucket at 0) on first use */
  child(labels: Record<string, string> = {}): Observer {
    const key = JSON.stringify(labels);
    let child = this.#children.get(key);
    if (!child) this.#children.set(key, (child = { labels, counts: new Float64Array(this.#buckets.length), sum: 0, count: 0 }));
    const c = child;
    const buckets = this.#buckets;
    return {
      observe: (value) => {
        let i = 0;
        while (i < buckets.length && value > buckets[i]!) i++;
        if (i < buckets.length) c.counts[i]!++;
        c.sum += value;
        c.count++;
      },
    };
  }

  async get(): Promise<Rendered> {
    const values: Rendered['values'] = [];
    for (const c of this.#children.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#buckets.length; i++) {
        cumulative += c.counts[i]!;
        values.push({ labels: { ...c.labels, le: this.#buckets[i]! }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const c of this.#children.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}
