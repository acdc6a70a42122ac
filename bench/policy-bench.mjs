// What the policy costs, in one run:
//   1. a 1M-line suppression CSV imported with `mailwarden suppression import` (time);
//   2. relay throughput (smtp-source → mailwarden → smtp-sink, 1 KB, 20 sessions, 5 recipients
//      per message) with those 1M entries loaded and rate limits active, against the same
//      relay with policy off (a store that answers every question with "ok");
//   3. the cost of one suppression lookup (RCPT question) at 1k and at 10M entries, on the
//      embedded store and, when redis-server is installed, on Redis; beside them the same
//      questions put to an in-memory hash set of the same sizes, which shows how much of any
//      growth is the machine's memory hierarchy (caches, TLB) rather than the data structure.
// Usage: node bench/policy-bench.mjs [--quick] [--only=lookup]   (npm run bench runs it after relay-bench)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, createWriteStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, median, requirePostfixTools, SMTP_SINK, smtpSource, waitPort } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const lookupOnly = process.argv.includes('--only=lookup');
const IMPORT_LINES = quick ? 100_000 : 1_000_000;
const BIG = quick ? 200_000 : 10_000_000;
const ROUNDS = quick ? 1 : 3;
const MSGS = quick ? 1000 : 3000;
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
requirePostfixTools();

const dist = (p) => import(join(root, 'dist', p));




function configYaml(dir, upstreamPort) {
  return `smtp: { host: 127.0.0.1, port: 0, hostname: relay.bench, tls: { devCertDir: ${join(dir, 'tls')} }, limits: { maxConnectionsPerIp: 200 } }
upstream: { host: 127.0.0.1, port: ${upstreamPort}, starttls: off, pool: { maxIdle: 32 } }
store: { kind: embedded, path: ${join(dir, 'store')} }
keys: { masterKeyFile: ${join(dir, 'master.key')} }
limits:
  messages: [{ limit: 100000000, per: minute }, { limit: 1000000000, per: day }]
  recipients: [{ limit: 100000000, per: minute }, { limit: 1000000000, per: day }]
  perSender: [{ limit: 100000000, per: hour }]
  perRecipientDomain: [{ limit: 100000000, per: minute }]
tenants:
  - { id: bench, domains: [bench.test], networks: [127.0.0.0/8] }
metrics: { port: 0 }
feedback: { enabled: false }
admin: { enabled: false }
log: { level: warn }
`;
}

