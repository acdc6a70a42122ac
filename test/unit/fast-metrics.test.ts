// The hot-path metrics render exactly what prom-client's own would for the same
// observations: a histogram's buckets, sum and count; a counter's tallies once collected.
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterTallies, FastHistogram } from '../../src/observability/fast.js';

/** every sample as "name{sorted labels}" → value, so that label order does not matter */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => `${x[1]}=${x[2]}`).sort().join(',');
    out.set(`${m[1]}{${labels}}`, Number(m[3]));
  }
  return out;
}

describe('hot-path metrics', () => {
  it('a FastHistogram renders what a prom-client Histogram renders for the same observations', async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const reference = new Registry();
    const slow = new Histogram({ name: 't_seconds', help: 'h', labelNames: ['phase'], buckets, registers: [reference] });
    const fast = new Registry();
    const quick = new FastHistogram('t_seconds', 'h', buckets, fast);
    const values = [0, 0.001, 0.0010001, 0.005, 0.01, 0.5, 1, 1.5, 300];
    for (const phase of ['a', 'b']) {
      slow.zero({ phase });
      const child = quick.child({ phase });
      for (const v of phase === 'a' ? values : values.slice(3)) {
        slow.observe({ phase }, v);
        child.observe(v);
      }
    }
    const want = samples(await reference.metrics());
    expect(want.size).toBe(2 * (buckets.length + 3));
    expect(samples(await fast.metrics())).toEqual(want);
    expect(await fast.metrics()).toContain('# TYPE t_seconds histogram');
  });

  it('CounterTallies hand their counts to the counter at each scrape, and show a child at 0 before it counts', async () => {
    const registry = new Registry();
    const tallies = new CounterTallies<'outcome'>();
    const counter: Counter<'outcome'> = new Counter({ name: 'c_total', help: 'h', labelNames: ['outcome'], registers: [registry], collect: (): void => tallies.flushInto(counter) });
    const ok = tallies.child({ outcome: 'ok' });
    const failed = tallies.child({ outcome: 'failed' });
    ok.inc();
    ok.inc(4);
    let s = samples(await registry.metrics());
    expect([s.get('c_total{outcome=ok}'), s.get('c_total{outcome=failed}')]).toEqual([5, 0]);
    ok.inc();
    failed.inc(2);
    s = samples(await registry.metrics());
    expect([s.get('c_total{outcome=ok}'), s.get('c_total{outcome=failed}')]).toEqual([6, 2]);
  });
});
