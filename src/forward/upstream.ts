// What the relay needs from wherever accepted mail goes next: open one transaction for an
// envelope, stream the message into it, learn the upstream's verdict. Two implementations:
// the SMTP upstream (nodemailer) and the development outbox.
import type { MessageBody } from './message-body.js';

export interface UpstreamEnvelope {
  /** '' for the null reverse-path */
  readonly from: string;
  readonly to: readonly string[];
  readonly eightBitMime: boolean;
  readonly smtpUtf8: boolean;
}

export interface RecipientRejection {
  readonly recipient: string;
  readonly code: number;
  readonly enhanced: string;
  /** the upstream's reply text with any address replaced by <address> */
  readonly text: string;
}

export interface DeliveryOutcome {
  readonly accepted: readonly string[];
  readonly rejected: readonly RecipientRejection[];
  /** the upstream's final reply, with any address replaced by <address> */
  readonly response: string;
}

export type UpstreamFailureKind = 'unavailable' | 'timeout' | 'tempfail' | 'permfail' | 'aborted';

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly reply?: { readonly code: number; readonly enhanced: string; readonly text: string },
    readonly rejected: readonly RecipientRejection[] = [],
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface UpstreamTransaction {
  /** the message goes here, byte for byte; end() it only when the client's DATA ended cleanly */
  readonly body: MessageBody;
  /** settles once the upstream answered for the whole message; rejects with UpstreamError */
  readonly result: Promise<DeliveryOutcome>;
  /** the message is incomplete or refused: the upstream must never deliver it */
  abort(): void;
}

/** How long the upstream takes, in seconds; observed by metrics. */
export interface UpstreamTimings {
  /** a new connection: TCP connect, greeting, EHLO and STARTTLS */
  connected(seconds: number): void;
  /** from the last byte of the message sent to the upstream's reply to the final dot */
  finalReply(seconds: number): void;
  /** from the envelope handed over to the final reply, for transactions the upstream answered */
  transaction(seconds: number): void;
}

export interface Upstream {
  begin(envelope: UpstreamEnvelope): UpstreamTransaction;
  close(): Promise<void>;
}

/** Splits "550 5.1.1 text" (or the text alone) into its code, enhanced code and text. */
export function parseReply(response: string, fallbackCode: number): { code: number; enhanced: string; text: string } {
  const firstLine = response.split(/\r?\n/).filter(Boolean).pop() ?? '';
  const m = /^(\d{3})[ -]?(?:([245]\.\d{1,3}\.\d{1,3})\s)?(.*)$/.exec(firstLine.trim());
  const code = m ? Number(m[1]) : fallbackCode;
  const cls = String(code)[0] ?? '4';
  const enhanced = m?.[2] ?? `${cls}.0.0`;
  return { code, enhanced, text: (m ? m[3] : firstLine)?.trim() ?? '' };
}
