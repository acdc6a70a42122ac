// The JSON forms of records as the admin API answers with them and the CLI prints them with
// --json: times as ISO 8601, no sealed addresses, no internal fields.
import type { Suspension, SuppressionEntry } from '../domain/policy.js';
import type { FeedbackRecord } from '../domain/feedback.js';

export const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function suspensionJson(s: Suspension) {
  return { ...s, createdAt: iso(s.createdAt)!, expiresAt: iso(s.expiresAt), lifted: s.lifted && { ...s.lifted, at: iso(s.lifted.at)! } };
}

export function suppressionJson(e: SuppressionEntry) {
  return { pseudonym: e.pseudonym, reason: e.reason, source: e.source, createdAt: iso(e.createdAt)!, expiresAt: iso(e.expiresAt) };
}

export function feedbackJson(r: FeedbackRecord, duplicate?: boolean) {
  const { sealedReport: _kept, sha256: _sha, truncated: _t, ...rest } = r;
  return { ...rest, receivedAt: iso(r.receivedAt)!, ...(duplicate === undefined ? {} : { duplicate }) };
}
