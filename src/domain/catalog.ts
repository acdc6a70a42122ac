// The error catalog, one for SMTP and HTTP: every reason mailwarden refuses or defers
// something, with the stable id that log lines and the admin API's error bodies carry, the
// SMTP reply and enhanced status code (RFC 3463) where SMTP can meet it, and the HTTP status
// the admin API answers with. docs/errors.md documents each entry; test/unit/catalog.test.ts
// keeps the two in step.

export interface CatalogEntry {
  /** SMTP reply code */
  readonly smtp: number;
  /** RFC 3463 enhanced status code */
  readonly enhanced: string;
  /** HTTP status for the admin API */
  readonly http: number;
  /** reply text shown to the client; never carries an address or internal detail */
  readonly text: string;
}

/** an error only the admin API answers with: an HTTP status, no SMTP reply */
export interface ApiCatalogEntry {
  readonly http: number;
  readonly text: string;
}

const smtpCatalog = {
  AUTH_REQUIRED: { smtp: 530, enhanced: '5.7.0', http: 401, text: 'Authentication required' },
  AUTH_TLS_REQUIRED: { smtp: 530, enhanced: '5.7.0', http: 403, text: 'Must issue a STARTTLS command first' },
  AUTH_FAILED: { smtp: 535, enhanced: '5.7.8', http: 401, text: 'Authentication credentials invalid' },
  AUTH_TOO_MANY_FAILURES: { smtp: 421, enhanced: '4.7.0', http: 429, text: 'Too many failed authentication attempts, closing connection' },
  AUTH_UNAVAILABLE: { smtp: 454, enhanced: '4.7.0', http: 503, text: 'Temporary authentication failure' },
  AUTH_RATE_LIMITED: { smtp: 454, enhanced: '4.7.0', http: 429, text: 'Too many failed authentication attempts, try again later' },
  SENDER_DOMAIN_NOT_ALLOWED: { smtp: 550, enhanced: '5.7.1', http: 403, text: 'Sender domain not authorised for this account' },
  SENDER_SYNTAX: { smtp: 553, enhanced: '5.1.7', http: 400, text: 'Sender address syntax invalid' },
  RECIPIENT_SYNTAX: { smtp: 553, enhanced: '5.1.3', http: 400, text: 'Recipient address syntax invalid' },
  SMTPUTF8_REQUIRED: { smtp: 553, enhanced: '5.6.7', http: 400, text: 'Non-ASCII address requires SMTPUTF8' },
  SUSPENDED: { smtp: 550, enhanced: '5.7.1', http: 403, text: 'Sending suspended for this account; contact your provider with the reference' },
  SUPPRESSED: { smtp: 550, enhanced: '5.7.1', http: 409, text: 'Recipient is on your suppression list' },
  RATE_LIMITED: { smtp: 451, enhanced: '4.7.1', http: 429, text: 'Rate limit reached, try again later' },
  POLICY_UNAVAILABLE: { smtp: 451, enhanced: '4.3.0', http: 503, text: 'Policy check unavailable, try again later' },
  STORE_LOST: { smtp: 451, enhanced: '4.3.0', http: 503, text: 'Policy check unavailable, try again later' },
  PARAMETER_NOT_SUPPORTED: { smtp: 555, enhanced: '5.5.4', http: 400, text: 'MAIL FROM/RCPT TO parameter not recognized or not implemented' },
  TOO_MANY_RECIPIENTS: { smtp: 452, enhanced: '4.5.3', http: 400, text: 'Too many recipients' },
  MESSAGE_TOO_BIG: { smtp: 552, enhanced: '5.3.4', http: 413, text: 'Message size exceeds fixed maximum message size' },
  BARE_LINE_FEED: { smtp: 550, enhanced: '5.5.2', http: 400, text: 'Bare <LF> received; lines must end with <CR><LF>' },
  BARE_CARRIAGE_RETURN: { smtp: 550, enhanced: '5.5.2', http: 400, text: 'Bare <CR> received; lines must end with <CR><LF>' },
  LINE_TOO_LONG: { smtp: 554, enhanced: '5.6.0', http: 400, text: 'Message line longer than 998 octets (RFC 5321); lines must be folded or encoded' },
  NUL_IN_DATA: { smtp: 550, enhanced: '5.6.0', http: 400, text: 'NUL character in message data' },
  TOO_MANY_HEADERS: { smtp: 552, enhanced: '5.3.4', http: 400, text: 'Too many header fields' },
  TOO_MANY_HOPS: { smtp: 554, enhanced: '5.4.6', http: 400, text: 'Too many hops (Received header fields); possible mail loop' },
  TOO_MANY_CONNECTIONS: { smtp: 421, enhanced: '4.7.0', http: 429, text: 'Too many connections from your address, try again later' },
  SESSION_TIME_EXCEEDED: { smtp: 421, enhanced: '4.4.2', http: 408, text: 'Session time limit reached, closing connection' },
  SHUTTING_DOWN: { smtp: 421, enhanced: '4.3.2', http: 503, text: 'Service shutting down, try again later' },
  UPSTREAM_UNAVAILABLE: { smtp: 451, enhanced: '4.4.1', http: 503, text: 'Upstream not reachable, try again later' },
  UPSTREAM_TIMEOUT: { smtp: 451, enhanced: '4.4.2', http: 504, text: 'Upstream did not answer in time, try again later' },
  UPSTREAM_TEMPFAIL: { smtp: 451, enhanced: '4.4.0', http: 503, text: 'Upstream deferred the message, try again later' },
  UPSTREAM_REJECTED: { smtp: 550, enhanced: '5.0.0', http: 502, text: 'Upstream rejected the message' },
  ACCOUNTING_UNAVAILABLE: { smtp: 452, enhanced: '4.3.1', http: 507, text: 'Insufficient system storage, try again later' },
  NOT_A_REPORT: { smtp: 554, enhanced: '5.6.0', http: 422, text: 'Not a complaint (ARF) or bounce (DSN) report' },
  FEEDBACK_UNAVAILABLE: { smtp: 451, enhanced: '4.3.0', http: 503, text: 'Report could not be recorded, try again later' },
  LOCAL_ERROR: { smtp: 451, enhanced: '4.3.0', http: 500, text: 'Local error in processing, try again later' },
} as const satisfies Record<string, CatalogEntry>;

