// The abuse desk's commands: suspend, unsuspend, suspensions, suppression ..., tenant list.
// They open the same store and master key as the relay (also while it runs).
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { AdminError, AdminService } from '../admin/service.js';
import type { Config } from '../config/schema.js';
import { loadMasterKey } from '../crypto/master-key-file.js';
import type { SuppressionReason, Suspension } from '../domain/policy.js';
import { openStore } from '../store/open.js';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { AuditLog, type AuditEntry } from '../admin/audit.js';
import { openCliAccounting } from '../accounting/open.js';
import type { AccountingStore } from '../accounting/port.js';
import { Accountant } from '../accounting/accountant.js';
import { createLogger } from '../observability/logger.js';
import { liftRequest, problemsOf, suppressRequest, suspendRequest } from '../admin/schemas.js';
import { suppressionJson, suspensionJson } from '../admin/views.js';
import { tenantSummary, type WindowVolume } from '../admin/tenant-summary.js';
import { StoreIdentityMissingError, StoreNotEmptyError, type Store } from '../store/ports.js';
import { prepareStore } from '../policy/store-identity.js';
import { MasterKeyMismatchError } from '../tenants/bootstrap.js';

export class UsageError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** Runs a changing command and writes its audit line (the same log as the admin API's), also when it fails. */
export async function audited<T>(config: Config, entry: { action: string; tenant?: string; reason?: string; actor?: string }, fn: () => Promise<T>, detail?: (result: T) => Record<string, string | number | boolean>): Promise<T> {
  const log = { record: (line: AuditEntry) => recordAudit(config, line) };
  const base = { actor: actorOf(entry.actor), role: 'cli', action: entry.action, ...(entry.tenant ? { tenant: entry.tenant } : {}), ...(entry.reason ? { reason: entry.reason } : {}), requestId: randomUUID(), via: 'cli' as const };
  try {
    const result = await fn();
    await log.record({ ...base, outcome: 'ok', ...(detail ? { detail: detail(result) } : {}) });
    return result;
  } catch (err) {
    const outcome = err instanceof AdminError ? (err.code === 'NOT_FOUND' ? 'not-found' : 'invalid') : err instanceof UsageError ? 'invalid' : 'error';
    await log.record({ ...base, outcome, detail: { error: (err as Error).message.split('\n')[0]! } });
    throw err;
  }
}

/** A request checked by the admin API's own schema; problems named by the flags that carry them. */
export function checked<S extends z.ZodType>(schema: S, data: unknown, flags: Record<string, string>): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = problemsOf(result.error).map((p) => `${flags[p.field.split('.')[0]!] ?? p.field}: ${p.message}`);
  throw new UsageError(problems.join('\n'));
}

export async function withService<T>(config: Config, fn: (svc: AdminService, store: Store, accountant: Accountant, records: AccountingStore) => Promise<T>): Promise<T> {
  const master = loadMasterKey(config.keys, process.env);
  const store = await openStore(config.store);
  // nothing is read from or written to a store that is new or lost as if it were the one known
  try {
    await prepareStore(store, Date.now());
    if (!(await store.getIdentity())) throw new StoreIdentityMissingError();
  } catch (err) {
    await store.close();
    throw err;
  }
  // changes are accounted for in the relay's accounting (its segments beside the relay if it runs, or the shared database)
  let accounting: Awaited<ReturnType<typeof openCliAccounting>>;
  try {
    accounting = await openCliAccounting(config.accounting, createLogger('warn', process.stderr));
  } catch (err) {
    await store.close();
    throw err;
  }
  // records about recipients need the tenant's key: the one the command already looked up
  let svc: AdminService | null = null;
  const accountant = new Accountant(accounting.sink, (tenant) => svc?.knownKey(tenant) ?? null, Date.now);
  svc = new AdminService(store, master.key, Date.now, (...change) => accountant.admin(...change));
  try {
    return await fn(svc, store, accountant, accounting.records);
  } finally {
    await accounting.close();
    await store.close();
  }
}

/** One audit line: in this host's log, and on a shared store (Redis) in the trail every replica's admin API reads. */
async function recordAudit(config: Config, entry: AuditEntry): Promise<void> {
  const store = config.store.kind === 'redis' ? await openStore(config.store).catch(() => null) : null;
  try {
    // nothing is written into a store without an identity (new or lost)
    const shared = store && (await store.getIdentity().catch(() => null)) ? store.auditTrail(config.admin.sharedAuditEntries) : null;
    await new AuditLog(config.admin.auditLog, shared).record(entry);
  } finally {
    await store?.close();
  }
}

