// From a raw report to what it changes: parse it, attribute each complaint or bounced
// recipient to a tenant by the reference header in the reported copy, decide by the rule
// file, then suppress and keep a record. A report whose reference is missing or does not
// verify changes nothing: it is kept, encrypted, for the abuse desk's review. An address is
// suppressed only when the verified reference shows the message was sent to it, so a report
// cannot make mailwarden suppress an address it chose; and only in the tenant that sent it.
import { createHash, randomBytes } from 'node:crypto';
import type { MasterKey, TenantKey } from '../crypto/keys.js';
import { REVIEW, type Attribution, type FeedbackCounts, type FeedbackOutcome, type FeedbackRecord, type FeedbackScope } from '../domain/feedback.js';
import type { SuppressionReason } from '../domain/policy.js';
import type { TenantId } from '../domain/tenant.js';
import { parseMailAddress } from '../domain/mailbox.js';
import type { AdminStore } from '../store/ports.js';
import type { FeedbackRules } from './classify.js';
import { parseReport, type OriginalMessage, type ParsedReport } from './parse.js';
import { verifyReference } from './reference.js';

/** how much of a report is kept for review */
const KEPT_BYTES = 256 * 1024;

export interface IntakeDeps {
  readonly rules: FeedbackRules;
  readonly keyOf: (tenant: TenantId) => Promise<TenantKey | null>;
  readonly store: Pick<AdminStore, 'addFeedbackReport' | 'findFeedbackReport' | 'getFeedbackReport' | 'resolveReviewReport' | 'getTenant'>;
  /** all or nothing, as the admin service does it */
  readonly suppress: (tenant: TenantId, inputs: Array<({ address: string } | { pseudonym: string }) & { reason: SuppressionReason; source: string }>) => Promise<number>;
  readonly master: MasterKey;
  readonly now: () => number;
  /** accounting records of relayed messages with this Message-ID, in every tenant (recent ones) */
  readonly findMessage?: (messageId: string) => Promise<MessageMatch[]>;
  /** after a new record of a tenant is kept: count it toward the tenant's rates, judge them, account for it; must not throw */
  readonly afterRecorded?: (record: FeedbackRecord, scope: ScopePlan) => Promise<void>;
}

type FindingType = 'complaint' | 'unsubscribe' | 'hard' | 'soft' | 'policy' | 'other' | 'ignore';

/** One complaint, or one bounced recipient, with what it means for its tenant. */
interface Finding {
  readonly attribution: Attribution;
  readonly tenant: TenantId | null;
  readonly messageRef: string | null;
  readonly senderDomain: string | null;
  readonly type: FindingType;
  readonly feedbackType?: string;
  readonly bounce?: FeedbackRecord['bounces'][number];
  /** whom to suppress: holds a recipient, never logged or stored in clear */
  readonly suppress: (Target & { readonly reason: SuppressionReason }) | null;
  /** the recipient the finding is about, when the attribution shows it; never logged or stored in clear */
  readonly recipient: Target | null;
  readonly note?: string;
}

/** A relayed message found in a tenant's accounting records by its Message-ID. */
export interface MessageMatch {
  readonly tenant: TenantId;
  readonly tx: string;
  readonly senderDomain: string | null;
  /** its recipients as the records have them: pseudonyms and domains */
  readonly recipients: ReadonlyArray<{ readonly p: string; readonly d: string }>;
}

/** The tenant and message a report is about, and the message's recipients. */
interface Who {
  readonly attribution: Attribution;
  readonly tenant: TenantId | null;
  readonly messageRef: string | null;
  readonly senderDomain: string | null;
  /** by the reference: the addresses */
  readonly recipients: readonly string[] | null;
  /** by Message-ID: the pseudonyms, and the key to compare named addresses with */
  readonly sent?: { readonly recipients: MessageMatch['recipients']; readonly key: TenantKey };
}

/** who a finding is about: an address, or only a pseudonym when the report hid the address */
type Target = { readonly address: string } | { readonly p: string; readonly d: string };

/** What one report would do in one scope (a tenant, or the review queue). */
export interface ScopePlan {
  readonly scope: FeedbackScope;
  readonly attribution: Attribution;
  readonly messageRefs: readonly string[];
  /** the sender domain of the first reported message that names one */
  readonly senderDomain: string | null;
  readonly outcome: FeedbackOutcome;
  readonly counts: FeedbackCounts;
  readonly feedbackTypes: readonly string[];
  readonly bounces: FeedbackRecord['bounces'];
  readonly suppress: ReadonlyArray<Target & { readonly reason: SuppressionReason }>;
  readonly notes: readonly string[];
  /** what each complaint or bounced recipient was about, for the accounting records (holds addresses) */
  readonly findings: ReadonlyArray<Pick<Finding, 'type' | 'recipient' | 'feedbackType' | 'bounce' | 'messageRef'>>;
}

