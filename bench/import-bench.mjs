// A large suppression import on Redis while two replicas relay at full speed:
//   0. reference: the two replicas relaying with no import running;
//   1. baseline: the same entries written as one MULTI/EXEC (what an import did before it was
//      staged), while both replicas relay: their 451 4.3.0 replies (store deadline missed);
//   2. a CSV of IMPORT_LINES lines with one bad line at its very end, through
//      `mailwarden suppression import`: refused, nothing imported, its time;
//   3. the same CSV without the bad line: imported, its time, and the replicas' 451 4.3.0.
// The 451 4.3.0 replies are the relays' own count (policy verdicts POLICY_UNAVAILABLE and
// STORE_LOST, store errors), read from their /metrics before and after each phase.
// Usage: node bench/import-bench.mjs [--quick]
import { spawn, execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { freePort, requirePostfixTools, SMTP_SOURCE, startBenchRelay, startSink, waitPort } from './common.mjs';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const IMPORT_LINES = quick ? 100_000 : 500_000;
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
requirePostfixTools();
if (!REDIS) throw new Error("redis-server is needed: Debian's redis-server package");

async function writeCsv(file, lines, badLast) {
  const out = createWriteStream(file);
  out.write('address,reason,source\n');
  for (let i = 0; i < lines; i++) {
    if (!out.write(`user${i}.${randomBytes(3).toString('hex')}@domain${i % 5000}.example,import,bench\n`)) await new Promise((r) => out.once('drain', r));
  }
  if (badLast) out.write('not an address,import,bench\n');
  await new Promise((r) => out.end(r));
}

/** smtp-source against a relay, over and over until stopped: 1 KB, 20 sessions, 5 recipients per message. */
function flood(port) {
  let stopping = false;
  let child;
  let messages = 0;
  const done = (async () => {
    while (!stopping) {
      await new Promise((res) => {
        child = spawn(SMTP_SOURCE, ['-s', '20', '-m', '500', '-r', '5', '-l', '1024', '-f', 'bench@bench.test', '-t', 'rcpt@example.org', `127.0.0.1:${port}`], { stdio: 'ignore' });
        child.once('exit', (code) => {
          if (code === 0) messages += 500;
          res();
        });
      });
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      child?.kill('SIGKILL');
      await done;
      return messages;
    },
  };
}

async function deferred(metricsPort) {
  const text = await (await globalThis.fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (/^mailwarden_policy_verdicts_total\{.*reason="(POLICY_UNAVAILABLE|STORE_LOST)"/.test(line)) n += Number(line.split(' ').pop());
  }
  return n;
}

async function main() {
  console.log(`import benchmark — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'mw-import-bench-'));
  const sink = await startSink();
  const redisPort = await freePort();
  const redis = spawn(REDIS, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await waitPort(redisPort);
  // every replica and the CLI: one master key (it takes precedence over each one's key file)
  const masterKey = randomBytes(32).toString('base64');
  process.env.MAILWARDEN_MASTER_KEY = masterKey;
  const storeYaml = `{ kind: redis, url: "redis://127.0.0.1:${redisPort}" }`;
  const replicas = [];
  try {
    const ports = [];
    const cli = (config, ...args) => run(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { env: { ...process.env, MAILWARDEN_CONFIG: config }, maxBuffer: 1 << 24 });
    for (let i = 0; i < 2; i++) {
      const metrics = await freePort();
      const replicaDir = mkdtempSync(join(dir, 'replica-'));
      if (i === 0) {
        // a new Redis is set up once, before the replicas serve from it
        writeFileSync(join(replicaDir, 'init.yaml'), `store: ${storeYaml}\ntenants: [{ id: bench, domains: [bench.test], networks: [127.0.0.0/8] }]\n`);
        await cli(join(replicaDir, 'init.yaml'), 'store', 'init', '--empty', '--yes');
      }
      const relay = await startBenchRelay(root, replicaDir, sink.port, { storeYaml, yamlExtra: `metrics: { port: ${metrics} }` });
      replicas.push(relay);
      ports.push({ smtp: relay.port, metrics, config: relay.configFile });
    }
    const importCli = (...args) => cli(ports[0].config, ...args);
    const during = async (what, work) => {
      const before = await Promise.all(ports.map((p) => deferred(p.metrics)));
      const floods = ports.map((p) => flood(p.smtp));
      await new Promise((r) => setTimeout(r, 1000));
      const t0 = Date.now();
      let outcome;
      try {
        outcome = await work();
      } catch (err) {
        outcome = err;
      }
      const seconds = (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 500));
      const relayed = (await Promise.all(floods.map((f) => f.stop()))).reduce((a, b) => a + b, 0);
      const flooded = (Date.now() - t0 + 1000) / 1000;
      const after = await Promise.all(ports.map((p) => deferred(p.metrics)));
      const refused = after.reduce((a, n, i) => a + n - before[i], 0);
      console.log(`${what}: ${seconds.toFixed(1)} s; meanwhile the two replicas relayed ${relayed} messages (about ${Math.round(relayed / flooded)} msg/s) and answered ${refused} commands with 451 4.3.0`);
      return outcome;
    };

    await during('reference, no import', () => new Promise((r) => setTimeout(r, 8000)));

    // 1. baseline: one MULTI/EXEC of every entry, as an import was written before
    {
      const { RedisStore } = await import(join(root, 'dist/store/redis/store.js'));
      const { MasterKey } = await import(join(root, 'dist/crypto/keys.js'));
      const store = await RedisStore.connect({ urls: [`redis://127.0.0.1:${redisPort}`], commandTimeoutMs: 60_000 });
      const record = await store.getTenant('bench');
      const key = MasterKey.fromBase64(masterKey).unwrap(record.wrappedKey, 'bench');
      const entries = Array.from({ length: IMPORT_LINES }, (_, i) => ({ pseudonym: key.pseudonym(`baseline${i}@domain${i % 5000}.example`), sealed: key.sealAddress(`baseline${i}@domain${i % 5000}.example`), reason: 'import', source: 'bench', createdAt: Date.now() }));
      await during(`baseline, ${IMPORT_LINES} entries in one MULTI/EXEC`, () => store.addSuppressions('baseline', entries));
      await store.close();
    }

    const bad = join(dir, 'bad.csv');
    await writeCsv(bad, IMPORT_LINES, true);
    const refusedImport = await during(`import of ${IMPORT_LINES} lines with a bad last line`, () => importCli('suppression', 'import', '--tenant', 'bench', bad));
    const count = async () => {
      const { RedisStore } = await import(join(root, 'dist/store/redis/store.js'));
      const store = await RedisStore.connect({ urls: [`redis://127.0.0.1:${redisPort}`], commandTimeoutMs: 10_000 });
      try {
        return await store.countSuppressions('bench');
      } finally {
        await store.close();
      }
    };
    const why = refusedImport instanceof Error ? (refusedImport.stderr ?? refusedImport.message).split('\n').find((l) => l.startsWith('mailwarden:')) : null;
    console.log(`  ${why ? `refused (${why})` : 'NOT refused: it was imported'}; entries in the list afterwards: ${await count()}`);

    const good = join(dir, 'good.csv');
    await writeCsv(good, IMPORT_LINES, false);
    const imported = await during(`import of ${IMPORT_LINES} lines`, () => importCli('suppression', 'import', '--tenant', 'bench', good));
    console.log(`  ${imported instanceof Error ? `FAILED: ${imported.message}` : imported.stdout.trim()}; entries in the list afterwards: ${await count()}`);
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    redis.kill('SIGKILL');
    sink.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
