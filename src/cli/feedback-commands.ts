// The abuse desk's feedback commands: read a report without acting on it, take reports in
// from files, and look at what was taken in (also what was kept for review).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
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

export async function feedback(config: Config, args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const rules = FeedbackRules.load(config.feedback.rulesFile ?? BUNDLED_RULES);
  const master = loadMasterKey(config.keys, process.env).key;
  switch (sub) {
    case 'parse': {
      const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, allowPositionals: true });
      if (positionals.length === 0) throw new UsageError('feedback parse FILE... [--json]');
      return withService(config, async (svc, store) => {
        const intake = new FeedbackIntake({ rules, keyOf: (t) => svc.keyOf(t), store, suppress: async () => 0, master, now: Date.now });
        const described = [];
        for (const file of positionals) described.push({ file, ...describePlan(await intake.plan(readReport(file)), rules) });
        if (values.json) for (const d of described) io.out(JSON.stringify(d));
        else for (const d of described) io.out(summary(d));
        return 0;
      });
    }
    case 'ingest': {
      const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true });
      if (positionals.length === 0) throw new UsageError('feedback ingest FILE...');
      const reports = positionals.map((file) => ({ file, raw: readReport(file) }));
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
    case 'list': {
      const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' }, review: { type: 'boolean' }, limit: { type: 'string' }, json: { type: 'boolean' } } });
      const scope = scopeFrom(values);
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${values.limit}" is not a positive whole number`);
      const records = await withService(config, (_svc, store) => store.listFeedbackReports(scope, { limit }));
      if (values.json) for (const r of records) io.out(JSON.stringify(withoutReport(r)));
      else if (records.length === 0) io.out('no reports');
      else for (const r of records) io.out(recordLine(r));
      return 0;
    }
    case 'show': {
      const { values, positionals } = parseArgs({ args: rest, options: { tenant: { type: 'string' }, review: { type: 'boolean' }, report: { type: 'boolean' } }, allowPositionals: true });
      const id = positionals[0];
      if (!id) throw new UsageError('feedback show ID --tenant T|--review [--report]');
      const scope = scopeFrom(values);
      return withService(config, async (svc, store) => {
        const record = await store.getFeedbackReport(scope, id);
        if (!record) {
          io.err(`no report ${id} ${typeof scope === 'string' ? `for tenant ${scope}` : 'in the review queue'}`);
          return 1;
        }
        if (!values.report) {
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
    default:
      throw new UsageError('feedback parse|ingest|list|show ...');
  }
}

function scopeFrom(values: { tenant?: string; review?: boolean }): FeedbackScope {
  if (values.review && values.tenant) throw new UsageError('give --tenant T or --review, not both');
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
