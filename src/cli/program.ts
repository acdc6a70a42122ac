// The mailwarden command's tree: every command, its options and arguments, its help. Parsing,
// --help, --version, "did you mean" and the usage errors are commander's; what a command
// does is in the *-commands.ts modules, which receive the parsed options.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Config } from '../config/schema.js';
import { ROLES } from '../admin/schemas.js';
import { SUPPRESSION_REASONS } from '../domain/policy.js';
import { feedbackAssign, feedbackDismiss, feedbackIngest, feedbackList, feedbackParse, feedbackShow } from './feedback-commands.js';
import { tokenCreate, tokenList, tokenRevoke } from './token-commands.js';
import { tenantOffboard } from './offboard-command.js';
import { accountingMigrate, accountingQuery, retentionRun, subjectErase, subjectExport } from './accounting-commands.js';
import { storeBackup, storeInit, storeRestore, storeStatus } from './store-commands.js';
import {
  suppressionAdd,
  suppressionExport,
  suppressionImport,
  suppressionList,
  suppressionRemove,
  suspend,
  suspensions,
  tenantAdd,
  tenantList,
  tenantSetPassword,
  tenantShow,
  unsuspend,
  type Io,
} from './policy-commands.js';

/** What the commands need from the process that runs them. */
export interface CliContext {
  readonly io: Io;
  /** the configuration file's contents ($MAILWARDEN_CONFIG or config/default.yaml), read when a command runs */
  config(): Config;
  readPassword(): Promise<string>;
  /** `mailwarden --version` */
  readonly version: string;
  serve(): Promise<number>;
  configCheck(file: string | undefined): Promise<number>;
  hashPassword(): Promise<number>;
}

/** the exit codes (sysexits.h where one fits), as the root help lists them */
export const EXIT = { ok: 0, other: 1, usage: 2, unavailable: 69, config: 78 } as const;

const ROOT_NOTES = `
Configuration: $MAILWARDEN_CONFIG, else config/default.yaml. Every command that reads the
store opens the same store and master key as the relay (also while it runs).

Output: --json prints JSON Lines (one object a line) for commands that list records, one
object for those that report one result; times are ISO 8601 everywhere. A reader that
stops reading (| head) ends the command quietly.

The actor recorded for changes is --actor where a command has it, else $MAILWARDEN_ACTOR,
else the login name.

Exit codes: 0 done, 1 not done (for example nothing to remove, a report refused),
2 usage error, 69 a service (Redis, PostgreSQL) unavailable, 78 the configuration or the
host must change.

Run "mailwarden COMMAND --help" for a command's options.`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a positive whole number');
  return n;
}

/**
 * The program. `setCode` receives the exit code of the command that ran; commander's own
 * exits (help, version, usage errors) are thrown as CommanderError (exitOverride).
 */