export function actorOf(given: string | undefined): string {
  return given ?? process.env.MAILWARDEN_ACTOR ?? userInfo().username;
}

/** "7d", "12h", "30m", or an ISO date. */
function parseExpiry(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const rel = /^(\d+)([mhd])$/.exec(value);
  if (rel) return now + Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`--expires: "${value}" is neither a duration (30m, 12h, 7d) nor a date`);
  return at;
}

function need(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required`);
  return value;
}

function suspensionLine(s: Suspension): string {
  const what = s.scope === 'tenant' ? 'whole tenant' : `${s.scope} ${s.value}`;
  const until = s.expiresAt ? ` until ${new Date(s.expiresAt).toISOString()}` : '';
  const lifted = s.lifted ? ` LIFTED ${new Date(s.lifted.at).toISOString()} by ${s.lifted.by}: ${s.lifted.reason}` : '';
  const evidence = s.evidence ? `\n    evidence: ${JSON.stringify(s.evidence)}` : '';
  return `${s.id}  ${s.tenant}  ${what}  ${s.source}  ${new Date(s.createdAt).toISOString()}${until}  by ${s.actor}${s.ticket ? ` [${s.ticket}]` : ''}: ${s.reason}${lifted}${evidence}`;
}

export interface SuspendOptions {
  tenant: string;
  domain?: string;
  sender?: string;
  reason: string;
  ticket?: string;
  expires?: string;
  actor?: string;
  json?: boolean;
  force?: boolean;
}

export async function suspend(config: Config, o: SuspendOptions, io: Io): Promise<number> {
  const { tenant } = o;
  const expiresAt = parseExpiry(o.expires, Date.now());
  const req = checked(
    suspendRequest,
    {
      scope: o.domain ? 'domain' : o.sender ? 'sender' : 'tenant',
      ...((o.domain ?? o.sender) !== undefined ? { value: o.domain ?? o.sender } : {}),
      reason: o.reason,
      ...(o.ticket !== undefined ? { ticket: o.ticket } : {}),
      ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    },
    { reason: '--reason', value: '--domain/--sender', ticket: '--ticket', expiresAt: '--expires' },
  );
  const s = await audited(
    config,
    { action: 'suspension.create', tenant, reason: req.reason, actor: o.actor },
    () =>
      withService(config, (svc) =>
        svc.suspend({ tenant, scope: req.scope, value: req.value, reason: req.reason, ticket: req.ticket, actor: actorOf(o.actor), expiresAt: req.expiresAt ? Date.parse(req.expiresAt) : undefined, force: o.force }),
      ),
    (r) => ({ suspension: r.id, scope: r.scope }),
  );
  io.out(o.json ? JSON.stringify(suspensionJson(s)) : `suspended: ${suspensionLine(s)}`);
  return 0;
}

export async function unsuspend(config: Config, o: { tenant: string; id: string; reason?: string; actor?: string }, io: Io): Promise<number> {
  const { tenant, id } = o;
  // a refused lift (no reason) is audited too
  await audited(
    config,
    { action: 'suspension.lift', tenant, reason: o.reason, actor: o.actor },
    async () => {
      const { reason } = checked(liftRequest, { reason: need(o.reason, '--reason') }, { reason: '--reason' });
      await withService(config, (svc) => svc.unsuspend(tenant, id, actorOf(o.actor), reason));
    },
    () => ({ suspension: id }),
  );
  io.out(`lifted ${id} for ${tenant}`);
  return 0;
}

export async function suspensions(config: Config, o: { tenant?: string; all?: boolean; json?: boolean }, io: Io): Promise<number> {
  const list = await withService(config, (svc) => svc.suspensions(o.tenant, o.all ?? false));
  if (o.json) for (const x of list) io.out(JSON.stringify(suspensionJson(x)));
  else io.out(list.length ? list.map(suspensionLine).join('\n') : 'no suspensions');
  return 0;
}

export async function suppressionAdd(config: Config, addresses: string[], o: { tenant: string; reason: SuppressionReason; source?: string; expires?: string }, io: Io): Promise<number> {
  const { tenant } = o;
  const expiresAt = parseExpiry(o.expires, Date.now());
  const req = checked(
    suppressRequest,
    { entries: addresses.map((address) => ({ address, reason: o.reason, ...(o.source ? { source: o.source } : {}), ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}) })) },
    { entries: 'address' },
  );
  const n = await audited(
    config,
    { action: 'suppression.add', tenant },
    () => withService(config, (svc) => svc.suppress(tenant, req.entries.map((e) => ({ address: e.address, reason: e.reason, source: e.source, expiresAt: e.expiresAt ? Date.parse(e.expiresAt) : undefined })))),
    (added) => ({ entries: added }),
  );
  io.out(`suppressed ${n} address(es) for ${tenant}`);
  return 0;
}

export async function suppressionRemove(config: Config, address: string, { tenant }: { tenant: string }, io: Io): Promise<number> {
  const removed = await audited(config, { action: 'suppression.remove', tenant }, () => withService(config, (svc) => svc.unsuppress(tenant, address)), (r) => ({ removed: r }));
  io.out(removed ? `removed from ${tenant}'s suppression list` : `not on ${tenant}'s suppression list`);
  return removed ? 0 : 1;
}

export async function suppressionList(config: Config, o: { tenant: string; json?: boolean }, io: Io): Promise<number> {
  await withService(config, async (svc) => {
    let n = 0;
    for await (const e of svc.suppressionEntries(o.tenant)) {
      n++;
      io.out(o.json ? JSON.stringify(suppressionJson(e)) : `${e.pseudonym}  ${e.reason}  ${new Date(e.createdAt).toISOString()}${e.expiresAt ? `  until ${new Date(e.expiresAt).toISOString()}` : ''}${e.source ? `  ${e.source}` : ''}`);
    }
    if (!o.json) io.err(`${n} entr${n === 1 ? 'y' : 'ies'} (addresses are shown only by export)`);
  });
  return 0;
}

export async function suppressionImport(config: Config, file: string, { tenant }: { tenant: string }, io: Io): Promise<number> {
  // "-": standard input, as in `export-from-crm | mailwarden suppression import --tenant T -`
  if (file !== '-' && !existsSync(file)) throw new UsageError(`${file}: no such file`);
  const csv = file === '-' ? process.stdin : createReadStream(file);
  const started = Date.now();
  const n = await audited(
    config,
    { action: 'suppression.import', tenant },
    () => withService(config, (svc) => svc.importCsv(tenant, csv, (done) => io.err(`  ${done} lines checked`))),
    (count) => ({ entries: count }),
  );
  io.out(`imported ${n} entr${n === 1 ? 'y' : 'ies'} for ${tenant} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

export async function suppressionExport(config: Config, o: { tenant: string; output?: string; force?: boolean }, io: Io): Promise<number> {
  refuseOverwrite(o);
  const csv = await audited(config, { action: 'suppression.export', tenant: o.tenant }, () => withService(config, (svc) => svc.exportCsv(o.tenant)));
  if (o.output) {
    writeFileSync(o.output, csv, { mode: 0o600 });
    io.err(`written to ${o.output}`);
  } else io.out(csv.trimEnd());
  return 0;
}

/** -o FILE replaces an existing file only with --force */
export function refuseOverwrite(o: { output?: string; force?: boolean }): void {
  if (o.output && !o.force && existsSync(o.output)) throw new UsageError(`${o.output} exists; add --force to replace it`);
}

export interface TenantAddOptions {
  id: string;
  domain?: string[];
  network?: string[];
  username?: string;
  passwordStdin?: boolean;
  abuseEmail?: string;
  abuseWebhook?: string;
}

export async function tenantAdd(config: Config, values: TenantAddOptions, io: Io, readPassword: () => Promise<string>): Promise<number> {
  if (values.username && !values.passwordStdin) throw new UsageError('--username needs --password-stdin: the password is read from standard input, never from the command line');
  const { hashPassword } = await import('../tenants/password.js');
  const password = values.username ? await hashPassword(await readPassword()) : undefined;
  const abuseContact = values.abuseEmail || values.abuseWebhook ? { email: values.abuseEmail, webhook: values.abuseWebhook } : undefined;
  const t = await audited(
    config,
    { action: 'tenant.create', tenant: values.id },
    () => withService(config, (svc) => svc.addTenant({ id: values.id, domains: values.domain ?? [], networks: values.network ?? [], username: values.username, password, abuseContact }, config.limits)),
  );
  io.out(`added tenant ${t.id} (domains: ${t.domains.join(', ')}); replicas pick it up within store.tenantRefreshMs`);
  return 0;
}

export async function tenantSetPassword(config: Config, values: { id: string; passwordStdin?: boolean }, io: Io, readPassword: () => Promise<string>): Promise<number> {
  const tenant = values.id;
  if (!values.passwordStdin) throw new UsageError('--password-stdin is required: the password is read from standard input, never from the command line');
  const password = await readPassword();
  if (!password) throw new UsageError('empty password');
  const { hashPassword } = await import('../tenants/password.js');
  const hash = await hashPassword(password);
  await audited(config, { action: 'tenant.password', tenant }, () => withService(config, (svc) => svc.setPassword(tenant, hash)));
  io.out(`new password for ${tenant}; replicas take it, and drop logins cached under the old one, within store.tenantRefreshMs${config.tenants.some((t) => t.id === tenant) ? ' (this tenant is in the configuration too: its password there wins at the next start)' : ''}`);
  return 0;
}

export async function tenantList(config: Config, values: { json?: boolean }, io: Io): Promise<number> {
  const tenants = await withService(config, (_svc, store) => store.listTenants());
  if (values.json) {
    // JSON Lines, one tenant a line; never the password hash or the wrapped key
    for (const t of tenants) io.out(JSON.stringify({ id: t.id, domains: t.domains, networks: t.networks, ...(t.username ? { username: t.username } : {}), createdAt: new Date(t.createdAt).toISOString() }));
    return 0;
  }
  for (const t of tenants) io.out(`${t.id}  domains: ${t.domains.join(', ')}${t.username ? `  login: ${t.username}` : ''}${t.networks.length ? `  networks: ${t.networks.join(', ')}` : ''}`);
  if (tenants.length === 0) io.out('no tenants');
  return 0;
}

/** One tenant as the abuse desk reads it: its rates per window and sender domain against the lines, its suspensions and suppressions. */
export async function tenantShow(config: Config, id: string, o: { json?: boolean }, io: Io): Promise<number> {
  const { rates } = config.feedback;
  const summary = await withService(config, async (_svc, store) => {
    if (!(await store.getTenant(id))) throw new UsageError(`no tenant "${id}"`);
    return tenantSummary(store, id, rates, Date.now());
  });
  const thresholds = { complaintRate: rates.complaints, hardBounceRate: rates.hardBounces };
  if (o.json) {
    io.out(JSON.stringify({ ...summary, minVolume: rates.minVolume, thresholds }));
    return 0;
  }
  const pct = (r: number | null, line: { warn: number; suspend: number }) => (r === null ? '-' : `${(r * 100).toFixed(3)}%${r >= line.suspend ? ' SUSPEND' : r >= line.warn ? ' warn' : ''}`);
  const row = (label: string, v: WindowVolume) =>
    `  ${label.padEnd(28)} ${String(v.delivered).padStart(10)} ${String(v.complaints).padStart(10)} ${pct(v.complaintRate, rates.complaints).padStart(16)} ${String(v.hardBounces).padStart(12)} ${pct(v.hardBounceRate, rates.hardBounces).padStart(16)}`;
  io.out(`${summary.id}  ${summary.activeSuspensions > 0 ? `SUSPENDED (${summary.activeSuspensions} open: mailwarden suspensions --tenant ${summary.id})` : 'sending'}`);
  io.out(`  domains: ${summary.domains.join(', ')}${summary.username ? `  login: ${summary.username}` : ''}${summary.networks.length ? `  networks: ${summary.networks.join(', ')}` : ''}  since ${summary.createdAt}; ${summary.suppressions} suppressed address(es)`);
  io.out(`  ${'window'.padEnd(28)} ${'deliveries'.padStart(10)} ${'complaints'.padStart(10)} ${'rate'.padStart(16)} ${'hard bounces'.padStart(12)} ${'rate'.padStart(16)}`);
  for (const [w, v] of Object.entries(summary.volume)) io.out(row(w, v));
  for (const [domain, windows] of Object.entries(summary.domainVolume)) for (const [w, v] of Object.entries(windows)) io.out(row(`${domain} ${w}`, v));
  const line = (t: { warn: number; suspend: number }) => `warn ${(t.warn * 100).toFixed(2)}%, suspend ${(t.suspend * 100).toFixed(2)}%`;
  io.out(`  lines: complaints ${line(rates.complaints)}; hard bounces ${line(rates.hardBounces)}; a rate counts from ${rates.minVolume} deliveries`);
  return 0;
}

export function describeError(err: unknown): string | null {
  if (err instanceof AdminError || err instanceof UsageError || err instanceof StoreIdentityMissingError || err instanceof StoreNotEmptyError || err instanceof MasterKeyMismatchError) return err.message;
  return null;
}
