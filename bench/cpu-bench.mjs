// The relay's own CPU time per message: user + system time of the relay process (from
// /proc/<pid>/stat) over smtp-source runs, 1 KB messages with 5 recipients, 20 sessions.
// On a small, shared machine this is far steadier than throughput, which also depends on
// how smtp-source and smtp-sink are scheduled. Lower is better.
// Usage: node bench/cpu-bench.mjs [--rounds=N] [--messages=N] [--metrics=off] [--profile=DIR]
//   --profile writes a V8 CPU profile of the relay (open it in Chrome DevTools).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cpuSeconds, median, requirePostfixTools, smtpSource, startBenchRelay, startSink } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const ROUNDS = Number(arg('rounds', 5));
const MSGS = Number(arg('messages', 4000));
const profile = arg('profile', null);
const metrics = arg('metrics', 'on') !== 'off';
requirePostfixTools();

async function main() {
  console.log(`relay CPU per message — ${new Date().toISOString()} — node ${process.version}`);
  const sink = await startSink();
  const relay = await startBenchRelay(root, mkdtempSync(join(tmpdir(), 'mw-cpu-')), sink.port, {
    yamlExtra: `metrics: { enabled: ${metrics}, port: 0 }`,
    nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profile)}`] : [],
  });
  const perMessage = [];
  try {
    await smtpSource(relay.port, 20, 500);
    for (let r = 0; r < ROUNDS; r++) {
      const before = cpuSeconds(relay.pid);
      const rate = await smtpSource(relay.port, 20, MSGS);
      const us = ((cpuSeconds(relay.pid) - before) / MSGS) * 1e6;
      perMessage.push(us);
      console.log(`  round ${r + 1}: ${us.toFixed(0)} µs CPU per message (${rate.toFixed(0)} msg/s)`);
    }
  } finally {
    await relay.stop();
    sink.stop();
  }
  console.log(`relay CPU per message, 1 KB, 5 recipients, 20 sessions, metrics ${metrics ? 'on' : 'off'}: ${median(perMessage).toFixed(0)} µs (median of ${ROUNDS} rounds of ${MSGS})`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