const apiCatalog = {
  INVALID_INPUT: { http: 400, text: 'The request is not valid; problems[] names each field' },
  UNAUTHENTICATED: { http: 401, text: 'A valid bearer token is required' },
  FORBIDDEN: { http: 403, text: 'The token\'s role may not do this' },
  NOT_FOUND: { http: 404, text: 'No such resource' },
  METHOD_NOT_ALLOWED: { http: 405, text: 'The method is not allowed on this resource' },
  TOO_LARGE: { http: 413, text: 'The request body is too large' },
  ALREADY_DECIDED: { http: 409, text: 'The report was assigned or dismissed before' },
  UNAVAILABLE: { http: 503, text: 'The store did not answer; nothing was changed' },
  OFFBOARD_FAILED: { http: 500, text: 'Offboarding stopped part-way' },
  INTERNAL: { http: 500, text: 'Internal error' },
} as const satisfies Record<string, ApiCatalogEntry>;

/** every entry: the SMTP reasons, and the errors only the admin API answers with */
export const catalog: Readonly<Record<ReasonId, CatalogEntry> & Record<ApiErrorId, ApiCatalogEntry>> = { ...smtpCatalog, ...apiCatalog };

/** a reason an SMTP reply (and a log line) can carry */
export type ReasonId = keyof typeof smtpCatalog;
/** an error of the admin API that SMTP never answers with */
export type ApiErrorId = keyof typeof apiCatalog;
/** every id of the catalog: what the admin API's error bodies carry as `error` */
export type ErrorId = ReasonId | ApiErrorId;

export function isReasonId(value: string): value is ReasonId {
  return Object.hasOwn(smtpCatalog, value);
}
