// The abuse desk's feedback commands: read a report without acting on it, take reports in
// from files, and look at what was taken in (also what was kept for review).
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { loadMasterKey } from '../crypto/master-key-file.js';
import { REVIEW, type FeedbackRecord, type FeedbackScope } from '../domain/feedback.js';
import { BUNDLED_RULES, FeedbackRules } from '../feedback/classify.js';
import { describePlan } from '../feedback/describe.js';
import { FeedbackIntake } from '../feedback/intake.js';
import { feedbackServices } from '../feedback/services.js';
import { openUpstream, sendOwnMessage } from '../forward/open.js';
import { createLogger } from '../observability/logger.js';
import { hostname as osHostname } from 'node:os';
import { actorOf, audited, checked, UsageError, withService, type Io } from './policy-commands.js';
import { assignRequest, dismissRequest } from '../admin/schemas.js';
import { decisionText } from '../admin/views.js';
import { reportsPage } from '../admin/reports-page.js';

function readReport(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function masterKey(config: Config) {
  return loadMasterKey(config.keys, process.env).key;
}

export async function feedbackParse(config: Config, files: string[], o: { json?: boolean }, io: Io): Promise<number> {
  const rules = FeedbackRules.load(config.feedback.rulesFile ?? BUNDLED_RULES);
  const master = masterKey(config);
  return withService(config, async (svc, store) => {
    const intake = new FeedbackIntake({ rules, keyOf: (t) => svc.keyOf(t), store, suppress: async () => 0, master, now: Date.now });
    const described = [];
    for (const file of files) described.push({ file, ...describePlan(await intake.plan(readReport(file)), rules) });
    if (o.json) for (const d of described) io.out(JSON.stringify(d));
    else for (const d of described) io.out(summary(d));
    return 0;
  });
}

/** The intake as the relay runs it (counting, rate judgments, notices), for a command that takes reports in. */
async function withIntake<T>(config: Config, fn: (intake: FeedbackIntake) => Promise<T>): Promise<T> {
  const master = masterKey(config);
  return withService(config, async (svc, store, accountant, records) => {
    const log = createLogger('warn', process.stderr);
    const hostname = config.smtp.hostname ?? osHostname();
    const { upstream } = openUpstream(config, hostname, log);
    // a command waits for its notices: a short retry schedule instead of the relay's
    const cliConfig = { ...config, notifications: { ...config.notifications, retryDelaysMs: [1_000, 5_000] } };
    const { intake, notifier } = feedbackServices({ config: cliConfig, store, master, admin: svc, log, now: Date.now, sendMail: (to, raw) => sendOwnMessage(upstream, to, raw), env: process.env, hostname, accountant, records });
    try {
      return await fn(intake);
    } finally {
      await notifier.idle();
      await upstream.close();
    }
  });
}

export async function feedbackIngest(config: Config, files: string[], io: Io): Promise<number> {
  const reports = files.map((file) => ({ file, raw: readReport(file) }));
  return withIntake(config, async (intake) => {
    let refused = 0;
    for (const [i, { file, raw }] of reports.entries()) {
      const result = await audited(config, { action: 'feedback.ingest' }, () => intake.ingest(raw, 'cli'), (r) => ({
        file,
        records: r.records.map((x) => `${x.record.id}:${x.duplicate ? 'duplicate' : x.record.outcome}`).join(' ') || 'not a report',
      }));
      const where = `[${i + 1}/${reports.length}] ${file}`;
      if (result.plan.kind === 'rejected') {
        refused++;
        io.err(`${where}: not a report: ${result.plan.reason}`);
        continue;
      }
      for (const { record, duplicate } of result.records) io.out(`${where}: ${recordLine(record)}${duplicate ? ' (taken in before; nothing done again)' : ''}`);
    }
    return refused > 0 ? 1 : 0;
  });
}

/** A report of the review queue given to a tenant: taken in for it, the review record keeping the decision. */
export async function feedbackAssign(config: Config, id: string, o: { tenant: string; reason: string; actor?: string }, io: Io): Promise<number> {
  const { reason } = checked(assignRequest, { tenant: o.tenant, reason: o.reason }, { tenant: '--tenant', reason: '--reason' });
  const by = actorOf(o.actor);
  const done = await audited(
    config,
    { action: 'feedback.assign', tenant: o.tenant, reason, actor: o.actor },
    () =>
      withIntake(config, async (intake) => {
        const result = await intake.assign(id, o.tenant, { reason, by });
        if (!result) throw new UsageError(`no report ${id} in the review queue`);
        if (!result.resolved) throw new UsageError(decisionText(result.review));
        return result;
      }),
    (r) => ({ report: id, ...(r.record ? { record: r.record.id } : {}) }),
  );
  io.out(done.record ? `assigned ${id} to ${o.tenant}: ${recordLine(done.record)}` : `assigned ${id} to ${o.tenant} (it had been taken in for ${o.tenant} before)`);
  return 0;
}

export async function feedbackDismiss(config: Config, id: string, o: { reason: string; actor?: string }, io: Io): Promise<number> {
  const { reason } = checked(dismissRequest, { reason: o.reason }, { reason: '--reason' });
  await audited(
    config,
    { action: 'feedback.dismiss', reason, actor: o.actor },
    () =>
      withService(config, async (_svc, store) => {
        const result = await store.resolveReviewReport(id, { action: 'dismissed', reason, by: actorOf(o.actor), at: Date.now() });
        if (!result) throw new UsageError(`no report ${id} in the review queue`);
        if (!result.resolved) throw new UsageError(decisionText(result.record));
      }),
    () => ({ report: id }),
  );
  io.out(`dismissed ${id}`);
  return 0;
}

export async function feedbackList(config: Config, o: { tenant?: string; review?: boolean; open?: boolean; limit: number; json?: boolean }, io: Io): Promise<number> {
  const scope = scopeFrom(o);
  if (o.open && !o.review) throw new UsageError('--open goes with --review: only review records wait for a decision');
  const records = (await withService(config, (_svc, store) => reportsPage(store, scope, { limit: o.limit, open: o.open ?? false }))).list;
  if (o.json) for (const r of records) io.out(JSON.stringify(withoutReport(r)));
  else if (records.length === 0) io.out('no reports');
  else for (const r of records) io.out(recordLine(r));
  return 0;
}

export async function feedbackShow(config: Config, id: string, o: { tenant?: string; review?: boolean; report?: boolean }, io: Io): Promise<number> {
  const scope = scopeFrom(o);
  const master = masterKey(config);
  return withService(config, async (svc, store) => {
    const record = await store.getFeedbackReport(scope, id);
    if (!record) {
      io.err(`no report ${id} ${typeof scope === 'string' ? `for tenant ${scope}` : 'in the review queue'}`);
      return 1;
    }
    if (!o.report) {
      io.out(JSON.stringify(withoutReport(record), null, 2));
      return 0;
    }
    if (record.erasedAt !== undefined) {
      io.err(`the text of report ${id} was erased on ${new Date(record.erasedAt).toISOString()} (a data-subject erasure); its figures stay: run without --report`);
      return 1;
    }
    // the report as received: it names recipients, so it is shown, never written anywhere
    const key = typeof scope === 'string' ? await svc.keyOf(scope) : null;
    io.out((key ? key.openReport(record.sealedReport) : master.openForReview(record.sealedReport)).toString('utf8'));
    if (record.truncated) io.err('(only the first 256 KiB of this report were kept)');
    return 0;
  });
}

function scopeFrom(values: { tenant?: string; review?: boolean }): FeedbackScope {
  if (values.review) return REVIEW;
  if (!values.tenant) throw new UsageError('--tenant T or --review is required');
  return values.tenant;
}

/** a record as JSON for people and scripts: without the sealed report, times in ISO 8601 like every other listing */
function withoutReport(r: FeedbackRecord): Record<string, unknown> {
  const { sealedReport: _kept, receivedAt, erasedAt, ...rest } = r;
  return { ...rest, receivedAt: new Date(receivedAt).toISOString(), ...(erasedAt !== undefined ? { erasedAt: new Date(erasedAt).toISOString() } : {}) };
}

function recordLine(r: FeedbackRecord): string {
  const c = r.counts;
  const found = [
    c.complaints && `${c.complaints} complaint(s)`,
    c.unsubscribes && `${c.unsubscribes} unsubscribe(s)`,
    c.hardBounces && `${c.hardBounces} hard bounce(s)`,
    c.softBounces && `${c.softBounces} soft bounce(s)`,
    c.policyBounces && `${c.policyBounces} policy bounce(s)`,
    c.other && `${c.other} other`,
  ].filter(Boolean);
  const decided = r.resolution ? `, ${r.resolution.action}${r.resolution.tenant ? ` to ${r.resolution.tenant}` : ''}` : '';
  const where = r.tenant ? `tenant ${r.tenant}` : `review queue (${r.attribution}${decided})`;
  return `${r.id}  ${new Date(r.receivedAt).toISOString()}  ${r.kind}  ${r.outcome}  ${where}  ${found.join(', ') || 'nothing counted'}; ${c.suppressed} suppressed${r.notes.length ? `  [${r.notes.join('; ')}]` : ''}`;
}

function summary(d: Record<string, unknown>): string {
  if (d.action === 'reject') return `${String(d.file)}: not a report: ${String(d.reason)}`;
  const scopes = (d.wouldDo as Array<Record<string, unknown>>).map((s) => `${s.tenant ? `tenant ${String(s.tenant)}` : 'review queue'}: ${String(s.outcome)} (${String(s.attribution)}), suppress ${(s.suppress as unknown[]).length}`);
  return `${String(d.file)}: ${String(d.kind)}; ${scopes.join('; ')}`;
}
