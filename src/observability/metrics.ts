// Prometheus metrics on a registry the composition root owns (never prom-client's global
// one). Labels are bounded by construction: stages, verdict reasons from the error catalog,
// error kinds. Never an address, a recipient domain or a sender. Tenant labels only on counters
// and gauges, never on histograms, and capped at metrics.tenantLabelLimit.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CounterTallies, FastHistogram, type Tally } from './fast.js';
import type { FrontEvents } from '../smtp/front.js';
import type { Policy } from '../policy/pipeline.js';
import type { Verdict } from '../domain/verdict.js';
import type { StoreFailureKind } from '../store/ports.js';
import type { IntakeResult } from '../feedback/intake.js';
import type { RateDecision } from '../feedback/rates.js';
import type { UpstreamTimings } from '../forward/upstream.js';
import { SUSPENSION_SCOPES, type Suspension } from '../domain/policy.js';

interface TenantSeries {
  readonly label: string;
  readonly relayed: Tally;
  readonly refused: Tally;
  readonly deliveries: Tally;
  readonly complaints: Counter.Internal;
  readonly hardBounces: Counter.Internal;
}

export type PolicyStage = 'mail' | 'recipient';

export class Metrics {
  readonly registry = new Registry();

  readonly #verdictTallies = new CounterTallies<'stage' | 'verdict' | 'reason'>();
  readonly #transactionTallies = new CounterTallies<'outcome'>();
  readonly #replyTallies = new CounterTallies<'command' | 'class'>();
  readonly #tenantMessageTallies = new CounterTallies<'tenant' | 'outcome'>();
  readonly #tenantDeliveryTallies = new CounterTallies<'tenant'>();
  readonly #sessionTallies = new CounterTallies<never>();
  readonly #byteTallies = new CounterTallies<never>();

  readonly policyVerdicts: Counter<'stage' | 'verdict' | 'reason'> = new Counter({
    name: 'mailwarden_policy_verdicts_total',
    help: 'Policy verdicts for MAIL FROM (stage=mail) and RCPT TO (stage=recipient); reason is the error catalog id, "none" for an accept',
    labelNames: ['stage', 'verdict', 'reason'] as const,
    registers: [this.registry],
    collect: (): void => this.#verdictTallies.flushInto(this.policyVerdicts),
  });

  readonly policyDuration = new FastHistogram(
    'mailwarden_policy_duration_seconds',
    'Time to decide one MAIL FROM or RCPT TO, store round trip included',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    this.registry,
  );

  readonly storeErrors = new Counter({
    name: 'mailwarden_store_errors_total',
    help: 'Store questions that got no usable answer: kind=timeout (slower than store.deadlineMs), unavailable, write_refused (Redis out of memory or read-only)',
    labelNames: ['stage', 'kind'] as const,
    registers: [this.registry],
  });

  readonly rateLimitFallbacks = new Counter({
    name: 'mailwarden_rate_limit_fallback_total',
    help: 'Commands whose rate limits were decided by the per-process limiter because the store could not record them (store.rateLimitFallback)',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });

