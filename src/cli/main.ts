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
import { feedback } from './feedback-commands.js';
import { token } from './token-commands.js';
import { tenantOffboard } from './offboard-command.js';
import { accountingMigrate, accountingQuery, retentionRun, subject } from './accounting-commands.js';
import { storeCommand } from './store-commands.js';
import { MasterKeyMismatchError } from '../tenants/bootstrap.js';
import { StartupError } from '../config/startup-error.js';
import { tlsFileProblems } from '../tls/certificates.js';
import { loadMasterKey } from '../crypto/master-key-file.js';
import { FeedbackRules } from '../feedback/classify.js';
import { buildInfo } from '../build-info.js';
import { describeError, suppression, suspend, suspensions, tenantAdd, tenantList, tenantSetPassword, unsuspend, type Io } from './policy-commands.js';

const USAGE = `usage: mailwarden <command>

commands:
  --version                  the version of mailwarden
  serve                      run the relay (config: $MAILWARDEN_CONFIG or config/default.yaml)
  config check [FILE]        validate a configuration file and report every problem
  tenant hash-password       read a password on standard input, print its scrypt hash
                             for tenants[].password
  tenant list                the tenants in the store
  tenant add --id T --domain D [--domain D2 ...] [--network CIDR ...] [--username U --password-stdin]
             [--abuse-email E] [--abuse-webhook URL]   who hears about rate warnings and automatic suspensions
  tenant set-password --id T --password-stdin   a new login password, read on standard input
  tenant offboard T --return DIR --yes   end of contract: return all its data to DIR, delete it everywhere
                                         with its key, write DIR/deletion-certificate.json

  store status [--json]       the store's identity, whether it persists, how many tenants
  store init --empty --yes   give a new (or lost) store an identity and the configuration's tenants,
                             with new keys and empty lists; relays on a lost store take it up
  store backup FILE [--force]  the whole policy store (tenants with wrapped keys, suppressions,
                               suspensions, feedback records, counts, tokens) as one file
  store restore FILE         load a backup into a store without an identity (new or lost)

  suspend --tenant T [--domain D | --sender S] --reason R [--ticket X] [--expires 7d|DATE] [--force]
                                                --force: a domain or sender outside the tenant's sender domains
  unsuspend --tenant T --id ID --reason R
  suspensions [--tenant T] [--all] [--json]

  suppression add --tenant T [--reason manual] [--source S] [--expires 30d] ADDRESS...
  suppression remove --tenant T ADDRESS
  suppression list --tenant T [--json]          entries by pseudonym, no addresses
  suppression import --tenant T FILE.csv|-      header: address,reason,source,expires_at; or one address per line; -: stdin
  suppression export --tenant T [-o FILE [--force]]  CSV with the addresses, for the tenant

  feedback parse FILE... [--json]               what a report says and what taking it in would do; changes nothing
  feedback ingest FILE...                       take complaint (ARF) and bounce (DSN) reports in from files
  feedback list --tenant T|--review [--limit N] [--json]
  feedback show ID --tenant T|--review [--report]   a record; --report prints the report itself

  token create --role operator|abuse-desk|tenant [--tenant T] [--name N] [--expires 90d|never]
                                                a bearer token for the admin API, printed once; 90 days unless --expires
  token list
  token revoke ID

  accounting query --tenant T [--from DATE] [--to DATE] [--address A | --message-id M] [--format jsonl|csv] [--no-archive]
                                                one tenant's records (csv: PowerMTA-style columns, pseudonyms for addresses)
  accounting migrate [--from DIR] [--json]      move a files installation's records (DIR: accounting.dir) into the
                                                PostgreSQL database of accounting.postgres; run again, it resumes
  subject export --tenant T --address A [-o FILE]  everything about one address of one tenant (records, suppression), as JSON
  subject erase --tenant T --address A           remove its records everywhere; a suppression stays, as a bare pseudonym
  retention run [--dry-run]                     move accounting days older than accounting.retention.activeDays
                                                to the archive, delete those older than archiveDays (the relay
                                                also does this at start and daily)

The actor recorded for suspend/unsuspend is --actor, else $MAILWARDEN_ACTOR, else the login name.
`;

const io: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

function config() {
  return loadConfigFile(configPath(process.env, process.cwd())).config;
}

