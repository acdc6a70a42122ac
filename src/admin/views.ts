// The JSON forms of records as the admin API answers with them and the CLI prints them with
// --json: times as ISO 8601, no sealed addresses, no internal fields.
import type { Suspension, SuppressionEntry } from '../domain/policy.js';
import type { FeedbackRecord } from '../domain/feedback.js';
import type { ApiToken } from '../domain/access.js';

export const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function suspensionJson(s: Suspension) {
  return { ...s, createdAt: iso(s.createdAt)!, expiresAt: iso(s.expiresAt), lifted: s.lifted && { ...s.lifted, at: iso(s.lifted.at)! } };
}

export function suppressionJson(e: SuppressionEntry) {
  return { pseudonym: e.pseudonym, reason: e.reason, source: e.source, createdAt: iso(e.createdAt)!, expiresAt: iso(e.expiresAt) };
}

export function feedbackJson(r: FeedbackRecord, duplicate?: boolean) {
  const { sealedReport: _kept, sha256: _sha, truncated: _t, resolution, ...rest } = r;
  return { ...rest, receivedAt: iso(r.receivedAt)!, ...(resolution ? { resolution: { ...resolution, at: iso(resolution.at)! } } : {}), ...(duplicate === undefined ? {} : { duplicate }) };
}

/** A report as its tenant sees it: what it says about the tenant's mail, without the provider's own notes and channels. */
export function tenantFeedbackJson(r: FeedbackRecord) {
  return {
    id: r.id,
    receivedAt: iso(r.receivedAt)!,
    kind: r.kind,
    outcome: r.outcome,
    feedbackTypes: r.feedbackTypes,
    bounces: r.bounces,
    counts: r.counts,
    ...(r.senderDomain ? { senderDomain: r.senderDomain } : {}),
    ...(r.messageRef ? { messageRef: r.messageRef } : {}),
    ...(r.erasedAt !== undefined ? { erasedAt: iso(r.erasedAt)! } : {}),
  };
}

/** a token as listings show it: never its secret or the secret's hash */
export function tokenJson(t: ApiToken) {
  return { id: t.id, role: t.role, tenant: t.tenant, name: t.name, createdAt: iso(t.createdAt)!, createdBy: t.createdBy, expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt) };
}

/** what was decided about a review record, in one sentence: "report F… was assigned to acme by … on …: reason" */
export function decisionText(r: FeedbackRecord): string {
  const d = r.resolution!;
  return `report ${r.id} was ${d.action}${d.tenant ? ` to ${d.tenant}` : ''} by ${d.by} on ${iso(d.at)}: ${d.reason}`;
}
