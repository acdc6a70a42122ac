// npm run bench [-- --quick]: every benchmark, one after the other, with the same flags.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

for (const script of ['relay-bench.mjs', 'auth-bench.mjs', 'workers-bench.mjs', 'policy-bench.mjs', 'import-bench.mjs', 'accounting-bench.mjs', 'metrics-bench.mjs']) {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, script), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.exitCode = r.status ?? 1;
    break;
  }
  console.log('');
}
