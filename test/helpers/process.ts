// Runs the built `mailwarden serve` as a child process, as an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface RelayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** the /metrics port, when metrics are on */
  readonly metricsPort: number | null;
  /** the feedback listener's port, when it is on */
  readonly feedbackPort: number | null;
  /** the admin API's port, when it is on */
  readonly adminPort: number | null;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

export async function spawnRelay(yaml: string, cwd?: string, env: NodeJS.ProcessEnv = {}): Promise<RelayProcess> {
  const dir = cwd ?? mkdtempSync(join(tmpdir(), 'mw-proc-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, [CLI, 'serve'], { cwd: dir, env: { ...process.env, ...env, MAILWARDEN_CONFIG: file }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /"port":(\d+)[^\n]*"msg":"smtp listening"/.exec(out);
    if (m) {
      const metrics = /"port":(\d+)[^\n]*"msg":"metrics listening"/.exec(out);
      const feedback = /"port":(\d+)[^\n]*"msg":"feedback listening"/.exec(out);
      const admin = /"port":(\d+)[^\n]*"msg":"admin API listening"/.exec(out);
      return { child, port: Number(m[1]), metricsPort: metrics ? Number(metrics[1]) : null, feedbackPort: feedback ? Number(feedback[1]) : null, adminPort: admin ? Number(admin[1]) : null, output: () => out, exited };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mailwarden did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
