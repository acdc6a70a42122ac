// The SMTP front: smtp-server wired to tenants, policy and the forward path. Every async
// hook is wrapped so that a rejection becomes a reply, never an unhandled error.
import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ReasonId } from '../domain/catalog.js';
import type { Tenant } from '../domain/tenant.js';
import { forwardPaths, type Envelope, type MailAddress } from '../domain/envelope.js';
import type { Policy } from '../policy/pipeline.js';
import type { AuthGuard } from '../policy/auth-guard.js';
import type { TenantId } from '../domain/tenant.js';
import type { TenantRegistry } from '../tenants/registry.js';
import { relayMessage } from '../forward/relay.js';
import { receivedHeader } from '../forward/trace.js';
import { referenceHeader } from '../feedback/reference.js';
import type { Accountant } from '../accounting/accountant.js';
import type { Acceptance } from '../accounting/writer.js';
import type { Upstream } from '../forward/upstream.js';
import { TransactionEnd, type TransactionEvents } from './transaction-end.js';
import type { DsnSender } from '../forward/dsn.js';
import { isAscii, parseMailAddress } from '../domain/mailbox.js';
import { replyFor, smtpError, verdictError, type Reply } from './reply-table.js';
import { ConnectionCaps, endSessionPastDeadline } from './connection-caps.js';
import { listenError } from '../observability/listen.js';
import type { DroppedBytes } from '../observability/young-gc.js';

export type { TransactionOutcome } from './transaction-end.js';

export type SmtpCommand = 'connect' | 'mail' | 'rcpt' | 'data';
export type ReplyClass = '2xx' | '4xx' | '5xx';

function replyClass(err: Error | null | undefined): ReplyClass {
  if (!err) return '2xx';
  const code = (err as { responseCode?: number }).responseCode ?? 451;
  return code >= 500 ? '5xx' : code >= 400 ? '4xx' : '2xx';
}

export interface FrontEvents extends TransactionEvents {
  sessionOpened(): void;
  sessionClosed(): void;
  /** MAIL refused because accounting cannot keep up */
  accountingRefused(): void;
  /** a connection or command the front refused by itself, before or besides the policy */
  refused(reason: ReasonId): void;
  /** the class of the reply to a connection (its greeting), MAIL, RCPT or the end of DATA */
  reply(command: SmtpCommand, replyClass: ReplyClass): void;
  /** AUTH, MAIL or RCPT refused because the store is not the store this relay knows */
  storeLost(command: 'auth' | 'mail' | 'rcpt'): void;
}

/** the limits each transaction reads when it starts: a configuration reload changes them */
export type TransactionLimits = Pick<Config['smtp']['limits'], 'maxRecipients' | 'maxMessageBytes' | 'maxLineLength' | 'maxHeaderFields' | 'maxHops'>;

export interface FrontDeps {
  readonly config: Config;
  readonly hostname: string;
  readonly tls: { readonly key: Buffer; readonly cert: Buffer };
  readonly tenants: TenantRegistry;
  readonly policy: Policy;
  readonly upstream: Upstream;
  readonly upstreamName: string;
  readonly dsn: DsnSender;
  readonly log: Logger;
  readonly now?: () => Date;
  /** turns outcomes into accounting records */
  readonly accountant?: Accountant;
  /** whether there is room to account for more mail; when not, MAIL gets 452 4.3.1 */
  readonly accepting?: () => Acceptance;
  /** for metrics: sessions and transactions as they happen; must not throw */
  readonly events?: FrontEvents;
  /** whether the upstream answered a transaction (true), or could not be reached or timed out (false) */
  readonly onUpstream?: (reached: boolean) => void;
  /** counts failed AUTHs across connections and replicas, and refuses them once spent */
  readonly authGuard?: AuthGuard;
  /** whether the store is the store this relay knows; while not, AUTH gets 454 4.7.0 and MAIL and RCPT 451 4.3.0 */
  readonly storeServing?: () => boolean;
  /** told of every chunk of DATA let go of, relayed or dropped (552 after 300 MB must not cost 300 MB) */
  readonly dropped?: DroppedBytes;
  /** after the upstream accepted a message: how many of its recipients, for complaint and bounce rates; must not throw */
  readonly onDelivered?: (tenant: TenantId, senderDomain: string | null, recipients: number) => void;
}

