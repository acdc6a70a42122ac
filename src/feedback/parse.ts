// Reads a complaint (ARF, RFC 5965) or bounce (DSN, RFC 3464 / RFC 6533) report into plain
// data. mailparser reads the report's own header fields and its human-readable text; a MIME
// walk (mailsplit) finds the report parts mailparser does not read (message/feedback-report,
// message/delivery-status, message/global-delivery-status, text/rfc822-headers, and the
// header fields of an enclosed message/rfc822), which are read here as header-field blocks. Reports that
// are not quite standard are common, so each step has a fallback: a report block found in
// the text of a message whose MIME structure is broken, Postfix's plain-text bounces, the
// complaint forwards some providers send instead of ARF, and one-click unsubscribe mail.
// Nothing here throws on bad input: a message that is no report comes back as kind 'unknown'
// with the reason.
import type { MailParserOptions } from 'mailparser';
import { walkMime, type MimePart } from './mime.js';
import { MAX_REPORT_BYTES } from '../domain/feedback.js';
import { all, first, parseFieldGroups, splitLines, statusIn, typedAddress, typedText, type FieldGroup } from './fields.js';

export const REFERENCE_HEADER = 'X-Mailwarden-Ref';

export interface Complaint {
  /** lower-cased: abuse, fraud, virus, other, not-spam, opt-out, auth-failure, ... */
  readonly feedbackType: string;
  /** the complaining recipient(s) as the report names them, unless redacted */
  readonly recipients: readonly string[];
  /** the report hides the recipient (Redacted-Address, or an address that says "redacted") */
  readonly redacted: boolean;
  readonly userAgent: string | null;
  readonly sourceIp: string | null;
  readonly arrivalDate: string | null;
  readonly reportedDomain: string | null;
  /** which fallback found it, when the report is not ARF: hotmail-forward, apple-unsubscribe, text */
  readonly variant?: string;
  /** the message this complaint is about: the enclosed copy that follows its feedback-report part */
  readonly original: OriginalMessage | null;
}

export interface BounceRecipient {
  readonly recipient: string | null;
  readonly originalRecipient: string | null;
  /** lower-cased: failed, delayed, delivered, relayed, expanded */
  readonly action: string | null;
  /** RFC 3463 status, e.g. "5.1.1"; from the Status field, else from the diagnostic text */
  readonly status: string | null;
  readonly diagnostic: { readonly type: string | null; readonly text: string } | null;
  readonly remoteMta: string | null;
  /** for a report about one recipient: the lines of its human-readable part that say what failed */
  readonly explanation?: string | null;
}

/** What the report says about the message it is about. Holds a recipient address: never log it. */
export interface OriginalMessage {
  readonly messageId: string | null;
  /** mailwarden's reference token, whitespace removed; null when the copy has none */
  readonly reference: string | null;
  readonly from: string | null;
  readonly to: string | null;
  /** the Hotmail forward's X-HmXmrOriginalRecipient */
  readonly hotmailRecipient: string | null;
}

export interface ParsedReport {
  readonly kind: 'complaint' | 'bounce' | 'unknown';
  /** the report's own Message-ID */
  readonly messageId: string | null;
  readonly reporter: string | null;
  readonly complaints: readonly Complaint[];
  readonly bounces: readonly BounceRecipient[];
  readonly original: OriginalMessage | null;
  /** why a message is kind 'unknown', or what was odd about one that was read anyway */
  readonly notes: readonly string[];
}

// mailparser and its dependencies weigh some 20 MB: loaded with the first report, not with the relay
let mailparserModule: Promise<typeof import('mailparser')> | undefined;
const loadMailparser = () => (mailparserModule ??= import('mailparser'));

// keepDeliveryStatus (missing from @types/mailparser): delivery-status parts stay parts
// instead of being merged into the text
const PARSER_OPTIONS: MailParserOptions & { keepDeliveryStatus: boolean } = {
  keepDeliveryStatus: true,
  skipHtmlToText: true,
  skipTextLinks: true,
  skipImageLinks: true,
  skipTextToHtml: true,
};


