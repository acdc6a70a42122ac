// Accounting records: one per recipient outcome, plus one per refused MAIL and per
// administrative action. JSON Lines, schema version 1; the schema only ever gains fields
// (docs/accounting.md has an annotated example of each type). Addresses appear only as the
// tenant's keyed pseudonyms with their domains; no message content, ever.

import type { PseudonymousAddress } from '../domain/envelope.js';

export type { PseudonymousAddress };

export const ACCOUNTING_SCHEMA_VERSION = 1 as const;

interface Common {
  readonly v: typeof ACCOUNTING_SCHEMA_VERSION;
  /** ISO 8601, UTC, milliseconds */
  readonly time: string;
  readonly tenant: string;
}

interface Transactional extends Common {
  /** the SMTP session id */
  readonly session: string;
  /** the relay's transaction id, as in its Received field and its 250 reply */
  readonly tx?: string;
  /** null for the null sender */
  readonly sender: PseudonymousAddress | null;
  /** the message's Message-ID header field, when DATA got that far and it has one */
  readonly messageId?: string;
  /** message size in bytes, when DATA got that far */
  readonly size?: number;
}

export interface RelayedRecord extends Transactional {
  readonly type: 'relayed';
  readonly recipient: PseudonymousAddress;
  /** the upstream's reply, addresses replaced by <address> */
  readonly upstream: { readonly code: number; readonly enhanced?: string; readonly text: string };
}

export interface RejectedRecord extends Transactional {
  readonly type: 'rejected';
  /** where it was refused: mail (no recipient then), rcpt, data */
  readonly stage: 'mail' | 'rcpt' | 'data';
  readonly recipient?: PseudonymousAddress;
  /** the error catalog id (docs/errors.md) */
  readonly reason: string;
  readonly code: number;
}

export interface DeferredRecord extends Transactional {
  readonly type: 'deferred';
  readonly recipient: PseudonymousAddress;
  readonly reason: string;
  readonly code: number;
  readonly enhanced?: string;
}

/** a bounce from a report has no session of its own: the transaction fields are those the report allowed to know */
export interface BouncedRecord extends Common, Partial<Omit<Transactional, keyof Common>> {
  readonly type: 'bounced';
  readonly recipient: PseudonymousAddress;
  /** upstream: refused at relay time (a DSN went to the sender); report: a bounce report about a relayed message */
  readonly via: 'upstream' | 'report';
  readonly code?: number;
  readonly enhanced?: string;
  /** for a report: hard, soft or policy, and the rule that decided */
  readonly verdict?: string;
  readonly rule?: string;
  readonly report?: string;
}

export interface ComplainedRecord extends Common {
  readonly type: 'complained';
  readonly recipient: PseudonymousAddress;
  readonly tx?: string;
  readonly feedbackType: string;
  /** the feedback record id */
  readonly report: string;
  /** what the complaint did: complaint, unsubscribe, other (counted only) */
  readonly action: string;
}

export interface AdminRecord extends Common {
  readonly type: 'admin';
  /** suspension.create, suspension.lift, suppression.add, ... */
  readonly action: string;
  readonly actor: string;
  readonly reason?: string;
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

export type AccountingRecord = RelayedRecord | RejectedRecord | DeferredRecord | BouncedRecord | ComplainedRecord | AdminRecord;

/** The Message-ID field of a header section, or undefined. */
export function messageIdOf(headers: string): string | undefined {
  const m = /^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(headers);
  const value = m?.[1]?.replace(/\s+/g, ' ').trim();
  return value ? value.slice(0, 998) : undefined;
}
