// Feedback report records: what mailwarden kept of each complaint or bounce report it took
// in, and what it did about it. Plain data, no behaviour.
import type { TenantId } from './tenant.js';

/** The most any report may weigh; bigger input is refused before it is parsed. */
export const MAX_REPORT_BYTES = 10 * 1024 * 1024;

/** applied: something was suppressed; counted: attributed, only counted; the others changed nothing */
export type FeedbackOutcome = 'applied' | 'counted' | 'unattributed' | 'forged';

/** how the report was tied to a tenant: by a reference header that verified, or why not */
/**
 * verified: by a reference header that verified; message-id: no reference, but the reported
 * Message-ID is in exactly one tenant's accounting records; the others: not attributed.
 */
export type Attribution = 'verified' | 'message-id' | 'missing' | 'malformed' | 'unknown-tenant' | 'forged' | 'ambiguous' | 'assigned';

/** What the abuse desk decided about a report kept for review: given to a tenant, or dismissed; with why, by whom, when. */
export interface ReviewResolution {
  readonly action: 'assigned' | 'dismissed';
  /** assigned: the tenant, and the id of the record made in its scope */
  readonly tenant?: TenantId;
  readonly record?: string;
  readonly reason: string;
  readonly by: string;
  readonly at: number;
}

export interface FeedbackCounts {
  readonly complaints: number;
  readonly unsubscribes: number;
  readonly hardBounces: number;
  readonly softBounces: number;
  readonly policyBounces: number;
  /** other reports kept for review only, such as authentication-failure reports */
  readonly other: number;
  readonly suppressed: number;
}

export interface FeedbackRecord {
  /** F + time + random; sortable by time */
  readonly id: string;
  readonly receivedAt: number;
  readonly via: 'smtp' | 'http' | 'cli';
  readonly kind: 'complaint' | 'bounce';
  readonly outcome: FeedbackOutcome;
  readonly attribution: Attribution;
  /** the tenant it was attributed to; absent for reports kept for review */
  readonly tenant?: TenantId;
  /** the relay's transaction id of the reported message */
  readonly messageRef?: string;
  /** the reported message's envelope sender domain, from its reference */
  readonly senderDomain?: string;
  readonly feedbackTypes: readonly string[];
  /** per bounced recipient: status, action, verdict and the rule that decided it; no address */
  readonly bounces: ReadonlyArray<{ readonly status: string | null; readonly action: string | null; readonly verdict: string; readonly rule: string }>;
  readonly counts: FeedbackCounts;
  /** why a named recipient was not acted on, and what was odd about the report; no address */
  readonly notes: readonly string[];
  /** SHA-256 of the report as received: the same report taken in twice is acted on once */
  readonly sha256: string;
  /** the report itself (up to its first 256 KiB), AES-256-GCM under the tenant's key, or under the review key */
  readonly sealedReport: string;
  readonly truncated: boolean;
  /** when a data-subject erasure removed the report itself (sealedReport is then empty); its figures stay */
  readonly erasedAt?: number;
  /** a review record's: what the abuse desk decided; absent while it waits */
  readonly resolution?: ReviewResolution;
}

/** Deliveries and what came back about them, summed over a window. */
export interface VolumeCounts {
  /** recipients the upstream accepted */
  readonly delivered: number;
  readonly complaints: number;
  readonly hardBounces: number;
}

/** Where a record is kept: its tenant, or the review queue for reports attributed to none. */
export type FeedbackScope = TenantId | { readonly review: true };

export const REVIEW: FeedbackScope = Object.freeze({ review: true });

export function scopeOf(record: Pick<FeedbackRecord, 'tenant'>): FeedbackScope {
  return record.tenant ?? REVIEW;
}