export function buildProgram(ctx: CliContext, setCode: (code: number) => void): Command {
  const { io } = ctx;
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => setCode(await fn(...args));

  const program = new Command('mailwarden')
    .description('SMTP relay shim that applies a hosting provider\'s compliance policy to every transaction')
    .version(`mailwarden ${ctx.version}`, '-V, --version', 'the version of mailwarden and the commit it was built from')
    .helpOption('-h, --help', 'this usage')
    .helpCommand('help [command]', 'the usage of a command')
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      // "mailwarden: unknown option '--tenat' (Did you mean --tenant?)", like every other error of the command
      outputError: (s, write) => write(`mailwarden: ${s.replace(/^error: /, '')}`),
    })
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for the usage)')
    .exitOverride()
    .addHelpText('after', ROOT_NOTES);

  program
    .command('serve')
    .description('run the relay (smtp.workers processes); SIGHUP reloads the configuration, SIGTERM stops gracefully')
    .action(run(() => ctx.serve()));

  const config = program.command('config').description('the configuration file');
  config
    .command('check')
    .description('validate a configuration file and open every file it names; report every problem (exit 78)')
    .argument('[file]', 'the file to check (default: the configuration)')
    .action(run((file: string | undefined) => ctx.configCheck(file)));

  const tenant = program.command('tenant').description('the tenants (hosting clients) in the store');
  tenant
    .command('list')
    .description('the tenants in the store')
    .option('--json', 'JSON Lines, one tenant a line')
    .action(run((o: { json?: boolean }) => tenantList(ctx.config(), o, io)));
  tenant
    .command('show')
    .description('one tenant: its complaint and hard-bounce rates per window and sender domain against the warn and suspend lines, its suspensions and suppressions')
    .argument('<tenant>', 'the tenant')
    .option('--json', 'one object')
    .action(run((id: string, o: { json?: boolean }) => tenantShow(ctx.config(), id, o, io)));
  tenant
    .command('add')
    .description('add a tenant; replicas take it up within store.tenantRefreshMs')
    .requiredOption('--id <tenant>', 'the tenant\'s id')
    .option('--domain <domain>', 'a sender domain it owns (repeat for more)', collect)
    .option('--network <cidr>', 'a network it may relay from without AUTH (repeat for more)', collect)
    .option('--username <name>', 'its SMTP login (with --password-stdin)')
    .option('--password-stdin', 'read the login password from standard input')
    .option('--abuse-email <address>', 'who hears about rate warnings and automatic suspensions, by mail')
    .option('--abuse-webhook <url>', '... and by webhook')
    .action(run((o: Parameters<typeof tenantAdd>[1]) => tenantAdd(ctx.config(), o, io, ctx.readPassword)));
  tenant
    .command('set-password')
    .description('a new SMTP login password, read on standard input')
    .requiredOption('--id <tenant>', 'the tenant')
    .option('--password-stdin', 'read the password from standard input (required: never on the command line)')
    .action(run((o: { id: string; passwordStdin?: boolean }) => tenantSetPassword(ctx.config(), o, io, ctx.readPassword)));
  tenant
    .command('hash-password')
    .description('read a password on standard input, print its scrypt hash for tenants[].password')
    .action(run(() => ctx.hashPassword()));
  tenant
    .command('offboard')
    .description('end of contract: return all its data to DIR, delete it everywhere with its key, write DIR/deletion-certificate.json')
    .argument('<tenant>', 'the tenant')
    .requiredOption('--return <dir>', 'where its data goes before it is deleted')
    .option('--yes', 'confirm: this cannot be undone')
    .action(run((id: string, o: { return: string; yes?: boolean }) => tenantOffboard(ctx.config(), id, o, io)));

  const store = program.command('store').description('the policy store\'s identity, backup and restore');
  store
    .command('status')
    .description('the store\'s identity, whether it persists, how many tenants (exit 1 without an identity)')
    .option('--json', 'one object')
    .action(run((o: { json?: boolean }) => storeStatus(ctx.config(), o, io)));
  store
    .command('init')
    .description('give a new (or lost) store an identity and the configuration\'s tenants, with new keys and empty lists; relays on a lost store take it up')
    .option('--empty', 'start with no suppression list and no suspension (the only way)')
    .option('--yes', 'confirm')
    .action(run((o: { empty?: boolean; yes?: boolean }) => storeInit(ctx.config(), o, io)));
  store
    .command('backup')
    .description('the whole policy store (tenants with wrapped keys, suppressions, suspensions, feedback records, counts, tokens) as one file')
    .argument('<file>', 'the backup file')
    .option('--force', 'replace FILE if it exists')
    .action(run((file: string, o: { force?: boolean }) => storeBackup(ctx.config(), file, o, io)));
  store
    .command('restore')
    .description('load a backup into a store without an identity (new or lost)')
    .argument('<file>', 'the backup file')
    .action(run((file: string) => storeRestore(ctx.config(), file, io)));

  program
    .command('suspend')
    .description('suspend a tenant, one of its sender domains or one sender')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .addOption(new Option('--domain <domain>', 'only this sender domain').conflicts('sender'))
    .option('--sender <address>', 'only this sender address')
    .requiredOption('--reason <text>', 'why (shown to the tenant)')
    .option('--ticket <id>', 'the abuse desk\'s ticket')
    .option('--expires <when>', 'a duration (30m, 12h, 7d) or a date; none: until lifted')
    .option('--force', 'a domain or sender outside the tenant\'s sender domains')
    .option('--actor <name>', 'who suspends')
    .option('--json', 'the suspension as one object')
    .action(run((o: Parameters<typeof suspend>[1]) => suspend(ctx.config(), o, io)));
  program
    .command('unsuspend')
    .description('lift a suspension')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .requiredOption('--id <suspension>', 'the suspension')
    .option('--reason <text>', 'why (required; a lift without one is refused and audited)')
    .option('--actor <name>', 'who lifts')
    .action(run((o: Parameters<typeof unsuspend>[1]) => unsuspend(ctx.config(), o, io)));
  program
    .command('suspensions')
    .description('open suspensions, with their evidence')
    .option('--tenant <tenant>', 'only this tenant\'s')
    .option('--all', 'lifted and expired ones too')
    .option('--json', 'JSON Lines, one suspension a line')
    .action(run((o: { tenant?: string; all?: boolean; json?: boolean }) => suspensions(ctx.config(), o, io)));

  const suppression = program.command('suppression').description('a tenant\'s suppression list');
  suppression
    .command('add')
    .description('suppress addresses')
    .argument('<address...>', 'the addresses')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .addOption(new Option('--reason <reason>', 'why').choices(SUPPRESSION_REASONS).default('manual'))
    .option('--source <text>', 'where the entry comes from')
    .option('--expires <when>', 'a duration (30m, 12h, 7d) or a date; none: never')
    .action(run((addresses: string[], o: Parameters<typeof suppressionAdd>[2]) => suppressionAdd(ctx.config(), addresses, o, io)));
  suppression
    .command('remove')
    .description('remove one address (exit 1 when it was not on the list)')
    .argument('<address>', 'the address')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .action(run((address: string, o: { tenant: string }) => suppressionRemove(ctx.config(), address, o, io)));
  suppression
    .command('list')
    .description('the entries by pseudonym, no addresses')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .option('--json', 'JSON Lines, one entry a line')
    .action(run((o: { tenant: string; json?: boolean }) => suppressionList(ctx.config(), o, io)));
  suppression
    .command('import')
    .description('load entries: CSV with the header address,reason,source,expires_at, or one address per line; nothing is loaded if a line is bad')
    .argument('<file>', 'the file; - for standard input')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .action(run((file: string, o: { tenant: string }) => suppressionImport(ctx.config(), file, o, io)));
  suppression
    .command('export')
    .description('the list as CSV with the addresses, for the tenant')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .option('-o, --output <file>', 'write to FILE (mode 600) instead of standard output')
    .option('--force', 'replace FILE if it exists')
    .action(run((o: { tenant: string; output?: string; force?: boolean }) => suppressionExport(ctx.config(), o, io)));

  const feedback = program.command('feedback').description('complaint (ARF) and bounce (DSN) reports');
  feedback
    .command('parse')
    .description('what a report says and what taking it in would do; changes nothing')
    .argument('<file...>', 'report files (.eml)')
    .option('--json', 'JSON Lines, one report a line')
    .action(run((files: string[], o: { json?: boolean }) => feedbackParse(ctx.config(), files, o, io)));
  feedback
    .command('ingest')
    .description('take reports in from files (exit 1 when one is not a report)')
    .argument('<file...>', 'report files (.eml)')
    .action(run((files: string[]) => feedbackIngest(ctx.config(), files, io)));
  feedback
    .command('list')
    .description('the reports taken in for a tenant, or kept for review, newest first')
    .addOption(new Option('--tenant <tenant>', 'this tenant\'s reports').conflicts('review'))
    .option('--review', 'the review queue: reports that could not be attributed')
    .option('--open', 'with --review: only the reports not yet assigned or dismissed')
    .option('--limit <n>', 'at most N', positiveInteger, 50)
    .option('--json', 'JSON Lines, one record a line')
    .action(run((o: { tenant?: string; review?: boolean; open?: boolean; limit: number; json?: boolean }) => feedbackList(ctx.config(), o, io)));
  feedback
    .command('show')
    .description('one record as JSON; --report prints the report itself (it names recipients: shown, never written)')
    .argument('<id>', 'the record')
    .addOption(new Option('--tenant <tenant>', 'a record of this tenant').conflicts('review'))
    .option('--review', 'a record of the review queue')
    .option('--report', 'the report as received')
    .action(run((id: string, o: { tenant?: string; review?: boolean; report?: boolean }) => feedbackShow(ctx.config(), id, o, io)));

  feedback
    .command('assign')
    .description('give a report of the review queue to a tenant: taken in for it as if attributed (counted, the recipients it names suppressed); the review record keeps the decision')
    .argument('<id>', 'the review record')
    .requiredOption('--tenant <tenant>', 'the tenant it belongs to')
    .requiredOption('--reason <text>', 'why')
    .option('--actor <name>', 'who decides')
    .action(run((id: string, o: { tenant: string; reason: string; actor?: string }) => feedbackAssign(ctx.config(), id, o, io)));
  feedback
    .command('dismiss')
    .description('dismiss a report of the review queue; it stays, with the decision')
    .argument('<id>', 'the review record')
    .requiredOption('--reason <text>', 'why')
    .option('--actor <name>', 'who decides')
    .action(run((id: string, o: { reason: string; actor?: string }) => feedbackDismiss(ctx.config(), id, o, io)));

  const token = program.command('token').description('bearer tokens for the admin API');
  token
    .command('create')
    .description('a token, printed once (only its hash is kept)')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
    .option('--tenant <tenant>', 'the tenant of a tenant token')
    .option('--name <text>', 'what it is for')
    .option('--expires <days>', '90d, any number of days, or never', '90d')
    .action(run((o: Parameters<typeof tokenCreate>[1]) => tokenCreate(ctx.config(), o, io)));
  token
    .command('list')
    .description('the tokens, never their secrets')
    .option('--json', 'JSON Lines, one token a line')
    .action(run((o: { json?: boolean }) => tokenList(ctx.config(), o, io)));
  token
    .command('revoke')
    .description('revoke a token')
    .argument('<id>', 'the token\'s id')
    .action(run((id: string) => tokenRevoke(ctx.config(), id, io)));

  const accounting = program.command('accounting').description('the accounting records');
  accounting
    .command('query')
    .description('one tenant\'s records (csv: PowerMTA-style columns, pseudonyms for addresses)')
    .requiredOption('--tenant <tenant>', 'the tenant: every query is about one')
    .option('--from <date>', 'from this day (2026-11-21) or time (2026-11-21T12:00:00Z)')
    .option('--to <date>', 'up to this time, or to the end of this day')
    .addOption(new Option('--address <address>', 'only records about this recipient').conflicts('messageId'))
    .option('--message-id <id>', 'only records of this message')
    .addOption(new Option('--format <format>', 'JSON Lines or CSV').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--no-archive', 'leave the archive out')
    .action(run((o: Parameters<typeof accountingQuery>[1]) => accountingQuery(ctx.config(), o, io)));
  accounting
    .command('migrate')
    .description('move a files installation\'s records into the PostgreSQL database of accounting.postgres; run again, it resumes')
    .option('--from <dir>', 'the files installation\'s accounting.dir (default: this configuration\'s)')
    .option('--json', 'the result as one object')
    .action(run((o: { from?: string; json?: boolean }) => accountingMigrate(ctx.config(), o, io)));

  const subject = program.command('subject').description('one data subject (recipient address) of one tenant');
  subject
    .command('export')
    .description('everything about one address of one tenant (records, suppression), as JSON')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .requiredOption('--address <address>', 'the address')
    .option('-o, --output <file>', 'write to FILE (mode 600) instead of standard output')
    .option('--force', 'replace FILE if it exists')
    .action(run((o: Parameters<typeof subjectExport>[1]) => subjectExport(ctx.config(), o, io)));
  subject
    .command('erase')
    .description('remove its records everywhere; a suppression stays, as a bare pseudonym')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .requiredOption('--address <address>', 'the address')
    .action(run((o: { tenant: string; address: string }) => subjectErase(ctx.config(), o, io)));

  program
    .command('retention')
    .description('accounting retention')
    .command('run')
    .description('move accounting days older than accounting.retention.activeDays to the archive, delete those older than archiveDays (the relay also does this at start and daily)')
    .option('--dry-run', 'say what would be done; change nothing')
    .option('--json', 'the result as one object')
    .action(run((o: { dryRun?: boolean; json?: boolean }) => retentionRun(ctx.config(), o, io)));

  return program;
}
