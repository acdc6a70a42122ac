// The closed set of outcomes a policy stage or the relay can reach for one SMTP command.
// Only src/smtp/reply-table.ts turns a verdict into an SMTP reply line.
import type { ReasonId } from './catalog.js';

export type Verdict =
  | { readonly kind: 'accept' }
  | { readonly kind: 'reject'; readonly reason: ReasonId; readonly detail?: string };

export const ACCEPT: Verdict = Object.freeze({ kind: 'accept' });

export function reject(reason: ReasonId, detail?: string): Verdict {
  return detail === undefined ? { kind: 'reject', reason } : { kind: 'reject', reason, detail };
}
