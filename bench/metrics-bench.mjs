// What metrics cost, in one run:
//   1. relay throughput (smtp-source → mailwarden → smtp-sink, 1 KB, 20 sessions, 5
//      recipients per message) with metrics on, against the same relay with metrics.enabled
//      false (no meter on the hot path, no process metrics); target: less than 3% lower;
//   2. the time to render a scrape with 1,000 tenants' series (and the process metrics);
//      target: under 50 ms.
// Usage: node bench/metrics-bench.mjs [--quick]   (npm run bench runs it too)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cpuSeconds, median, requirePostfixTools, smtpSource, startBenchRelay, startSink } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 5;
const MSGS = quick ? 1000 : 3000;
requirePostfixTools();

async function throughput() {
  const sink = await startSink();
  const on = await startBenchRelay(root, mkdtempSync(join(tmpdir(), 'mw-metrics-on-')), sink.port, { yamlExtra: 'metrics: { enabled: true, port: 0 }' });
  const off = await startBenchRelay(root, mkdtempSync(join(tmpdir(), 'mw-metrics-off-')), sink.port, { yamlExtra: 'metrics: { enabled: false, port: 0 }' });
  const ratios = [];
  const cpuRatios = [];
  try {
    await smtpSource(on.port, 20, 200);
    await smtpSource(off.port, 20, 200);
    // the relays' own CPU time per message too: steadier than throughput on a small machine
    const measure = async (relay) => {
      const cpu = cpuSeconds(relay.pid);
      const rate = await smtpSource(relay.port, 20, MSGS);
      return { rate, us: ((cpuSeconds(relay.pid) - cpu) / MSGS) * 1e6 };
    };
    for (let r = 0; r < ROUNDS; r++) {
      // the two take turns going first
      let a, b;
      if (r % 2 === 0) {
        a = await measure(off);
        b = await measure(on);
      } else {
        b = await measure(on);
        a = await measure(off);
      }
      ratios.push(b.rate / a.rate);
      cpuRatios.push(b.us / a.us);
      console.log(`  round ${r + 1}: metrics off ${a.rate.toFixed(0)} msg/s, ${a.us.toFixed(0)} µs CPU/msg; on ${b.rate.toFixed(0)} msg/s, ${b.us.toFixed(0)} µs CPU/msg`);
    }
  } finally {
    await on.stop();
    await off.stop();
    sink.stop();
  }
  const ratio = median(ratios);
  console.log(`relay, 1 KB, 20 sessions, 5 recipients/message: metrics on = ${(ratio * 100).toFixed(1)}% of metrics off, median of ${ROUNDS} paired rounds (target: cost under 3%)`);
  console.log(`relay CPU per message: metrics on = ${(median(cpuRatios) * 100).toFixed(1)}% of metrics off (median of the same rounds)`);
}

async function scrape() {
  const { Metrics } = await import(join(root, 'dist/observability/metrics.js'));
  const m = new Metrics({ defaultMetrics: true });
  const events = m.frontEvents();
  const timings = m.upstreamTimings();
  // every tenant with all its series (messages, deliveries, complaints, hard bounces) and a suspension
  m.knowTenants(Array.from({ length: 1000 }, (_, i) => `tenant-${i}`));
  for (let i = 0; i < 1000; i++) {
    events.tenantMessage(`tenant-${i}`, 5);
    events.tenantMessage(`tenant-${i}`, 0);
    events.transaction('relayed', 1024, 0.01);
    timings.transaction(0.005);
  }
  m.setSuspensions(Array.from({ length: 1000 }, (_, i) => ({ tenant: `tenant-${i}`, scope: 'domain', source: 'manual' })));
  for (let i = 0; i < 5; i++) await m.registry.metrics();
  const times = [];
  let bytes = 0;
  for (let i = 0; i < 20; i++) {
    const t = process.hrtime.bigint();
    bytes = (await m.registry.metrics()).length;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  console.log(`scrape with 1,000 tenants' series: ${median(times).toFixed(1)} ms (median of 20; ${(bytes / 1024).toFixed(0)} KiB of text; target < 50 ms)`);
}

async function main() {
  console.log(`metrics benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  await scrape();
  await throughput();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
