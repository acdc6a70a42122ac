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
import { audited, UsageError, withService, type Io } from './policy-commands.js';

function readReport(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function rulesAndKey(config: Config) {
  return { rules: FeedbackRules.load(config.feedback.rulesFile ?? BUNDLED_RULES), master: loadMasterKey(config.keys, process.env).key };
}

export async function feedbackParse(config: Config, files: string[], o: { json?: boolean }, io: Io): Promise<number> {
  const { rules, master } = rulesAndKey(config);
  return withService(config, async (svc, store) => {
    const intake = new FeedbackIntake({ rules, keyOf: (t) => svc.keyOf(t), store, suppress: async () => 0, master, now: Date.now });
    const described = [];
    for (const file of files) described.push({ file, ...describePlan(await intake.plan(readReport(file)), rules) });
    if (o.json) for (const d of described) io.out(JSON.stringify(d));
    else for (const d of described) io.out(summary(d));
    return 0;
  });
}

export async function feedbackIngest(config: Config, files: string[], io: Io): Promise<number> {
  const { master } = rulesAndKey(config);
  const reports = files.map((file) => ({ file, raw: readReport(file) }));
  return withService(config, async (svc, store, accountant, records) => {
    const log = createLogger('warn', process.stderr);
    const hostname = config.smtp.hostname ?? osHostname();
    const { upstream } = openUpstream(config, hostname, log);
    // a command waits for its notices: a short retry schedule instead of the relay's
    const cliConfig = { ...config, notifications: { ...config.notifications, retryDelaysMs: [1_000, 5_000] } };
    const { intake, notifier } = feedbackServices({ config: cliConfig, store, master, admin: svc, log, now: Date.now, sendMail: (to, raw) => sendOwnMessage(upstream, to, raw), env: process.env, hostname, accountant, records });
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
    await notifier.idle();
    await upstream.close();
    return refused > 0 ? 1 : 0;
  });
}

export async function feedbackList(config: Config, o: { tenant?: string; review?: boolean; limit: number; json?: boolean }, io: Io): Promise<number> {
  const scope = scopeFrom(o);
  const records = await withService(config, (_svc, store) => store.listFeedbackReports(scope, { limit: o.limit }));
  if (o.json) for (const r of records) io.out(JSON.stringify(withoutReport(r)));
  else if (records.length === 0) io.out('no reports');
  else for (const r of records) io.out(recordLine(r));
  return 0;
}

export async function feedbackShow(config: Config, id: string, o: { tenant?: string; review?: boolean; report?: boolean }, io: Io): Promise<number> {
  const scope = scopeFrom(o);
  const { master } = rulesAndKey(config);
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
  const where = r.tenant ? `tenant ${r.tenant}` : `review queue (${r.attribution})`;
  return `${r.id}  ${new Date(r.receivedAt).toISOString()}  ${r.kind}  ${r.outcome}  ${where}  ${found.join(', ') || 'nothing counted'}; ${c.suppressed} suppressed${r.notes.length ? `  [${r.notes.join('; ')}]` : ''}`;
}

function summary(d: Record<string, unknown>): string {
  if (d.action === 'reject') return `${String(d.file)}: not a report: ${String(d.reason)}`;
  const scopes = (d.wouldDo as Array<Record<string, unknown>>).map((s) => `${s.tenant ? `tenant ${String(s.tenant)}` : 'review queue'}: ${String(s.outcome)} (${String(s.attribution)}), suppress ${(s.suppress as unknown[]).length}`);
  return `${String(d.file)}: ${String(d.kind)}; ${scopes.join('; ')}`;
}
