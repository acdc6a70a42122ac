// The one place that turns verdicts and upstream outcomes into SMTP replies. Every reply
// text opens with its RFC 3463 enhanced status code; smtp-server (patched) keeps it as is.
import type { SMTPServerError } from 'smtp-server';
import { catalog, type ReasonId } from '../domain/catalog.js';
import type { Verdict } from '../domain/verdict.js';
import type { DeliveryOutcome, UpstreamError } from '../forward/upstream.js';

export interface Reply {
  readonly code: number;
  readonly enhanced: string;
  readonly text: string;
  readonly reason: ReasonId | 'ACCEPTED';
}

export function replyFor(reason: ReasonId, detail?: string): Reply {
  const entry = catalog[reason];
  return { code: entry.smtp, enhanced: entry.enhanced, text: detail ? `${entry.text} (${detail})` : entry.text, reason };
}

/** The error smtp-server sends for a refused command: "<code> <enhanced> <text>". */
export function smtpError(reply: Reply): SMTPServerError & { reason: string } {
  const err = new Error(`${reply.enhanced} ${reply.text}`) as SMTPServerError & { reason: string };
  err.responseCode = reply.code;
  err.reason = reply.reason;
  return err;
}

export function verdictError(verdict: Verdict): (SMTPServerError & { reason: string }) | null {
  return verdict.kind === 'accept' ? null : smtpError(replyFor(verdict.reason, verdict.detail));
}

/** What the client hears when the upstream did not take the message. */
export function upstreamFailureReply(err: UpstreamError): Reply {
  switch (err.kind) {
    case 'permfail':
    case 'tempfail': {
      const base = catalog[err.kind === 'permfail' ? 'UPSTREAM_REJECTED' : 'UPSTREAM_TEMPFAIL'];
      // the upstream closing its channel (421, at its greeting or later) is the next hop's
      // trouble, not a reason to close the client's session: 451 4.4.0, the session kept
      if (err.reply?.code === 421) return { code: base.smtp, enhanced: base.enhanced, text: err.reply.text ? `${base.text}: ${err.reply.text}` : base.text, reason: 'UPSTREAM_TEMPFAIL' };
      const code = err.reply?.code ?? base.smtp;
      // the upstream's own code and enhanced code pass through; its text follows ours
      return {
        code,
        enhanced: err.reply?.enhanced ?? base.enhanced,
        text: err.reply?.text ? `${base.text}: ${err.reply.text}` : base.text,
        reason: err.kind === 'permfail' ? 'UPSTREAM_REJECTED' : 'UPSTREAM_TEMPFAIL',
      };
    }
    case 'timeout':
      return replyFor('UPSTREAM_TIMEOUT');
    case 'unavailable':
      return replyFor('UPSTREAM_UNAVAILABLE');
    default:
      return replyFor('LOCAL_ERROR');
  }
}

/** The 250 text after the upstream accepted the message. */
/**
 * The 250 text after the upstream took the message. When it refused some recipients, it says
 * so and what happens next: the sender will be notified (a DSN, sent after this reply), or,
 * for the null sender, to whom nothing is ever sent, nothing more.
 */
export function acceptedText(outcome: DeliveryOutcome, id: string, nullSender: boolean): string {
  const refused = outcome.rejected.length;
  if (refused === 0) return `2.0.0 Ok: queued as ${id}`;
  return `2.0.0 Ok: queued as ${id}; ${refused} recipient(s) refused by upstream${nullSender ? '' : ', the sender will be notified'}`;
}