const COMMANDS = ['serve', 'config', 'tenant', 'store', 'suspend', 'unsuspend', 'suspensions', 'suppression', 'feedback', 'token', 'accounting', 'subject', 'retention', 'help'];

/** the known word nearest to `word`, within two edits; null when none is that near */
function closest(word: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The usage lines of one command (each line that starts with it, and the lines that continue it). */
function helpFor(command: string): string {
  const blocks: string[][] = [];
  for (const line of USAGE.split('\n')) {
    if (/^ {2}\S/.test(line)) blocks.push([line]);
    else if (/^ {3,}\S/.test(line) && blocks.length > 0) blocks.at(-1)!.push(line);
  }
  const mine = blocks.filter((b) => b[0]!.trim().split(/\s+/)[0] === command);
  return mine.length > 0 ? `usage: mailwarden\n${mine.map((b) => b.join('\n')).join('\n')}\n` : USAGE;
}

function version(): string {
  const { version, commit } = buildInfo();
  return commit === 'unknown' ? version : `${version} (${commit})`;
}

/** the oldest Node.js major version mailwarden runs on (package.json engines) */
const NODE_MAJOR = 20;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
    process.stderr.write(`mailwarden: needs Node.js ${NODE_MAJOR} or later; ${process.execPath} is ${process.versions.node}\n`);
    return 78;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`mailwarden ${version()}\n`);
    return 0;
  }
  // --help anywhere after a command shows that command's usage and does nothing else
  if (command !== undefined && argv.slice(1).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(helpFor(command));
    return 0;
  }
  switch (command) {
    case 'serve':
      return serve();
    case 'config':
      if (sub === 'check') {
        const file = rest[0] ?? configPath(process.env, process.cwd());
        const { config: checked } = loadConfigFile(file);
        // the files it names must be there and be what they should be too
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
        process.stdout.write(`${file}: ok\n`);
        return 0;
      }
      break;
    case 'store':
      return storeCommand(config(), argv.slice(1), io);
    case 'suspend':
      return suspend(config(), argv.slice(1), io);
    case 'unsuspend':
      return unsuspend(config(), argv.slice(1), io);
    case 'suspensions':
      return suspensions(config(), argv.slice(1), io);
    case 'suppression':
      return suppression(config(), argv.slice(1), io);
    case 'feedback':
      return feedback(config(), argv.slice(1), io);
    case 'token':
      return token(config(), argv.slice(1), io);
    case 'accounting':
      if (sub === 'query') return accountingQuery(config(), rest, io);
      if (sub === 'migrate') return accountingMigrate(config(), rest, io);
      break;
    case 'subject':
      return subject(config(), argv.slice(1), io);
    case 'retention':
      if (sub === 'run') return retentionRun(config(), rest, io);
      break;
    case 'tenant':
      if (sub === 'list') return tenantList(config(), rest, io);
      if (sub === 'add') return tenantAdd(config(), rest, io, readPassword);
      if (sub === 'set-password') return tenantSetPassword(config(), rest, io, readPassword);
      if (sub === 'offboard') return tenantOffboard(config(), rest, io);
      if (sub === 'hash-password') {
        const password = await readPassword();
        if (!password) {
          process.stderr.write('mailwarden: empty password\n');
          return 2;
        }
        process.stdout.write(`${await hashPassword(password)}\n`);
        return 0;
      }
      break;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
  }
  const guess = command === undefined ? null : closest(command, COMMANDS);
  process.stderr.write(`mailwarden: unknown command "${[command, sub].filter(Boolean).join(' ')}"${guess ? `; did you mean "${guess}"?` : ''}\n\n${USAGE}`);
  return 2;
}

/**
 * smtp.workers: 1 runs everything in this process. With more, this process is the primary
 * and forks the workers, each of which runs this same command and lands in startWorker.
 */
async function serve(): Promise<number> {
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
      process.exitCode = 78; // EX_CONFIG
    } else if (known !== null) {
      process.stderr.write(`mailwarden: ${known}\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`mailwarden: ${err.message}\n`);
      process.exitCode = 78; // EX_CONFIG
    } else {
      process.stderr.write(`mailwarden: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
    // a relay that failed half-way through its start leaves listeners and timers behind:
    // what it had started ends with it
    if (process.argv[2] === 'serve') process.exit();
  },
);