export type FeedbackPlan =
  | { readonly kind: 'rejected'; readonly report: ParsedReport; readonly reason: string }
  | { readonly kind: 'report'; readonly report: ParsedReport; readonly scopes: readonly ScopePlan[] };

export interface IntakeResult {
  readonly plan: FeedbackPlan;
  /** one per scope; `duplicate` when the same report had been taken in before and nothing was done again */
  readonly records: ReadonlyArray<{ readonly record: FeedbackRecord; readonly duplicate: boolean }>;
}

export class FeedbackIntake {
  readonly #deps: IntakeDeps;
  /** the classification rules; a configuration reload replaces them */
  rules: FeedbackRules;

  constructor(deps: IntakeDeps) {
    this.#deps = deps;
    this.rules = deps.rules;
  }

  /** What the report says and what taking it in would do, without doing it; `assignTo`: for that tenant, whatever it says. */
  async plan(raw: Buffer, assignTo?: TenantId): Promise<FeedbackPlan> {
    const report = await parseReport(raw);
    if (report.kind === 'unknown') return { kind: 'rejected', report, reason: report.notes.join('; ') };
    const domains = assignTo ? ((await this.#deps.store.getTenant(assignTo))?.domains ?? []) : [];
    const findings: Finding[] = [];
    if (report.kind === 'complaint') {
      for (const c of report.complaints) {
        const who = assignTo ? assigned(assignTo, domains, c.original) : await this.#attribute(c.original);
        const action = this.rules.complaint(c.feedbackType);
        const type: FindingType = action === 'complaint' ? 'complaint' : action === 'unsubscribe' ? 'unsubscribe' : action === 'count' ? 'other' : 'ignore';
        const reason: SuppressionReason | null = action === 'complaint' ? 'complaint' : action === 'unsubscribe' ? 'unsubscribe' : null;
        findings.push(...this.#findings(who, type, reason, c.recipients, { feedbackType: c.feedbackType }));
      }
    } else {
      const who = assignTo ? assigned(assignTo, domains, report.original) : await this.#attribute(report.original);
      for (const b of report.bounces) {
        const { verdict, rule } = this.rules.bounce(b);
        const named = [b.originalRecipient, b.recipient].filter((a): a is string => a !== null);
        const bounce = { status: b.status, action: b.action, verdict, rule };
        findings.push(...this.#findings(who, verdict, verdict === 'hard' ? 'hard-bounce' : null, named, { bounce }, true));
      }
    }
    return { kind: 'report', report, scopes: group(findings, report.notes) };
  }

  /**
   * A report kept for review given to a tenant by the abuse desk: taken in for that tenant
   * as if attributed to it (counted toward its rates; the recipients it names suppressed),
   * and the review record marked with the decision. Null when there is no such review
   * record; `resolved` false when it had been decided before (nothing is done again).
   */
  async assign(id: string, tenant: TenantId, decision: { reason: string; by: string }): Promise<{ review: FeedbackRecord; record: FeedbackRecord | null; resolved: boolean } | null> {
    const review = await this.#deps.store.getFeedbackReport(REVIEW, id);
    if (!review) return null;
    if (review.resolution) return { review, record: null, resolved: false };
    if (review.erasedAt !== undefined) throw new Error(`the text of report ${id} was erased: it cannot be taken in again`);
    const raw = this.#deps.master.openForReview(review.sealedReport);
    const note = `assigned from the review queue (${id}) by ${decision.by}: ${decision.reason}`;
    const { records } = await this.ingest(raw, review.via, { tenant, note });
    const record = records[0]?.record ?? null;
    const decided = await this.#deps.store.resolveReviewReport(id, { action: 'assigned', tenant, ...(record ? { record: record.id } : {}), reason: decision.reason, by: decision.by, at: this.#deps.now() });
    if (!decided) return null;
    return { review: decided.record, record, resolved: decided.resolved };
  }

  /** Takes a report in: suppresses what it calls for and keeps a record per scope. */
  async ingest(raw: Buffer, via: FeedbackRecord['via'], assignment?: { tenant: TenantId; note: string }): Promise<IntakeResult> {
    const plan = await this.plan(raw, assignment?.tenant);
    if (plan.kind === 'rejected') return { plan, records: [] };
    const sha256 = reportDigest(plan.report);
    const kept = raw.subarray(0, KEPT_BYTES);
    const records: Array<{ record: FeedbackRecord; duplicate: boolean }> = [];
    for (const scope of plan.scopes) {
      const before = await this.#deps.store.findFeedbackReport(scope.scope, sha256);
      if (before) {
        records.push({ record: before, duplicate: true });
        continue;
      }
      const now = this.#deps.now();
      const id = `F${now.toString(36).toUpperCase()}${randomBytes(4).toString('hex').toUpperCase()}`;
      const tenant = typeof scope.scope === 'string' ? scope.scope : undefined;
      const key = tenant ? await this.#deps.keyOf(tenant) : null;
      if (tenant && !key) throw new Error(`tenant ${tenant} has no key`);
      if (tenant && scope.suppress.length > 0) {
        await this.#deps.suppress(
          tenant,
          scope.suppress.map((s) => ({ ...('address' in s ? { address: s.address } : { pseudonym: s.p }), reason: s.reason, source: `feedback:${id}` })),
        );
      }
      const record: FeedbackRecord = {
        id,
        receivedAt: now,
        via,
        kind: plan.report.kind as FeedbackRecord['kind'],
        outcome: scope.outcome,
        attribution: scope.attribution,
        ...(tenant ? { tenant } : {}),
        ...(scope.messageRefs.length > 0 ? { messageRef: scope.messageRefs.join(' ') } : {}),
        ...(scope.senderDomain ? { senderDomain: scope.senderDomain } : {}),
        feedbackTypes: scope.feedbackTypes,
        bounces: scope.bounces,
        counts: scope.counts,
        notes: assignment ? [assignment.note, ...scope.notes] : scope.notes,
        sha256,
        sealedReport: key ? key.sealReport(kept) : this.#deps.master.sealForReview(kept),
        truncated: raw.length > KEPT_BYTES,
      };
      const added = await this.#deps.store.addFeedbackReport(record);
      records.push({ record, duplicate: !added });
      if (added && tenant) await this.#deps.afterRecorded?.(record, scope);
    }
    return { plan, records };
  }

  async #attribute(original: OriginalMessage | null): Promise<Who> {
    const none = { tenant: null, messageRef: null, senderDomain: null, recipients: null };
    if (!original?.reference) return this.#byMessageId(original);
    const m = /^1\.([a-z0-9][a-z0-9_-]{0,62})\./.exec(original.reference);
    const key = m ? await this.#deps.keyOf(m[1]!) : null;
    const check = verifyReference(original.reference, () => key);
    if (check.status !== 'verified') return { attribution: check.status, ...none };
    const r = check.reference;
    return { attribution: 'verified', tenant: r.tenant, messageRef: r.messageRef, senderDomain: r.senderDomain, recipients: r.recipients };
  }

  /** No reference: the reported Message-ID in exactly one tenant's accounting records. */
  async #byMessageId(original: OriginalMessage | null): Promise<Who> {
    const none = { tenant: null, messageRef: null, senderDomain: null, recipients: null };
    if (!original?.messageId || !this.#deps.findMessage) return { attribution: 'missing', ...none };
    const matches = await this.#deps.findMessage(original.messageId);
    const tenants = new Set(matches.map((m) => m.tenant));
    if (tenants.size === 0) return { attribution: 'missing', ...none };
    if (tenants.size > 1) return { attribution: 'ambiguous', ...none };
    const m = matches[0]!;
    const key = await this.#deps.keyOf(m.tenant);
    if (!key) return { attribution: 'missing', ...none };
    const recipients = [...new Map(matches.flatMap((x) => x.recipients).map((r) => [r.p, r])).values()];
    return { attribution: 'message-id', tenant: m.tenant, messageRef: m.tx, senderDomain: m.senderDomain, recipients: null, sent: { recipients, key } };
  }

  #findings(
    who: Who,
    type: FindingType,
    reason: SuppressionReason | null,
    named: readonly string[],
    extra: Pick<Finding, 'feedbackType' | 'bounce'>,
    singleTarget = false,
  ): Finding[] {
    const base = { attribution: who.attribution, tenant: who.tenant, messageRef: who.messageRef, senderDomain: who.senderDomain, type, ...extra };
    if (who.attribution !== 'verified' && who.attribution !== 'message-id' && who.attribution !== 'assigned') return [{ ...base, suppress: null, recipient: null }];
    // a report a person gave to the tenant: the recipients it names are the ones it is about
    const { found, note } = who.sent ? targetsByPseudonym(named, who.sent.recipients, who.sent.key) : targets(named, who.attribution === 'assigned' ? named : who.recipients);
    const chosen = singleTarget ? found.slice(0, 1) : found;
    if (chosen.length === 0) return [{ ...base, suppress: null, recipient: null, ...(note && reason !== null ? { note } : {}) }];
    return chosen.map((target, i) => ({ ...base, type: i === 0 ? type : 'ignore', recipient: target, suppress: reason === null ? null : { ...target, reason } }));
  }
}

/**
 * The attribution of a report the abuse desk gave to `tenant`: its sender domain is the
 * reported copy's From domain when that is one of the tenant's (so it counts toward that
 * domain's rates too), else none.
 */
function assigned(tenant: TenantId, domains: readonly string[], original: OriginalMessage | null): Who {
  // "News <news@acme.example>" or a bare address
  const from = original?.from ? parseMailAddress(/<([^<>]+)>/.exec(original.from)?.[1] ?? original.from.trim())?.domain : undefined;
  const senderDomain = from !== undefined && domains.includes(from) ? from : null;
  return { attribution: 'assigned', tenant, messageRef: null, senderDomain, recipients: null };
}

/** Which of the message's recipients a report is about; only ever one the reference carries. */
function targets(named: readonly string[], carried: readonly string[] | null): { found: Target[]; note?: string } {
  if (carried === null) {
    return { found: [], note: 'the message had too many recipients to carry them in its reference: the recipient cannot be verified, nothing suppressed' };
  }
  if (named.length === 0) {
    if (carried.length === 1) return { found: [{ address: carried[0]! }] };
    return { found: [], note: `the report hides the recipient and the message had ${carried.length}: nothing suppressed` };
  }
  const wanted = new Set(named.map((a) => parseMailAddress(a)?.matchForm).filter((f): f is string => f !== undefined));
  const addresses = carried.filter((a) => {
    const form = parseMailAddress(a)?.matchForm;
    return form !== undefined && wanted.has(form);
  });
  if (addresses.length === 0) return { found: [], note: 'the report names a recipient the message was not sent to: nothing suppressed' };
  return { found: addresses.map((address) => ({ address })) };
}

/** The same, for a message known only by its accounting records: recipients as pseudonyms. */
function targetsByPseudonym(named: readonly string[], sent: MessageMatch['recipients'], key: TenantKey): { found: Target[]; note?: string } {
  if (named.length === 0) {
    if (sent.length === 1) return { found: [{ p: sent[0]!.p, d: sent[0]!.d }] };
    return { found: [], note: `the report hides the recipient and the message had ${sent.length}: nothing suppressed` };
  }
  const pseudonyms = new Set(sent.map((r) => r.p));
  const found = named.flatMap((a) => {
    const parsed = parseMailAddress(a);
    return parsed && pseudonyms.has(key.pseudonym(parsed.matchForm)) ? [{ address: parsed.address }] : [];
  });
  if (found.length === 0) return { found: [], note: 'the report names a recipient the message was not sent to: nothing suppressed' };
  return { found };
}

function group(findings: readonly Finding[], reportNotes: readonly string[]): ScopePlan[] {
  const byScope = new Map<string, Finding[]>();
  for (const f of findings) {
    const k = f.tenant ?? '';
    byScope.set(k, [...(byScope.get(k) ?? []), f]);
  }
  return [...byScope.entries()].map(([k, fs]) => {
    const count = (t: FindingType) => fs.filter((f) => f.type === t).length;
    const suppress = fs.flatMap((f) => (f.suppress ? [f.suppress] : []));
    const attribution = k ? fs[0]!.attribution : (fs.find((f) => f.attribution === 'forged')?.attribution ?? fs[0]!.attribution);
    const outcome: FeedbackOutcome = k ? (suppress.length > 0 ? 'applied' : 'counted') : attribution === 'forged' ? 'forged' : 'unattributed';
    return {
      scope: k || REVIEW,
      attribution,
      messageRefs: [...new Set(fs.flatMap((f) => (f.messageRef ? [f.messageRef] : [])))],
      senderDomain: fs.find((f) => f.senderDomain)?.senderDomain ?? null,
      outcome,
      counts: {
        complaints: count('complaint'),
        unsubscribes: count('unsubscribe'),
        hardBounces: count('hard'),
        softBounces: count('soft'),
        policyBounces: count('policy'),
        other: count('other'),
        suppressed: suppress.length,
      },
      feedbackTypes: fs.flatMap((f) => (f.feedbackType ? [f.feedbackType] : [])),
      bounces: fs.flatMap((f) => (f.bounce ? [f.bounce] : [])),
      suppress,
      notes: [...new Set([...reportNotes, ...fs.flatMap((f) => (f.note ? [f.note] : []))])],
      findings: fs.map((f) => ({ type: f.type, recipient: f.recipient, feedbackType: f.feedbackType, bounce: f.bounce, messageRef: f.messageRef })),
    };
  });
}

/** "k***@example.org": enough for a person to recognise, not the address. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at <= 0 ? '***' : `${address[0]}***${address.slice(at)}`;
}

/**
 * What identifies a report whichever way it came (the feedback port, POST /api/v1/feedback, a
 * re-sent copy): a digest of what it says, as parsed. Trace fields the hops added, line
 * endings and transfer encodings do not change it; a report that says something else does.
 */
export function reportDigest(report: ParsedReport): string {
  const { kind, messageId, reporter, complaints, bounces, original } = report;
  return createHash('sha256').update(JSON.stringify({ kind, messageId, reporter, complaints, bounces, original })).digest('hex');
}