/** The relay in a child process: `serve` (policy on), or the same composition with a store that says ok to everything (policy off). */
async function startRelay(configFile, policyOff) {
  const script = policyOff
    ? `const { loadConfigFile } = await import(${JSON.stringify(join(root, 'dist/config/load.js'))});
       const { start } = await import(${JSON.stringify(join(root, 'dist/main.js'))});
       const tenants = new Map();
       const store = {
         checkMail: async () => ({ kind: 'ok' }), checkRecipient: async () => ({ kind: 'ok' }),
         putTenant: async (t) => void tenants.set(t.id, t), getTenant: async (id) => tenants.get(id) ?? null, listTenants: async () => [...tenants.values()],
         fresh: false, getIdentity: async () => ({ id: 'policy-off', createdAt: 0 }), createIdentity: async () => false,
         getLostIdentity: async () => null, reportLostIdentity: async () => {}, durability: async () => ({ persistent: true, detail: 'none' }), tenantsRemoved: async (ids) => ids,
         auditTrail: () => null,
         close: async () => {},
       };
       const app = await start(loadConfigFile(${JSON.stringify(configFile)}).config, { store });
       process.stdout.write('PORT ' + app.smtp.port + '\\n');`
    : `const { loadConfigFile } = await import(${JSON.stringify(join(root, 'dist/config/load.js'))});
       const { start } = await import(${JSON.stringify(join(root, 'dist/main.js'))});
       const app = await start(loadConfigFile(${JSON.stringify(configFile)}).config);
       process.stdout.write('PORT ' + app.smtp.port + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  for (let i = 0; i < 300 && !/PORT (\d+)/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  const m = /PORT (\d+)/.exec(out);
  if (!m) throw new Error(`relay did not start:\n${out}`);
  return { port: Number(m[1]), stop: () => child.kill('SIGKILL') };
}

async function writeCsv(file, lines) {
  const out = createWriteStream(file);
  out.write('address,reason,source\n');
  for (let i = 0; i < lines; i++) {
    if (!out.write(`user${i}.${randomBytes(3).toString('hex')}@domain${i % 5000}.example,import,bench\n`)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

async function lookupCost(store, tenant, key, present, n) {
  // half of the questions hit an entry, half miss; no rate bucket is charged: the lookup alone
  const identity = (await store.getIdentity?.())?.id ?? 'none';
  const questions = Array.from({ length: n }, (_, i) => ({
    tenant,
    store: identity,
    pseudonym: i % 2 ? key.pseudonym(present(i)) : key.pseudonym(`absent${i}@nowhere.example`),
    buckets: [],
    now: Date.now(),
  }));
  for (const q of questions.slice(0, 1000)) await store.checkRecipient(q);
  const t = process.hrtime.bigint();
  let hits = 0;
  for (const q of questions) if ((await store.checkRecipient(q)).kind === 'suppressed') hits++;
  const us = Number(process.hrtime.bigint() - t) / 1e3 / n;
  if (hits !== n / 2) throw new Error(`expected ${n / 2} hits, got ${hits}`);
  return us;
}

/** A store set up as `store init` leaves it, with the tenant in it. */
async function prepared(store, tenants) {
  if (!(await store.getIdentity())) await store.createIdentity({ id: `bench-${Date.now()}`, createdAt: Date.now() });
  for (const id of tenants) await store.putTenant({ id, domains: [], networks: [], limits: { messages: [], recipients: [], perSender: [], perRecipientDomain: [], nullSender: [] }, wrappedKey: 'x', createdAt: 0 });
  return store;
}

async function fill(store, tenant, key, count, label) {
  const batch = 100_000;
  const started = Date.now();
  for (let i = 0; i < count; i += batch) {
    const entries = [];
    for (let j = i; j < Math.min(count, i + batch); j++) entries.push({ pseudonym: key.pseudonym(`p${j}@fill.example`), reason: 'import', createdAt: 0 });
    await store.addSuppressions(tenant, entries);
    if ((i / batch) % 10 === 9) process.stderr.write(`  ${label}: ${i + batch} entries loaded (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
}

async function main() {
  console.log(`policy benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'mw-policy-bench-'));
  const sinkPort = await freePort();
  const sinkArgs = [`127.0.0.1:${sinkPort}`, '1024'];
  if (process.getuid?.() === 0) sinkArgs.unshift('-u', 'nobody');
  const sink = spawn(SMTP_SINK, sinkArgs, { stdio: 'ignore' });
  await waitPort(sinkPort);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, configYaml(dir, sinkPort));

  try {
    if (!lookupOnly) await importAndThroughput(dir, configFile);
    await lookups(dir);
  } finally {
    sink.kill('SIGKILL');
  }
}

async function importAndThroughput(dir, configFile) {
  const cli = (...args) => execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { env: { ...process.env, MAILWARDEN_CONFIG: configFile }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  {
    // 1. import (the new embedded store gets its identity from the first command)
    cli('tenant', 'add', '--id', 'bench', '--domain', 'bench.test', '--network', '127.0.0.0/8');
    const csv = join(dir, 'suppressions.csv');
    await writeCsv(csv, IMPORT_LINES);
    const t0 = Date.now();
    cli('suppression', 'import', '--tenant', 'bench', csv);
    const importSeconds = (Date.now() - t0) / 1000;
    console.log(`suppression import: ${IMPORT_LINES} CSV lines in ${importSeconds.toFixed(1)} s (${Math.round(IMPORT_LINES / importSeconds)} lines/s), streamed and staged, visible all at once`);

    // 2. throughput, policy on (1M entries, limits active) and off, taking turns
    const on = await startRelay(configFile, false);
    const off = await startRelay(configFile, true);
    const rates = { on: [], off: [] };
    try {
      await smtpSource(on.port, 20, 200);
      await smtpSource(off.port, 20, 200);
      for (let r = 0; r < ROUNDS; r++) {
        rates.off.push(await smtpSource(off.port, 20, MSGS));
        rates.on.push(await smtpSource(on.port, 20, MSGS));
      }
    } finally {
      on.stop();
      off.stop();
    }
    const [rOn, rOff] = [median(rates.on), median(rates.off)];
    console.log(`relay, 1 KB, 20 sessions, 5 recipients/message: policy off ${rOff.toFixed(0)} msg/s, policy on (${IMPORT_LINES} suppressions, limits active) ${rOn.toFixed(0)} msg/s = ${((rOn / rOff) * 100).toFixed(0)}% (target >= 90%)`);
  }
}

async function lookups(dir) {
  {
    // 3. lookup cost, 1k against 10M entries
    const { EmbeddedStore } = await dist('store/embedded/store.js');
    const { MasterKey } = await dist('crypto/keys.js');
    const key = MasterKey.fromBase64(randomBytes(32).toString('base64')).newTenantKey('t').key;
    const present = (i) => `p${(i * 7919) % 1000}@fill.example`;
    const n = quick ? 20_000 : 100_000;
    const small = await prepared(new EmbeddedStore(join(dir, 'lookup-1k')), ['t']);
    await fill(small, 't', key, 1000, 'embedded 1k');
    const big = await prepared(new EmbeddedStore(join(dir, 'lookup-big')), ['t']);
    await fill(big, 't', key, BIG, `embedded ${BIG}`);
    const e1 = await lookupCost(small, 't', key, present, n);
    const eBig = await lookupCost(big, 't', key, present, n);
    await small.close();
    await big.close();
    console.log(`suppression lookup, embedded (LMDB): ${e1.toFixed(2)} µs at 1k entries, ${eBig.toFixed(2)} µs at ${BIG} entries (ratio ${(eBig / e1).toFixed(2)})`);
    const h1 = await lookupCost(hashSetStore(1000, key), 't', key, present, n);
    const hBig = await lookupCost(hashSetStore(BIG, key), 't', key, present, n);
    console.log(`  reference, in-memory hash set (O(1)): ${h1.toFixed(2)} µs at 1k, ${hBig.toFixed(2)} µs at ${BIG} (ratio ${(hBig / h1).toFixed(2)}); LMDB's growth beyond it: ${(eBig / e1 / (hBig / h1)).toFixed(2)}x`);

    if (REDIS) {
      const { RedisStore } = await dist('store/redis/store.js');
      const port = await freePort();
      const redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      await waitPort(port);
      try {
        const store = await prepared(await RedisStore.connect({ urls: [`redis://127.0.0.1:${port}`], commandTimeoutMs: 5000 }), ['small', 'big']);
        await fill(store, 'small', key, 1000, 'redis 1k');
        const redisBig = quick ? BIG : Math.min(BIG, 10_000_000);
        await fill(store, 'big', key, redisBig, `redis ${redisBig}`);
        const r1 = await lookupCost(store, 'small', key, present, n);
        const rBig = await lookupCost(store, 'big', key, present, n);
        await store.close();
        console.log(`suppression lookup, redis (one Lua call, loopback): ${r1.toFixed(1)} µs at 1k entries, ${rBig.toFixed(1)} µs at ${redisBig} entries (ratio ${(rBig / r1).toFixed(2)})`);
      } finally {
        redis.kill('SIGKILL');
      }
    } else {
      console.log('suppression lookup, redis: skipped (no redis-server)');
    }
  }
}

/** The same RCPT question answered from a JS Set: the cost of a hash lookup at this size on this machine. */
function hashSetStore(count, key) {
  const set = new Set();
  for (let j = 0; j < count; j++) set.add(key.pseudonym(`p${j}@fill.example`));
  return { checkRecipient: async (q) => (set.has(q.pseudonym) ? { kind: 'suppressed' } : { kind: 'ok' }) };
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
