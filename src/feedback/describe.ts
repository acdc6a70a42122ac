// What a report says and what mailwarden would do with it, for people: addresses masked,
// addresses inside diagnostic texts replaced, everything else as read.
import { REVIEW } from '../domain/feedback.js';
import { redactAddresses } from '../smtp/address.js';
import type { FeedbackPlan } from './intake.js';
import { maskAddress } from './intake.js';
import type { FeedbackRules } from './classify.js';

export function describePlan(plan: FeedbackPlan, rules: FeedbackRules): Record<string, unknown> {
  const r = plan.report;
  const base = {
    kind: r.kind,
    reportMessageId: r.messageId,
    reporter: r.reporter,
    notes: r.notes,
  };
  if (plan.kind === 'rejected') return { ...base, action: 'reject', reason: plan.reason };
  return {
    ...base,
    complaints: r.complaints.map((c) => ({
      feedbackType: c.feedbackType,
      action: rules.complaint(c.feedbackType),
      ...(c.variant ? { variant: c.variant } : {}),
      redacted: c.redacted,
      namedRecipients: c.recipients.map(maskAddress),
      reportedMessageId: c.original?.messageId ?? null,
      hasReference: Boolean(c.original?.reference),
    })),
    bounces: r.bounces.map((b) => ({
      recipient: b.recipient ? maskAddress(b.recipient) : null,
      action: b.action,
      status: b.status,
      diagnostic: b.diagnostic ? { type: b.diagnostic.type, text: redactAddresses(b.diagnostic.text) } : null,
      ...rules.bounce(b),
    })),
    ...(r.kind === 'bounce' ? { reportedMessageId: r.original?.messageId ?? null, hasReference: Boolean(r.original?.reference) } : {}),
    wouldDo: plan.scopes.map((s) => ({
      ...(s.scope === REVIEW || typeof s.scope !== 'string' ? { keptForReview: true } : { tenant: s.scope }),
      attribution: s.attribution,
      messageRefs: s.messageRefs,
      outcome: s.outcome,
      counts: s.counts,
      suppress: s.suppress.map((x) => ('address' in x ? { address: maskAddress(x.address), reason: x.reason } : { pseudonym: x.p, domain: x.d, reason: x.reason })),
      notes: s.notes,
    })),
  };
}
