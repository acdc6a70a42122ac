#!/usr/bin/env node
// The mailwarden command. The only place that reads argv, handles signals and sets the
// process exit code.
import { createInterface } from 'node:readline/promises';
import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { configPath, loadConfigFile, ConfigError } from '../config/load.js';
import { hashPassword } from '../tenants/password.js';
import { start, startPrimary, startWorker, workerCount, type Mailwarden } from '../main.js';
import { CommanderError } from 'commander';
import { buildProgram, EXIT } from './program.js';
import { MasterKeyMismatchError } from '../tenants/bootstrap.js';
import { StartupError } from '../config/startup-error.js';
import { tlsFileProblems } from '../tls/certificates.js';
import { loadMasterKey } from '../crypto/master-key-file.js';
import { FeedbackRules } from '../feedback/classify.js';
import { buildInfo } from '../build-info.js';
import { describeError, UsageError, type Io } from './policy-commands.js';

const io: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

function config() {
  return loadConfigFile(configPath(process.env, process.cwd())).config;
}

function version(): string {
  const { version, commit } = buildInfo();
  return commit === 'unknown' ? version : `${version} (${commit})`;
}

/** set once `serve` runs: a relay that fails to start ends its process with it */
let serving = false;

/** the oldest Node.js major version mailwarden runs on (package.json engines) */
const NODE_MAJOR = 20;

async function main(argv: string[]): Promise<number> {
  if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
    process.stderr.write(`mailwarden: needs Node.js ${NODE_MAJOR} or later; ${process.execPath} is ${process.versions.node}\n`);
    return EXIT.config;
  }
  let code: number = EXIT.ok;
  const program = buildProgram({ io, config, readPassword, version: version(), serve, configCheck, hashPassword: hashPasswordCommand }, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version end here with 0; a usage error (already written) with 2
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return code;
}

/** config check [FILE]: the file, and every file it names (certificate, key, master key, rules) */
async function configCheck(given: string | undefined): Promise<number> {
  const file = given ?? configPath(process.env, process.cwd());
  const { config: checked } = loadConfigFile(file);
  const problems = await tlsFileProblems(checked.smtp.tls);
  try {
    loadMasterKey({ ...checked.keys, generateMasterKey: false }, process.env);
  } catch (err) {
    // a key the relay would make at its first start is not a problem
    const absent = !process.env.MAILWARDEN_MASTER_KEY && !existsSync(checked.keys.masterKeyFile);
    if (!(absent && checked.keys.generateMasterKey)) problems.push((err as Error).message);
  }
  if (checked.feedback.rulesFile) {
    try {
      FeedbackRules.load(checked.feedback.rulesFile);
    } catch (err) {
      problems.push(`feedback.rulesFile: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  io.out(`${file}: ok`);
  return EXIT.ok;
}

async function hashPasswordCommand(): Promise<number> {
  const password = await readPassword();
  if (!password) throw new UsageError('empty password');
  io.out(await hashPassword(password));
  return EXIT.ok;
}

/**
 * smtp.workers: 1 runs everything in this process. With more, this process is the primary
 * and forks the workers, each of which runs this same command and lands in startWorker.
 */
async function serve(): Promise<number> {
  serving = true;
  const file = configPath(process.env, process.cwd());
  const { config } = loadConfigFile(file);
  if (cluster.worker) {
    // a worker takes up a reload from its primary; a SIGHUP of its own (a process group's) is not one
    process.on('SIGHUP', () => undefined);
    return untilSignal(await startWorker(config, cluster.worker), null);
  }
  // a SIGHUP while starting (the default action would end the process) is taken up once started
  let app: Mailwarden | null = null;
  let asked = false;
  process.on('SIGHUP', () => (app ? reload(app, file) : (asked = true)));
  const workers = workerCount(config, availableParallelism(), cpuMax());
  app = workers > 1 ? await startPrimary(config, cluster, workers) : await start(config);
  if (asked) reload(app, file);
  return untilSignal(app, app.log);
}

/** SIGHUP: the configuration file read again; an invalid one changes nothing and is reported. */
function reload(app: Mailwarden, file: string): void {
  let next;
  try {
    next = loadConfigFile(file).config;
  } catch (err) {
    app.log.error({ file, problems: err instanceof ConfigError ? err.problems : [(err as Error).message] }, 'configuration not reloaded: the file is not valid; the running configuration is unchanged');
    return;
  }
  app.reload(next).then(
    (plan) => {
      if (plan.restart.length > 0) app.log.warn({ file, keys: plan.restart }, 'configuration reloaded: these changes wait for a restart');
      app.log.info({ file, changed: plan.apply }, plan.apply.length > 0 ? 'configuration reloaded' : 'configuration reloaded: nothing to take up');
    },
    (err: unknown) => app.log.error({ file, err: (err as Error).message }, 'configuration not reloaded; the running configuration is unchanged'),
  );
}

/** cgroup v2's CPU quota of this process ("max 100000" when there is none); null outside a cgroup v2 */
function cpuMax(): string | null {
  try {
    return readFileSync('/sys/fs/cgroup/cpu.max', 'utf8');
  } catch {
    return null;
  }
}

/** Runs until SIGTERM or SIGINT, then closes `app` gracefully. */
function untilSignal(app: { close(): Promise<void> }, log: import('pino').Logger | null): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log?.info({ signal }, 'shutting down');
      app.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`mailwarden: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

async function readPassword(): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  if (process.stdin.isTTY) process.stderr.write('password: ');
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

// a reader that stopped reading (`mailwarden suppression export | head`) is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const known = describeError(err);
    if (err instanceof StartupError) {
      process.stderr.write(`mailwarden: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else if (err instanceof MasterKeyMismatchError) {
      process.stderr.write(`mailwarden: ${err.message}\n`);
      process.exitCode = EXIT.config;
    } else if (known !== null) {
      process.stderr.write(`mailwarden: ${known}\n`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`mailwarden: ${err.message}\n`);
      process.exitCode = EXIT.config;
    } else {
      process.stderr.write(`mailwarden: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT.other;
    }
    // a relay that failed half-way through its start leaves listeners and timers behind:
    // what it had started ends with it
    if (serving) process.exit();
  },
);