export async function parseReport(raw: Buffer): Promise<ParsedReport> {
  if (raw.length === 0) return unknown(['empty input']);
  if (raw.length > MAX_REPORT_BYTES) return unknown([`larger than ${MAX_REPORT_BYTES} bytes`]);
  // one line ending for everything below; the bytes of each line stay as they were
  const normalised = Buffer.from(raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
  let mail;
  let parts: MimePart[];
  try {
    const { simpleParser } = await loadMailparser();
    [mail, parts] = await Promise.all([simpleParser(normalised, PARSER_OPTIONS), walkMime(normalised)]);
  } catch (err) {
    return unknown([`not a readable message: ${(err as Error).message}`]);
  }
  if (mail.headers.size === 0) return unknown(['no header fields: not a mail message']);

  const notes: string[] = [];
  const headerText = (name: string) => {
    const v = mail.headers.get(name);
    return typeof v === 'string' ? v : null;
  };
  const messageId = mail.messageId ?? null;
  const reporter = mail.from?.value[0]?.address ?? null;
  const text = mail.text ?? '';
  // what a person would read: the text part, or the whole body when the MIME tree is broken
  const readable = text.trim() ? text : bodyOf(normalised);

  const original = originalAfter(parts, -1, parts.length);

  // complaints: ARF parts first, each with the enclosed copy that follows it (a digest holds
  // several); a Feedback-Type block in the text; then the non-ARF variants
  const reportIndexes = parts.flatMap((p, i) => (isType(p, 'message/feedback-report') ? [i] : []));
  let complaints: Complaint[] = reportIndexes.map((at, k) => ({
    ...complaintFrom(parseFieldGroups(decode(parts[at]!))[0]),
    original: originalAfter(parts, at, reportIndexes[k + 1] ?? parts.length),
  }));
  if (complaints.length === 0 && /^Feedback-Type:/im.test(text)) {
    const group = parseFieldGroups(text).find((g) => g.has('feedback-type'));
    if (group) complaints = [{ ...complaintFrom(group), variant: 'text', original }];
  }
  if (complaints.length === 0 && original?.hotmailRecipient) {
    const c = { feedbackType: 'abuse', recipients: [original.hotmailRecipient], redacted: false, userAgent: null, sourceIp: null, arrivalDate: null, reportedDomain: null };
    complaints = [{ ...c, variant: 'hotmail-forward', original }];
  }
  if (complaints.length === 0 && /^true$/i.test(headerText('x-apple-unsubscribe') ?? '')) {
    const c = { feedbackType: 'opt-out', recipients: reporter ? [reporter] : [], redacted: false, userAgent: 'Apple Mail', sourceIp: null, arrivalDate: null, reportedDomain: null };
    complaints = [{ ...c, variant: 'apple-unsubscribe', original }];
  }
  if (complaints.length > 0) return { kind: 'complaint', messageId, reporter, complaints, bounces: [], original, notes };

  // bounces: delivery-status parts; a status block in the text of a broken MIME tree; Postfix's text
  const statusParts = parts.filter((p) => isType(p, 'message/delivery-status') || isType(p, 'message/global-delivery-status'));
  let bounces = statusParts.flatMap((p) => recipientsFrom(parseFieldGroups(decode(p))));
  if (bounces.length === 0) {
    bounces = recipientsFrom(parseFieldGroups(readable));
    if (bounces.length > 0) notes.push('delivery status fields found in the text, not in a message/delivery-status part');
  }
  if (bounces.length === 0) {
    bounces = postfixText(readable);
    if (bounces.length > 0) notes.push('read from the human-readable text of the bounce');
  }
  // one recipient: what the human-readable part says is about it too
  if (bounces.length === 1) bounces = [{ ...bounces[0]!, explanation: transcript(readable) || null }];
  if (bounces.length > 0) return { kind: 'bounce', messageId, reporter, complaints: [], bounces, original, notes };

  const contentType = mail.headers.get('content-type') as { value?: string } | undefined;
  return unknown([`neither a complaint nor a bounce report (content type ${contentType?.value ?? 'none'}, no feedback or delivery status fields)`], messageId, reporter, original);
}

function unknown(notes: string[], messageId: string | null = null, reporter: string | null = null, original: OriginalMessage | null = null): ParsedReport {
  return { kind: 'unknown', messageId, reporter, complaints: [], bounces: [], original, notes };
}

function isType(part: MimePart, type: string): boolean {
  return part.contentType === type;
}

function decode(part: MimePart): string {
  return part.body.toString('utf8');
}

function bodyOf(message: Buffer): string {
  const text = message.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  return end >= 0 ? text.slice(end + 4) : '';
}

function isRedacted(address: string): boolean {
  return /redacted/i.test(address) || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address);
}