  readonly feedbackReports = new Counter({
    name: 'mailwarden_feedback_reports_total',
    help: 'Feedback reports taken in, per scope they were recorded in: kind complaint|bounce|unknown; outcome applied|counted|unattributed|forged|duplicate|rejected|error',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly feedbackFindings = new Counter({
    name: 'mailwarden_feedback_findings_total',
    help: 'What attributed reports said: type complaint|unsubscribe|hard_bounce|soft_bounce|policy_bounce|other|suppressed',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly rateActions = new Counter({
    name: 'mailwarden_feedback_rate_actions_total',
    help: 'Complaint or hard-bounce rates at or above a threshold: action warn|suspend, metric complaints|hardBounces, scope tenant|sender-domain',
    labelNames: ['action', 'metric', 'scope'] as const,
    registers: [this.registry],
  });

  readonly notices = new Counter({
    name: 'mailwarden_notices_total',
    help: 'Notices to abuse contacts by channel webhook|email and final outcome sent|failed',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly deliveryCountErrors = new Counter({
    name: 'mailwarden_delivery_count_errors_total',
    help: 'Deliveries (recipients) that could not be counted toward complaint and bounce rates (store failure)',
    registers: [this.registry],
  });

  readonly sessions: Counter = new Counter({ name: 'mailwarden_smtp_sessions_total', help: 'SMTP sessions accepted', registers: [this.registry], collect: (): void => this.#sessionTallies.flushInto(this.sessions) });

  readonly sessionsActive = new Gauge({ name: 'mailwarden_smtp_sessions_active', help: 'SMTP sessions open now', registers: [this.registry], aggregator: 'sum' });

  readonly frontRefusals = new Counter({
    name: 'mailwarden_smtp_refusals_total',
    help: 'Connections and commands the SMTP front refused by itself, by catalog reason: TOO_MANY_CONNECTIONS and SHUTTING_DOWN (connections), AUTH_FAILED, AUTH_REQUIRED, SENDER_SYNTAX, RECIPIENT_SYNTAX and the like; policy refusals are in mailwarden_policy_verdicts_total',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly replies: Counter<'command' | 'class'> = new Counter({
    name: 'mailwarden_smtp_replies_total',
    help: 'Replies the relay gave its clients by command (connect: the greeting or its refusal; mail; rcpt; data: the reply to the final dot) and class 2xx|4xx|5xx, whoever decided them: front, policy or upstream',
    labelNames: ['command', 'class'] as const,
    registers: [this.registry],
    collect: (): void => this.#replyTallies.flushInto(this.replies),
  });

  readonly transactions: Counter<'outcome'> = new Counter({
    name: 'mailwarden_transactions_total',
    help: 'DATA transactions by outcome: relayed, partly_refused (some recipients refused upstream; DSN sent), refused (by the DATA guard), upstream_failed, client_gone',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
    collect: (): void => this.#transactionTallies.flushInto(this.transactions),
  });

  readonly relayedBytes: Counter = new Counter({ name: 'mailwarden_relayed_bytes_total', help: 'Message bytes the upstream accepted', registers: [this.registry], collect: (): void => this.#byteTallies.flushInto(this.relayedBytes) });

  readonly transactionDuration = new FastHistogram(
    'mailwarden_transaction_duration_seconds',
    'From DATA to the reply to the final dot, upstream included',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    this.registry,
  );

  readonly upstreamErrors = new Counter({
    name: 'mailwarden_upstream_errors_total',
    help: 'Transactions the upstream could not take, by class: unavailable, timeout, tempfail, permfail, aborted',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly accountingRefusals = new Counter({
    name: 'mailwarden_accounting_refusals_total',
    help: 'MAIL commands refused with 452 4.3.1 because accounting records could not be written (buffer full or disk nearly full)',
    registers: [this.registry],
  });

  readonly accountingRecordsLost = new Counter({
    name: 'mailwarden_accounting_records_lost_total',
    help: 'Accounting records that reached the writer after it was closed and were not written; 0 unless a shutdown cut a transaction short',
    registers: [this.registry],
  });

  readonly auditSharedFailures = new Counter({
    name: 'mailwarden_audit_shared_failures_total',
    help: 'Audit lines the shared trail (Redis stream mw:audit) did not take; each is in the relay\'s audit log file',
    registers: [this.registry],
  });

  readonly accountingRecordsShipped = new Counter({
    name: 'mailwarden_accounting_records_shipped_total',
    help: 'Accounting records shipped from this replica\'s journal to PostgreSQL (accounting.kind: postgres)',
    registers: [this.registry],
  });

  /** set to read the journal's backlog at each scrape */
  journalBacklog: () => number = () => 0;

  readonly accountingJournalBacklog = new Gauge({
    name: 'mailwarden_accounting_journal_backlog_bytes',
    help: 'Bytes of accounting records in this replica\'s journal not yet shipped to PostgreSQL; grows while the database is away, drains when it is back (0 with accounting.kind: files)',
    registers: [this.registry],
    collect: () => {
      this.accountingJournalBacklog.set(this.journalBacklog());
    },
  });

  readonly tenantMessages: Counter<'tenant' | 'outcome'> = new Counter({
    name: 'mailwarden_tenant_messages_total',
    help: 'Messages per tenant by outcome (relayed, refused); tenants beyond metrics.tenantLabelLimit count as tenant="_other"',
    labelNames: ['tenant', 'outcome'] as const,
    registers: [this.registry],
    collect: (): void => this.#tenantMessageTallies.flushInto(this.tenantMessages),
  });

  readonly tenantDeliveries: Counter<'tenant'> = new Counter({
    name: 'mailwarden_tenant_deliveries_total',
    help: 'Recipients the upstream accepted, per tenant: the denominator of the complaint and hard-bounce rates',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
    collect: (): void => this.#tenantDeliveryTallies.flushInto(this.tenantDeliveries),
  });

  readonly tenantComplaints = new Counter({
    name: 'mailwarden_tenant_complaints_total',
    help: 'Attributed complaints per tenant; tenants beyond metrics.tenantLabelLimit count as tenant="_other"',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly tenantHardBounces = new Counter({
    name: 'mailwarden_tenant_hard_bounces_total',
    help: 'Hard bounces per tenant, from attributed bounce reports',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });

  readonly tenantSuspensions = new Gauge({
    name: 'mailwarden_tenant_suspensions_active',
    help: 'Active suspensions per tenant (of the whole tenant, a sender domain or a sender), as the store held them at the last refresh; the same on every replica',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });

  readonly suspensionsActive = new Gauge({
    name: 'mailwarden_suspensions_active',
    help: 'Active suspensions by scope (tenant, domain, sender) and source (manual, automatic), as the store held them at the last refresh; the same on every replica, so aggregate with max',
    labelNames: ['scope', 'source'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });

  readonly feedbackThreshold = new Gauge({
    name: 'mailwarden_feedback_threshold_ratio',
    help: 'Configured rate thresholds (feedback.rates): metric complaints|hardBounces, action warn|suspend',
    labelNames: ['metric', 'action'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });

  readonly feedbackMinVolume = new Gauge({
    name: 'mailwarden_feedback_min_volume',
    help: 'Deliveries a window needs before its rates are judged (feedback.rates.minVolume)',
    registers: [this.registry],
    aggregator: 'max',
  });

  readonly upstreamDuration = new FastHistogram(
    'mailwarden_upstream_duration_seconds',
    'Upstream latency by phase: connect (new connection: TCP, greeting, EHLO, STARTTLS), final_reply (last byte sent to the reply to the final dot), transaction (envelope to final reply)',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    this.registry,
  );

  readonly #tenants = new Map<string, TenantSeries>();
  /** the series every tenant beyond the label cap shares */
  #otherTenants: TenantSeries | undefined;
  #tenantLabelLimit = 1000;

  /** A tenant id as a label value: the first `tenantLabelLimit` seen keep their id, later ones share "_other". */
  tenantLabel(tenant: string): string {
    return this.#tenant(tenant).label;
  }

  /** the tenant's bound series, created at 0 the first time it is seen so that rate() counts its first message */
  #tenant(tenant: string): TenantSeries {
    const known = this.#tenants.get(tenant);
    if (known) return known;
    if (this.#tenants.size >= this.#tenantLabelLimit) return (this.#otherTenants ??= this.#series('_other'));
    const series = this.#series(tenant);
    this.#tenants.set(tenant, series);
    return series;
  }

  #series(label: string): TenantSeries {
    const complaints = this.tenantComplaints.labels({ tenant: label });
    const hardBounces = this.tenantHardBounces.labels({ tenant: label });
    complaints.inc(0);
    hardBounces.inc(0);
    return {
      label,
      relayed: this.#tenantMessageTallies.child({ tenant: label, outcome: 'relayed' }),
      refused: this.#tenantMessageTallies.child({ tenant: label, outcome: 'refused' }),
      deliveries: this.#tenantDeliveryTallies.child({ tenant: label }),
      complaints,
      hardBounces,
    };
  }

  /** creates the series of these tenants at 0 (within the label cap) */
  knowTenants(ids: readonly string[]): void {
    for (const id of ids) this.#tenant(id);
  }

  /** the active suspensions the store holds now, replacing the last figures */
  setSuspensions(active: readonly Pick<Suspension, 'tenant' | 'scope' | 'source'>[]): void {
    this.suspensionsActive.reset();
    this.tenantSuspensions.reset();
    for (const scope of SUSPENSION_SCOPES) for (const source of ['manual', 'automatic']) this.suspensionsActive.set({ scope, source }, 0);
    for (const s of active) {
      this.suspensionsActive.inc({ scope: s.scope, source: s.source });
      this.tenantSuspensions.inc({ tenant: this.tenantLabel(s.tenant) });
    }
  }

  /** the configured thresholds, for dashboards and alerts to compare rates against */
  setThresholds(rates: { minVolume: number; complaints: { warn: number; suspend: number }; hardBounces: { warn: number; suspend: number } }): void {
    this.feedbackMinVolume.set(rates.minVolume);
    for (const metric of ['complaints', 'hardBounces'] as const) {
      for (const action of ['warn', 'suspend'] as const) this.feedbackThreshold.set({ metric, action }, rates[metric][action]);
    }
  }

  /** the timings of the SMTP upstream, observed */
  upstreamTimings(): UpstreamTimings {
    const connect = this.upstreamDuration.child({ phase: 'connect' });
    const finalReply = this.upstreamDuration.child({ phase: 'final_reply' });
    const transaction = this.upstreamDuration.child({ phase: 'transaction' });
    return {
      connected: (s) => connect.observe(s),
      finalReply: (s) => finalReply.observe(s),
      transaction: (s) => transaction.observe(s),
    };
  }

  readonly authVerifications = new Counter({
    name: 'mailwarden_auth_verifications_total',
    help: 'AUTH passwords checked: how=cached (a login verified within smtp.auth.cacheTtlMs, one HMAC), hashed_ok or hashed_failed (a full scrypt); AUTHs refused before any check are not counted here',
    labelNames: ['how'] as const,
    registers: [this.registry],
  });

  readonly storeLost = new Gauge({
    name: 'mailwarden_store_lost',
    help: '1 while the store is not the store this relay knows (it lost its identity, shows another, or never had one): every AUTH, MAIL and RCPT gets 4xx',
    registers: [this.registry],
    aggregator: 'max',
  });

  readonly storeLostRefusals = new Counter({
    name: 'mailwarden_store_lost_refusals_total',
    help: 'AUTH (454 4.7.0), MAIL and RCPT (451 4.3.0) refused because the store was not the store this relay knows',
    labelNames: ['command'] as const,
    registers: [this.registry],
  });

  readonly storePersistent = new Gauge({
    name: 'mailwarden_store_persistent',
    help: '1 when the store keeps its state on disk, 0 when a restart empties it (Redis with neither AOF nor RDB snapshots), -1 when it would not say',
    registers: [this.registry],
    aggregator: 'max',
  });

  readonly buildInfo = new Gauge({
    name: 'mailwarden_build_info',
    help: 'Always 1: the version of mailwarden and the commit it was built from ("unknown" without one)',
    labelNames: ['version', 'commit'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });

  readonly workers = new Gauge({
    name: 'mailwarden_workers',
    help: 'SMTP worker processes ready (smtp.workers); 0 in a single process, which takes connections itself',
    registers: [this.registry],
    aggregator: 'sum',
  });

  readonly workerRestarts = new Counter({
    name: 'mailwarden_worker_restarts_total',
    help: 'SMTP worker processes that died without being asked to stop and were replaced',
    registers: [this.registry],
  });

  readonly certificateExpiry = new Gauge({
    name: 'mailwarden_tls_certificate_expiry_timestamp_seconds',
    help: 'When the SMTP (STARTTLS) certificate expires, seconds since the epoch',
    registers: [this.registry],
    aggregator: 'min',
  });

  /** the events of the SMTP front, counted */
  frontEvents(): FrontEvents {
    const outcomes = new Map<string, Tally>();
    const replies = new Map<string, Tally>();
    for (const command of ['connect', 'mail', 'rcpt', 'data']) {
      for (const replyClass of ['2xx', '4xx', '5xx']) replies.set(`${command}:${replyClass}`, this.#replyTallies.child({ command, class: replyClass }));
    }
    const sessions = this.#sessionTallies.child({});
    const bytes = this.#byteTallies.child({});
    const duration = this.transactionDuration.child();
    return {
      sessionOpened: () => {
        sessions.inc();
        this.sessionsActive.inc();
      },
      sessionClosed: () => this.sessionsActive.dec(),
      tenantMessage: (tenant, deliveries) => {
        const series = this.#tenant(tenant);
        if (deliveries === 0) return series.refused.inc();
        series.relayed.inc();
        series.deliveries.inc(deliveries);
      },
      transaction: (outcome, size, seconds) => {
        let c = outcomes.get(outcome);
        if (!c) outcomes.set(outcome, (c = this.#transactionTallies.child({ outcome })));
        c.inc();
        if (outcome === 'relayed' || outcome === 'partly_refused') bytes.inc(size);
        duration.observe(seconds);
      },
      upstreamError: (kind) => this.upstreamErrors.inc({ kind }),
      accountingRefused: () => this.accountingRefusals.inc(),
      refused: (reason) => this.frontRefusals.inc({ reason }),
      storeLost: (command) => this.storeLostRefusals.inc({ command }),
      reply: (command, replyClass) => replies.get(`${command}:${replyClass}`)!.inc(),
    };
  }

  constructor(options: { defaultMetrics?: boolean; tenantLabelLimit?: number } = {}) {
    if (options.tenantLabelLimit !== undefined) this.#tenantLabelLimit = options.tenantLabelLimit;
    // under their standard names (process_*, nodejs_*), which stock Node.js dashboards and alerts know
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    // every series that can appear exists from the start, so dashboards and alerts see 0, not "no data"
    for (const outcome of ['relayed', 'partly_refused', 'refused', 'upstream_failed', 'client_gone']) this.transactions.inc({ outcome }, 0);
    for (const command of ['auth', 'mail', 'rcpt']) this.storeLostRefusals.inc({ command }, 0);
    for (const how of ['cached', 'hashed_ok', 'hashed_failed']) this.authVerifications.inc({ how }, 0);
    this.storePersistent.set(-1);
    for (const kind of ['unavailable', 'timeout', 'tempfail', 'permfail', 'aborted']) this.upstreamErrors.inc({ kind }, 0);
    for (const phase of ['connect', 'final_reply', 'transaction']) this.upstreamDuration.child({ phase });
    for (const stage of ['mail', 'recipient']) this.policyDuration.child({ stage });
    this.transactionDuration.child();
    for (const reason of ['TOO_MANY_CONNECTIONS', 'AUTH_FAILED']) this.frontRefusals.inc({ reason }, 0);
    for (const command of ['connect', 'mail', 'rcpt', 'data']) {
      for (const replyClass of ['2xx', '4xx', '5xx']) this.replies.inc({ command, class: replyClass }, 0);
    }
    this.setSuspensions([]);
    for (const stage of ['mail', 'recipient'] as const) {
      this.rateLimitFallbacks.inc({ stage }, 0);
      for (const kind of ['timeout', 'unavailable', 'write_refused'] as const) this.storeErrors.inc({ stage, kind }, 0);
    }
  }

  /** Wraps a policy so that each decision is counted by verdict and reason and timed by stage. */
  meter(policy: Policy): Policy {
    // label children looked up once: prom-client hashes the labels on every unbound call
    const timers = { mail: this.policyDuration.child({ stage: 'mail' }), recipient: this.policyDuration.child({ stage: 'recipient' }) };
    const counters = new Map<string, Tally>();
    const counter = (stage: PolicyStage, verdict: Verdict) => {
      const reason = verdict.kind === 'reject' ? verdict.reason : 'none';
      const key = `${stage}:${reason}`;
      let c = counters.get(key);
      if (!c) counters.set(key, (c = this.#verdictTallies.child({ stage, verdict: verdict.kind, reason })));
      return c;
    };
    const observe = (stage: PolicyStage, started: number, decided: Promise<Verdict>): Promise<Verdict> =>
      decided.then((verdict) => {
        timers[stage].observe((performance.now() - started) / 1000);
        counter(stage, verdict).inc();
        return verdict;
      });
    return {
      mail: (tx) => observe('mail', performance.now(), policy.mail(tx)),
      recipient: (tx, rcpt, pseudonym) => observe('recipient', performance.now(), policy.recipient(tx, rcpt, pseudonym)),
    };
  }

  /** null: a report that could not be recorded */
  feedbackReport(result: IntakeResult | null): void {
    if (!result) return void this.feedbackReports.inc({ kind: 'unknown', outcome: 'error' });
    if (result.plan.kind === 'rejected') return void this.feedbackReports.inc({ kind: 'unknown', outcome: 'rejected' });
    for (const { record, duplicate } of result.records) {
      this.feedbackReports.inc({ kind: record.kind, outcome: duplicate ? 'duplicate' : record.outcome });
      if (duplicate || !record.tenant) continue;
      const c = record.counts;
      const tenant = this.#tenant(record.tenant);
      if (c.complaints > 0) tenant.complaints.inc(c.complaints);
      if (c.hardBounces > 0) tenant.hardBounces.inc(c.hardBounces);
      const add = (type: string, n: number) => n > 0 && this.feedbackFindings.inc({ type }, n);
      add('complaint', c.complaints);
      add('unsubscribe', c.unsubscribes);
      add('hard_bounce', c.hardBounces);
      add('soft_bounce', c.softBounces);
      add('policy_bounce', c.policyBounces);
      add('other', c.other);
      add('suppressed', c.suppressed);
    }
  }

  rateDecision(d: RateDecision): void {
    this.rateActions.inc({ action: d.action, metric: d.metric, scope: d.scope });
  }

  storeFailure(stage: PolicyStage, kind: StoreFailureKind): void {
    this.storeErrors.inc({ stage, kind });
  }
}
