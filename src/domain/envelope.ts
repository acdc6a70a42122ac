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

export interface Transaction {
  readonly sessionId: string;
  readonly tenant: Tenant;
  /** null for the null reverse-path <> */
  readonly sender: MailAddress | null;
}