function complaintFrom(group: FieldGroup | undefined): Omit<Complaint, 'original'> {
  const named = [...all(group, 'original-rcpt-to'), ...all(group, 'removal-recipient')].map((v) => typedAddress(v)).filter((a): a is string => a !== null);
  const redacted = all(group, 'redacted-address').length > 0 || named.some(isRedacted);
  return {
    feedbackType: (first(group, 'feedback-type') ?? 'other').toLowerCase(),
    recipients: named.filter((a) => !isRedacted(a)),
    redacted,
    userAgent: first(group, 'user-agent'),
    sourceIp: first(group, 'source-ip'),
    arrivalDate: first(group, 'arrival-date') ?? first(group, 'received-date'),
    reportedDomain: first(group, 'reported-domain'),
  };
}

function recipientsFrom(groups: FieldGroup[]): BounceRecipient[] {
  return groups
    .filter((g) => g.has('final-recipient') || (g.has('action') && g.has('status')))
    .map((g) => {
      const diagnostic = typedText(first(g, 'diagnostic-code'));
      const statusField = first(g, 'status');
      return {
        recipient: typedAddress(first(g, 'final-recipient')),
        originalRecipient: typedAddress(first(g, 'original-recipient')),
        action: first(g, 'action')?.toLowerCase().split(/\s/)[0] ?? null,
        status: statusIn(statusField) ?? statusIn(diagnostic?.text ?? null),
        diagnostic,
        remoteMta: typedAddress(first(g, 'remote-mta')),
      };
    });
}

/** Postfix without a delivery-status part: "<user@example.org>: host mx[192.0.2.1] said: 550 ..." */
function postfixText(text: string): BounceRecipient[] {
  const out: BounceRecipient[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const m = /^<([^<>\s]+@[^<>\s]+)>:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    let detail = m[2]!;
    while (i + 1 < lines.length && /^[ \t]+\S/.test(lines[i + 1]!)) detail += ` ${lines[++i]!.trim()}`;
    const reply = /\b([245])\d\d\b/.exec(detail.replace(/\[[^\]]*\]/g, ''));
    out.push({
      recipient: m[1]!,
      originalRecipient: null,
      action: 'failed',
      status: statusIn(detail) ?? (reply ? `${reply[1]}.0.0` : null),
      diagnostic: { type: 'text', text: detail.trim() },
      remoteMta: null,
    });
  }
  return out;
}

/** The lines of a bounce's human-readable part that say what went wrong (the transcript). */
function transcript(text: string): string {
  return splitLines(text)
    .filter((l) => /\b[245]\d\d\b|unknown|no such|not found|full|quota|space|storage|exceed|denied|refused|rejected|unavailable|unroute?able|lookups? failed|mx records? point/i.test(l))
    .map((l) => l.trim())
    .join(' ')
    .slice(0, 2000);
}

/** The first enclosed message between two part indexes: its own header block, or a part of header fields only. */
function originalAfter(parts: MimePart[], from: number, to: number): OriginalMessage | null {
  const range = parts.slice(from + 1, to);
  const enclosed = range.find((p) => p.parentType === 'message/rfc822' || p.parentType === 'message/global');
  const headersOnly = range.find((p) => /^(text\/rfc822-headers?|message\/global-headers)$/.test(p.contentType));
  const block = enclosed ? enclosed.headers : headersOnly ? decode(headersOnly) : null;
  if (block === null) return null;
  const end = block.search(/\r?\n\r?\n/);
  const group = parseFieldGroups(end >= 0 ? block.slice(0, end) : block)[0];
  if (!group) return null;
  const reference = first(group, REFERENCE_HEADER.toLowerCase());
  return {
    messageId: first(group, 'message-id'),
    reference: reference === null ? null : reference.replace(/\s+/g, ''),
    from: first(group, 'from'),
    to: first(group, 'to'),
    hotmailRecipient: first(group, 'x-hmxmroriginalrecipient'),
  };
}
