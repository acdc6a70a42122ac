// The envelope of one SMTP transaction as policy sees it. Addresses stay in the SMTP layer
// and the forward path; policy gets the parts it decides on.
import type { Tenant } from './tenant.js';

export interface MailAddress {
  /** as the client sent it, with the domain converted to its A-label form */
  readonly address: string;
  readonly local: string;
  /** lower-case A-label form */
  readonly domain: string;
  /** the form suppression lists match on: local part lower-cased, domain in A-label form;
   * no stripping of +tags or dots */
  readonly matchForm: string;
}

/** an address as records and lookups carry it: the tenant's keyed pseudonym and the domain */
export interface PseudonymousAddress {
  /** the tenant's keyed pseudonym of the address in matching form */
  readonly p: string;
  /** its domain, A-label */
  readonly d: string;
}

/** A recipient the front accepted: parsed once, with the tenant's pseudonym of it. */
export interface Recipient {
  readonly mailbox: MailAddress;
  /** null when the tenant has no key (then nothing about it is accounted for) */
  readonly pseudonym: PseudonymousAddress | null;
}

/**
 * The envelope of one transaction, the one copy of it: opened by an accepted MAIL, grown by
 * each accepted RCPT, handed whole to the end of DATA, dropped by RSET.
 */
export interface Envelope {
  readonly sender: MailAddress | null;
  readonly recipients: Recipient[];
}

/** the recipients' addresses as forwarded */
export function forwardPaths(envelope: Envelope): string[] {
  return envelope.recipients.map((r) => r.mailbox.address);
}

export interface Transaction {
  readonly sessionId: string;
  readonly tenant: Tenant;
  /** null for the null reverse-path <> */
  readonly sender: MailAddress | null;
}