interface SessionState {
  /** bound to the session id, and to the tenant once it is known */
  readonly log: Logger;
  /** binds the session's log to its tenant */
  logTenant(id: TenantId): void;
  readonly ip: string;
  tenant: Tenant | null;
  /** the open transaction's envelope: set by an accepted MAIL, taken by DATA, dropped by RSET */
  envelope: Envelope | null;
  transactions: number;
  authFailures: number;
  timer?: NodeJS.Timeout;
}

type Callback = (err?: Error | null) => void;

/** failed AUTH attempts on one connection before it is closed */
const MAX_AUTH_FAILURES = 3;

export class SmtpFront {
  readonly server: SMTPServer;
  readonly #deps: FrontDeps;
  readonly #sessions = new Map<string, SessionState>();
  readonly #caps: ConnectionCaps;
  #inFlight = 0;
  #draining = false;
  /** what a finished transaction does; it also learns the upstream's recipient limit */
  readonly #end: TransactionEnd;
  /** aborted when the shutdown grace is over: transactions still in DATA are aborted */
  readonly #shutdown = new AbortController();
  #idleWaiters: Array<() => void> = [];
  #limits: TransactionLimits;

  constructor(deps: FrontDeps) {
    this.#deps = deps;
    const { smtp } = deps.config;
    this.#limits = smtp.limits;
    this.#caps = new ConnectionCaps(smtp.limits);
    this.#end = new TransactionEnd(deps);
    const options: SMTPServerOptions & { greetingDelay: number; onReset: (session: SMTPServerSession) => void } = {
      name: deps.hostname,
      banner: 'mailwarden',
      key: deps.tls.key,
      cert: deps.tls.cert,
      minVersion: smtp.tls.minVersion,
      authMethods: ['PLAIN', 'LOGIN'],
      // MAIL FROM decides: an authenticated tenant, a tenant by client network, or 530
      authOptional: true,
      allowInsecureAuth: false,
      size: smtp.limits.maxMessageBytes,
      rejectOversized: true,
      disableReverseLookup: true,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      maxCommandLength: smtp.limits.maxCommandLength,
      socketTimeout: smtp.limits.idleTimeoutMs,
      closeTimeout: Math.min(smtp.shutdownGraceMs, 5_000),
      greetingDelay: smtp.greetingDelayMs,
      // the client's own address from the load balancer's PROXY header: limits and tenant networks apply to it
      ...(smtp.proxyFrom.length > 0 ? { useProxy: [...smtp.proxyFrom] } : {}),
      logger: false,
      onConnect: (session, cb) => this.#guarded('connect', cb, () => this.#onConnect(session)),
      onAuth: (auth, session, cb) => this.#onAuth(auth, session, cb),
      onMailFrom: (address, session, cb) => this.#guarded('mail', cb, () => this.#onMailFrom(address, session)),
      onRcptTo: (address, session, cb) => this.#guarded('rcpt', cb, () => this.#onRcptTo(address, session)),
      onData: (stream, session, cb) =>
        this.#onData(stream, session, (err, message) => {
          deps.events?.reply('data', replyClass(err));
          cb(err, message);
        }),
      onClose: (session) => this.#onClose(session),
      onReset: (session) => this.#onReset(session),
    };
    this.server = new SMTPServer(options);
    this.server.on('error', (err: Error & { code?: string; syscall?: string }) => {
      // a listener that cannot listen is listen()'s to report, with the key and the address
      if (err.syscall === 'listen') return;
      deps.log.warn({ code: err.code ?? 'ERROR' }, 'smtp connection error');
    });
  }

  listen(): Promise<AddressInfo> {
    const { host, port } = this.#deps.config.smtp;
    return new Promise((resolve, reject) => {
      const failed = (err: Error) => reject(listenError('smtp.port', host, port, err));
      this.server.server.once('error', failed);
      this.server.listen(port, host, () => {
        this.server.server.removeListener('error', failed);
        resolve(this.server.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops taking mail (421 to new connections and new transactions) and lets transactions in
   * flight finish within the grace period. Then those still in DATA are aborted upstream
   * (nothing delivered, 421 to the client), and those whose DATA ended wait for the upstream's
   * final reply (at most upstream.timeouts.finalReplyMs): their outcome and records are in
   * before close resolves. Then the connections get 421 and the listener closes.
   */
  async close(): Promise<void> {
    this.#draining = true;
    const grace = this.#deps.config.smtp.shutdownGraceMs;
    if (this.#inFlight > 0) {
      this.#deps.log.info({ inFlight: this.#inFlight, graceMs: grace }, 'waiting for transactions in flight');
      const idle = this.#idle(grace);
      if (!(await idle)) {
        this.#deps.log.warn({ inFlight: this.#inFlight }, 'grace period over: transactions still in DATA aborted, those waiting for the upstream awaited');
        this.#shutdown.abort();
        await this.#idle(Infinity);
      }
    }
    for (const connection of this.server.connections) {
      (connection as unknown as { send(code: number, text: string): void }).send(421, `${replyFor('SHUTTING_DOWN').enhanced} ${replyFor('SHUTTING_DOWN').text}`);
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const state of this.#sessions.values()) clearTimeout(state.timer);
  }

  /** true once no transaction is in flight; false when `ms` passed first */
  #idle(ms: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = ms === Infinity ? undefined : setTimeout(() => resolve(false), ms);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** New transaction limits (a configuration reload): transactions already in DATA keep theirs. */
  reconfigure(limits: TransactionLimits): void {
    this.#limits = limits;
    // what EHLO advertises as SIZE, and what the DATA stream counts against
    (this.server as unknown as { options: { size: number } }).options.size = limits.maxMessageBytes;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #guarded(command: SmtpCommand, cb: Callback, fn: () => Promise<Error | null> | Error | null): void {
    const reply = (err: Error | null) => {
      this.#deps.events?.reply(command, replyClass(err));
      cb(err);
    };
    Promise.resolve()
      .then(fn)
      .then(reply, (err: unknown) => {
        this.#deps.log.error({ err }, 'smtp hook failed');
        reply(smtpError(replyFor('LOCAL_ERROR')));
      });
  }

  /** The reference header for feedback attribution; none when the tenant's key is missing. */
  #reference(state: SessionState, sender: MailAddress | null, to: readonly string[], txId: string, now: Date): string {
    const tenant = state.tenant!;
    const key = this.#deps.tenants.keyOf(tenant.id);
    if (!key) {
      state.log.warn({ tx: txId }, 'no tenant key: message relayed without a reference header; reports about it cannot be attributed');
      return '';
    }
    return referenceHeader(key, { tenant: tenant.id, messageRef: txId, sentAt: now.getTime(), senderDomain: sender?.domain ?? null, recipients: to });
  }

  #refuse(state: SessionState | undefined, reason: ReasonId, msg: string): Error {
    const reply = replyFor(reason);
    this.#deps.events?.refused(reason);
    state?.log.info({ reason, code: reply.code }, msg);
    return smtpError(reply);
  }

  #storeLost(state: SessionState, command: 'mail' | 'rcpt'): Error {
    this.#deps.events?.storeLost(command);
    return this.#refuse(state, 'STORE_LOST', `${command === 'mail' ? 'mail' : 'recipient'} deferred: the store is not the store this relay knows`);
  }

  #onConnect(session: SMTPServerSession): Error | null {
    const { limits } = this.#deps.config.smtp;
    const ip = session.remoteAddress;
    const log = lazyChild(this.#deps.log, { session: session.id });
    if (this.#draining) return this.#refuse(undefined, 'SHUTTING_DOWN', 'connection refused');
    if (!this.#caps.admit(ip)) {
      log.logger.warn({ ip, connections: this.#caps.count(ip) }, 'connection refused: too many connections');
      this.#deps.events?.refused('TOO_MANY_CONNECTIONS');
      return smtpError(replyFor('TOO_MANY_CONNECTIONS'));
    }
    this.#deps.events?.sessionOpened();
    const networkTenant = this.#deps.tenants.byNetwork(ip);
    if (networkTenant) log.bind('tenant', networkTenant.id);
    const state: SessionState = {
      get log() {
        return log.logger;
      },
      logTenant: (id) => log.bind('tenant', id),
      ip,
      tenant: networkTenant,
      envelope: null,
      transactions: 0,
      authFailures: 0,
    };
    state.timer = setTimeout(() => this.#expire(session.id), limits.sessionTimeoutMs);
    state.timer.unref();
    this.#sessions.set(session.id, state);
    if (this.#deps.log.isLevelEnabled('debug')) state.log.debug({ ip, tenant: state.tenant?.id }, 'connection opened');
    return null;
  }

  #expire(id: string): void {
    if (endSessionPastDeadline(this.server, id)) this.#sessions.get(id)?.log.info({ reason: 'SESSION_TIME_EXCEEDED' }, 'session closed: time limit');
  }

  #onClose(session: SMTPServerSession): void {
    const state = this.#sessions.get(session.id);
    if (!state) return;
    clearTimeout(state.timer);
    this.#sessions.delete(session.id);
    this.#deps.events?.sessionClosed();
    this.#caps.release(state.ip);
    state.log.debug({ transactions: state.transactions }, 'connection closed');
  }

  /** RSET, HELO, EHLO and the end of DATA end the transaction: its envelope is let go */
  #onReset(session: SMTPServerSession): void {
    const state = this.#sessions.get(session.id);
    if (state) state.envelope = null;
  }

  #onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, cb: (err: Error | null | undefined, response?: { user?: unknown }) => void): void {
    this.#authenticate(auth, session).then(
      (result) => (result instanceof Error ? cb(result) : cb(null, { user: result })),
      (err: unknown) => {
        this.#sessions.get(session.id)?.log.error({ err }, 'authentication error');
        cb(smtpError(replyFor('AUTH_UNAVAILABLE')));
      },
    );
  }

  /** the tenant id the login is for, or the refusal */
  async #authenticate(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<string | Error> {
    const state = this.#sessions.get(session.id);
    if (!session.secure) return this.#refuse(state, 'AUTH_TLS_REQUIRED', 'auth refused');
    // credentials checked against a lost store's tenants (or none) would be a 535 on its word
    if (this.#deps.storeServing?.() === false) {
      this.#deps.events?.storeLost('auth');
      state?.log.warn({ reason: 'STORE_LOST' }, 'auth deferred: the store is not the store this relay knows');
      return smtpError(replyFor('AUTH_UNAVAILABLE'));
    }
    const username = auth.username ?? '';
    const password = auth.password ?? '';
    const client = state?.ip ?? session.remoteAddress;
    const failed = async (): Promise<Error> => {
      await this.#deps.authGuard?.failed(client, username);
      const failures = state ? ++state.authFailures : MAX_AUTH_FAILURES;
      // a 421 makes smtp-server close the connection
      return this.#refuse(state, failures >= MAX_AUTH_FAILURES ? 'AUTH_TOO_MANY_FAILURES' : 'AUTH_FAILED', 'authentication failed');
    };
    // PLAIN's authorization identity is honoured only when it is the authentication identity
    // (or empty): nobody logs in as one tenant to act as another
    const { authzid, authcid } = auth as SMTPServerAuthentication & { authzid?: string; authcid?: string };
    if (authzid && authcid && authzid !== authcid) return failed();
    const gate = (await this.#deps.authGuard?.attempt(client, username)) ?? { kind: 'ok' as const };
    if (gate.kind === 'limited') return this.#refuse(state, 'AUTH_RATE_LIMITED', 'auth refused: too many failures');
    if (gate.kind === 'unavailable') return this.#refuse(state, 'AUTH_UNAVAILABLE', 'auth refused: failures cannot be counted');
    const tenant = await this.#deps.tenants.authenticate(username, password);
    if (!tenant) return failed();
    if (state) {
      state.tenant = tenant;
      state.logTenant(tenant.id);
    }
    state?.log.info({ method: auth.method }, 'authenticated');
    return tenant.id;
  }

  async #onMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<Error | null> {
    const state = this.#sessions.get(session.id);
    if (!state) return smtpError(replyFor('LOCAL_ERROR'));
    if (unsupportedParameter(address, MAIL_PARAMETERS)) return this.#refuse(state, 'PARAMETER_NOT_SUPPORTED', 'mail refused');
    if (this.#draining) return this.#refuse(state, 'SHUTTING_DOWN', 'transaction refused');
    if (this.#deps.storeServing?.() === false) return this.#storeLost(state, 'mail');
    // the tenant as the registry has it now: limits changed since AUTH (a reload, a refresh) apply to this transaction
    const tenant = state.tenant ? (this.#deps.tenants.get(state.tenant.id) ?? state.tenant) : null;
    if (!tenant) return this.#refuse(state, 'AUTH_REQUIRED', 'mail refused');
    state.tenant = tenant;
    const room = this.#deps.accepting?.() ?? 'ok';
    if (room !== 'ok') {
      state.log.warn({ why: room }, 'mail refused: accounting cannot keep up');
      this.#deps.events?.accountingRefused();
      return smtpError(replyFor('ACCOUNTING_UNAVAILABLE'));
    }
    state.envelope = null;
    let sender: MailAddress | null = null;
    // refused before the policy, and still accounted for: the tenant is known
    const refuse = (reason: ReasonId, parsed: MailAddress | null) => {
      this.#deps.accountant?.mailRefused({ tenant: tenant.id, session: session.id, sender: parsed }, reason, replyFor(reason).code);
      return this.#refuse(state, reason, 'mail refused');
    };
    if (address.address !== '') {
      sender = parseMailAddress(address.address);
      if (!sender) return refuse('SENDER_SYNTAX', null);
      if (!isAscii(sender.address) && !wantsSmtpUtf8(address)) return refuse('SMTPUTF8_REQUIRED', sender);
    }
    const verdict = await this.#deps.policy.mail({ sessionId: session.id, tenant, sender });
    const err = verdictError(verdict);
    if (err) {
      if (verdict.kind === 'reject' && verdict.reason === 'STORE_LOST') this.#deps.events?.storeLost('mail');
      state.log.info({ reason: verdict.kind === 'reject' ? verdict.reason : undefined, senderDomain: sender?.domain }, 'mail refused');
      if (verdict.kind === 'reject') this.#deps.accountant?.mailRefused({ tenant: tenant.id, session: session.id, sender }, verdict.reason, replyFor(verdict.reason).code);
      return err;
    }
    state.envelope = { sender, recipients: [] };
    return null;
  }

  /**
   * Recipients one transaction may have: ours, the upstream's configured limit, and what it
   * showed with a 452; past it the client's RCPT gets 452 4.5.3 and the client, not a DSN,
   * sends the rest in its next transaction.
   */
  #recipientLimit(): number {
    return Math.min(this.#limits.maxRecipients, this.#deps.config.upstream.maxRecipients ?? Infinity, this.#end.upstreamRecipientLimit);
  }

  async #onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<Error | null> {
    const state = this.#sessions.get(session.id);
    const envelope = state?.envelope;
    if (!state || !state.tenant || !envelope) return smtpError(replyFor('LOCAL_ERROR'));
    if (unsupportedParameter(address, RCPT_PARAMETERS)) return this.#refuse(state, 'PARAMETER_NOT_SUPPORTED', 'recipient refused');
    if (this.#deps.storeServing?.() === false) return this.#storeLost(state, 'rcpt');
    const rcpt = parseMailAddress(address.address);
    const facts = { tenant: state.tenant.id, session: session.id, sender: envelope.sender };
    const refuse = (reason: ReasonId) => {
      this.#deps.accountant?.recipientRefused(facts, rcpt, reason, replyFor(reason).code);
      return this.#refuse(state, reason, 'recipient refused');
    };
    if (envelope.recipients.length >= this.#recipientLimit()) return refuse('TOO_MANY_RECIPIENTS');
    if (!rcpt) return refuse('RECIPIENT_SYNTAX');
    if (!isAscii(rcpt.address) && !wantsSmtpUtf8(session.envelope.mailFrom || undefined)) return refuse('SMTPUTF8_REQUIRED');
    const pseudonym = this.#deps.tenants.keyOf(state.tenant.id)?.pseudonym(rcpt.matchForm) ?? null;
    const verdict = await this.#deps.policy.recipient({ sessionId: session.id, tenant: state.tenant, sender: envelope.sender }, rcpt, pseudonym);
    const err = verdictError(verdict);
    if (err) {
      if (verdict.kind === 'reject' && verdict.reason === 'STORE_LOST') this.#deps.events?.storeLost('rcpt');
      // the recipient is never logged, only why it was refused
      state.log.info({ reason: verdict.kind === 'reject' ? verdict.reason : undefined }, 'recipient refused');
      if (verdict.kind === 'reject') this.#deps.accountant?.recipientRefused(facts, rcpt, verdict.reason, replyFor(verdict.reason).code);
      return err;
    }
    envelope.recipients.push({ mailbox: rcpt, pseudonym: pseudonym ? { p: pseudonym, d: rcpt.domain } : null });
    return null;
  }

  #onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
    const state = this.#sessions.get(session.id);
    // the transaction takes its envelope: whatever the session does next cannot change it
    const envelope = state?.envelope;
    if (!state || !state.tenant || !envelope) {
      stream.resume();
      return cb(smtpError(replyFor('LOCAL_ERROR')));
    }
    state.envelope = null;
    this.#inFlight++;
    state.transactions++;
    const started = Date.now();
    const now = this.#deps.now?.() ?? new Date();
    const txId = `${session.id}.${state.transactions}`;
    const mailFrom = session.envelope.mailFrom || undefined;
    const smtpUtf8 = wantsSmtpUtf8(mailFrom);
    const limits = this.#limits;
    const to = forwardPaths(envelope);

    relayMessage({
      stream,
      upstream: this.#deps.upstream,
      envelope: {
        from: envelope.sender?.address ?? '',
        to,
        eightBitMime: String(mailFrom?.args && mailFrom.args.BODY).toUpperCase() === '8BITMIME',
        smtpUtf8,
      },
      prepend: receivedHeader({
        helo: session.hostNameAppearsAs,
        clientHostname: session.clientHostname,
        clientAddress: session.remoteAddress,
        byName: this.#deps.hostname,
        id: txId,
        secure: session.secure,
        authenticated: Boolean(session.user),
        smtpUtf8,
        date: now,
      }) + this.#reference(state, envelope.sender, to, txId, now),
      limits: { maxBytes: limits.maxMessageBytes, maxLineLength: limits.maxLineLength, maxHeaderFields: limits.maxHeaderFields, maxHops: limits.maxHops },
      shutdown: this.#shutdown.signal,
      ...(this.#deps.dropped ? { dropped: this.#deps.dropped } : {}),
    })
      .then((result) => {
        const end = this.#end.finish(
          { tenant: state.tenant!.id, session: session.id, tx: txId, envelope, startedMs: started, arrival: now, log: state.log },
          result,
        );
        return 'error' in end ? cb(end.error) : cb(null, end.message);
      })
      .catch((err: unknown) => {
        state.log.error({ err }, 'relay failed');
        cb(smtpError(replyFor('LOCAL_ERROR')));
      })
      .finally(() => {
        this.#inFlight--;
        if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
      });
  }


}

function wantsSmtpUtf8(mailFrom: SMTPServerAddress | undefined): boolean {
  return Boolean(mailFrom?.args && mailFrom.args.SMTPUTF8);
}

export type { Reply };

/**
 * A child logger made on first use: binding a pino child serialises its bindings, once per
 * connection, and at log level warn most sessions never log.
 */
function lazyChild(base: Logger, bindings: Record<string, string>): { readonly logger: Logger; bind(key: string, value: string): void } {
  let made: Logger | undefined;
  return {
    get logger() {
      return (made ??= base.child(bindings));
    },
    bind(key, value) {
      bindings[key] = value;
      made = undefined;
    },
  };
}

/**
 * The parameters of the extensions this listener offers: SIZE, 8BITMIME (BODY), SMTPUTF8, and
 * AUTH (RFC 4954 §5); DSN and REQUIRETLS are not offered, so RCPT takes none.
 */
const MAIL_PARAMETERS = new Set(['SIZE', 'BODY', 'SMTPUTF8', 'AUTH']);
const RCPT_PARAMETERS = new Set<string>();

function unsupportedParameter(address: SMTPServerAddress, known: ReadonlySet<string>): boolean {
  const args = address.args;
  if (!args || typeof args !== 'object') return false;
  return Object.keys(args).some((name) => !known.has(name.toUpperCase()));
}
