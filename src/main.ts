// The composition root: configuration → adapters → servers. The only module that knows
// every concrete implementation; everything below it gets what it needs passed in.
// One process (smtp.workers: 1) runs all of it. With more workers, a primary runs the
// control side (admin API, /metrics, readiness, retention, suspension figures, notice
// take-over, the accounting writer) once for the host, and each worker the relay side (SMTP
// and feedback listeners, policy, DSNs) on the shared listening sockets.
import { hostname as osHostname } from 'node:os';
import { X509Certificate } from 'node:crypto';
import type { Cluster } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { LOG_LEVELS, type Config } from './config/schema.js';
import { createLogger, prettyStdout } from './observability/logger.js';
import { TenantRegistry } from './tenants/registry.js';
import { bootstrapTenants, checkMasterKey } from './tenants/bootstrap.js';
import { prepareStore, StoreIdentityWatch } from './policy/store-identity.js';
import { createAuthGuard } from './policy/auth-guard.js';
import { toRates } from './tenants/limits.js';
import { createPolicy, type Policy } from './policy/pipeline.js';
import { ProcessRateLimiter } from './policy/rate-fallback.js';
import { Metrics } from './observability/metrics.js';
import { SuspensionGauge } from './observability/suspensions.js';
import { listenObservability, type ObservabilityServer } from './observability/http.js';
import { Readiness } from './observability/readiness.js';
import { AdminError, AdminService } from './admin/service.js';
import { eraseSubject, exportSubject } from './accounting/subject.js';
import { offboardTenant } from './tenants/offboard.js';
import { parseMailAddress } from './domain/mailbox.js';
import { collectAsDropped } from './observability/young-gc.js';
import { AuditLog } from './admin/audit.js';
import { listenAdminApi } from './admin/http.js';
import type { FeedbackIntake } from './feedback/intake.js';
import { feedbackServices, type FeedbackServices } from './feedback/services.js';
import { DeliveryCounter } from './feedback/delivery-counter.js';
import { announceRelay, withdrawRelay, type Acceptance } from './accounting/writer.js';
import { openAccounting, openAccountingRecords, type Accounting } from './accounting/open.js';
import type { AccountingStore } from './accounting/port.js';
import { Accountant, type AccountingSink } from './accounting/accountant.js';
import { DailyLogFile, runLogRetention } from './observability/log-files.js';
import { openUpstream, sendOwnMessage } from './forward/open.js';
import { FeedbackListener } from './feedback/listener.js';
import { loadMasterKey } from './crypto/master-key-file.js';
import { openStore } from './store/open.js';
import type { Store } from './store/ports.js';
import { SmtpFront, type TransactionLimits } from './smtp/front.js';
import { planReload, type ReloadPlan } from './config/reload.js';
import { BUNDLED_RULES, FeedbackRules } from './feedback/classify.js';
import { DsnSender } from './forward/dsn.js';
import { loadTls } from './tls/certificates.js';
import { WorkerPool } from './cluster/worker-pool.js';
import { buildInfo } from './build-info.js';
import { StartupError } from './config/startup-error.js';
import { WorkerLink, type PrimaryChannel } from './cluster/worker-link.js';

export interface Mailwarden {
  readonly smtp: AddressInfo;
  /** where /metrics and /healthz answer; null when metrics.enabled is false */
  readonly metrics: AddressInfo | null;
  readonly registry: Registry;
  /** where the admin API answers; null when admin.enabled is false */
  readonly adminApi: AddressInfo | null;
  /** where the feedback SMTP listener answers; null when feedback.enabled is false */
  readonly feedback: AddressInfo | null;
  readonly intake: FeedbackIntake;
  readonly log: Logger;
  readonly tenants: TenantRegistry;
  /**
   * Takes up a configuration read again (SIGHUP): what can change without dropping a
   * connection changes now; the rest is reported as waiting for a restart. A rule file that
   * cannot be read, or a store that cannot take the tenants, changes nothing.
   */
  reload(next: Config): Promise<ReloadPlan>;
  /** graceful stop: 421 to newcomers, transactions in flight finish within smtp.shutdownGraceMs */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log?: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** the clock policy uses; tests pass a fake one */
  readonly now?: () => number;
  /** a store opened by the caller (tests); closed by the caller too */
  readonly store?: Store;
  /** benchmarks only: compose the relay without accounting records, to measure what they cost */
  readonly withoutAccounting?: boolean;
}

/**
 * The processes smtp.workers asks for: 'auto' is one per core this process may use, which
 * is `parallelism` (os.availableParallelism: the CPU affinity) bounded by a cgroup CPU quota
 * (`cpuMax`: the text of cgroup v2's cpu.max, such as "200000 100000"), as a container's
 * CPU limit sets it.
 */
export function workerCount(config: Config, parallelism: number, cpuMax: string | null = null): number {
  if (config.smtp.workers !== 'auto') return config.smtp.workers;
  const [quota, period] = (cpuMax ?? '').trim().split(/\s+/).map(Number);
  const limit = quota !== undefined && period !== undefined && quota > 0 && period > 0 ? Math.ceil(quota / period) : Infinity;
  return Math.max(1, Math.min(parallelism, limit));
}

type Role = 'single' | 'primary' | 'worker';

/** the process's logger: log.level, or MAILWARDEN_LOG_LEVEL for one run without editing the file */
function processLogger(config: Config, env: NodeJS.ProcessEnv): Logger {
  const override = env.MAILWARDEN_LOG_LEVEL;
  if (override !== undefined && !(LOG_LEVELS as readonly string[]).includes(override)) throw new StartupError('MAILWARDEN_LOG_LEVEL', `"${override}" is not one of ${LOG_LEVELS.join(', ')}`);
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && process.stdout.isTTY === true);
  return createLogger(override ?? config.log.level, pretty ? prettyStdout() : undefined, config.log.dir ? new DailyLogFile(config.log.dir) : undefined);
}

/** What every process has: the store and who it is, tenants, metrics, the upstream, the feedback side. */
interface Core {
  readonly config: Config;
  readonly log: Logger;
  readonly storeLog: Logger;
  readonly hostname: string;
  readonly tls: Awaited<ReturnType<typeof loadTls>>;
  readonly now: () => number;
  readonly master: ReturnType<typeof loadMasterKey>;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly tenants: TenantRegistry;
  readonly identity: StoreIdentityWatch;
  readonly upstream: ReturnType<typeof openUpstream>['upstream'];
  readonly upstreamName: string;
  readonly accountant: Accountant;
  readonly admin: AdminService;
  readonly feedback: FeedbackServices;
  readonly dsn: DsnSender;
  /** a change the admin service made (suspension lifted, …): refreshes what shows it */
  onAdminChange: (kind: string) => void;
  close(): Promise<void>;
}

async function openCore(config: Config, options: StartOptions, role: Role, openSink: (log: Logger, now: () => number, metrics: Metrics) => Promise<{ sink: AccountingSink; records: AccountingStore }>): Promise<Core> {
  const log = options.log ?? processLogger(config, options.env ?? process.env);
  const hostname = config.smtp.hostname ?? osHostname();
  const tls = await loadTls(config.smtp.tls, hostname, log);
  const certificateExpiresAt = Date.parse(new X509Certificate(tls.cert).validTo);
  const now = options.now ?? Date.now;
  const master = loadMasterKey(config.keys, options.env ?? process.env);
  if (master.generated) log.warn({ file: config.keys.masterKeyFile }, 'generated a master key; keep it safe: without it no tenant key, pseudonym or stored address can be read');
  const store = options.store ?? (await openStore(config.store));
  const storeLog = log.child({ component: 'store' });
  // with metrics off nothing is measured on the hot path either
  const metrics = new Metrics({ defaultMetrics: config.metrics.enabled, tenantLabelLimit: config.metrics.tenantLabelLimit });
  if (role !== 'worker') {
    const prepared = await prepareStore(store, now());
    if (prepared === 'created') storeLog.info('new store: identity created');
    if (prepared === 'adopted') storeLog.warn('the store had tenants but no identity (written before mailwarden kept one): identity created for it');
  }
  // every tenant's series exist from the start: Prometheus sees no increase before its first scrape of a series
  const auth = config.smtp.auth;
  const tenants = new TenantRegistry(
    store,
    master.key,
    log.child({ component: 'tenants' }),
    (ids) => metrics.knowTenants(ids),
    { serving: (): boolean => identity.serving(), check: () => identity.check() },
    { ttlMs: auth.cacheTtlMs, maxEntries: auth.cacheEntries, maxConcurrentHashes: auth.maxConcurrentHashes, onVerify: (how) => metrics.authVerifications.inc({ how }) },
  );
  const identity: StoreIdentityWatch = new StoreIdentityWatch({
    store,
    deadlineMs: Math.max(config.store.deadlineMs, 1000),
    // a store taken up (at start, or in place of a lost one) serves only with its own tenants and keys
    onAdopt: (): Promise<void> => tenants.load({ trusted: true }),
    onChange: (state, watch) => {
      metrics.storeLost.set(state === 'serving' ? 0 : 1);
      if (state === 'serving') {
        storeLog.info({ identity: watch.known?.id }, 'serving the store');
        // the same store back (a restore): its tenants may have changed meanwhile
        tenants.load().catch((err: unknown) => storeLog.warn({ err: (err as Error).message }, 'tenant reload failed; the refresh tries again'));
      } else storeLog.error({ state, identity: watch.known?.id }, watch.describe()!);
    },
  });
  metrics.storeLost.set(1);
  if ((await identity.check()) === 'serving') {
    if (role !== 'worker') {
      // a wrong master key would start a relay that serves nobody and writes keys nobody can read
      checkMasterKey(await store.listTenants(), master.key);
      await bootstrapTenants(config, store, master.key, now());
    }
  } else storeLog.error({ state: identity.state }, `serving nobody until the store is set up: ${identity.describe()!}`);
  await tenants.load();
  tenants.startRefresh(config.store.tenantRefreshMs);
  identity.start(config.store.identityCheckMs);
  metrics.certificateExpiry.set(Math.floor(certificateExpiresAt / 1000));
  const build = buildInfo();
  metrics.buildInfo.set({ version: build.version, commit: build.commit }, 1);
  metrics.setThresholds(config.feedback.rates);
  const { upstream, name: upstreamName } = openUpstream(config, hostname, log, config.metrics.enabled ? metrics.upstreamTimings() : undefined);
  const { sink, records } = await openSink(log.child({ component: 'accounting' }), now, metrics);
  const accountant = new Accountant(sink, (tenant) => tenants.keyOf(tenant), now);
  const admin = new AdminService(store, master.key, now, (...change) => {
    accountant.admin(...change);
    core.onAdminChange(change[1]);
  });
  const feedback = feedbackServices({
    config,
    store,
    master: master.key,
    admin,
    log,
    now,
    sendMail: (to, raw) => sendOwnMessage(upstream, to, raw),
    env: options.env ?? process.env,
    hostname,
    onDecision: (d) => metrics.rateDecision(d),
    accountant,
    records,
    onNotice: (channel, ok) => metrics.notices.inc({ channel, outcome: ok ? 'sent' : 'failed' }),
  });
  const dsn = new DsnSender({
    upstream,
    log: log.child({ component: 'dsn' }),
    retryDelays: config.smtp.dsn.retryDelaysMs,
    leaseMs: config.smtp.dsn.takeOverAfterMs,
    outbox: store,
    keyOf: (tenant) => tenants.keyOf(tenant),
    now,
  });
  const core: Core = {
    dsn,
    config,
    log,
    storeLog,
    hostname,
    tls,
    now,
    master,
    store,
    metrics,
    tenants,
    identity,
    upstream,
    upstreamName,
    accountant,
    admin,
    feedback,
    onAdminChange: () => {},
    async close() {
      dsn.close();
      await dsn.idle();
      feedback.notifier.close();
      await feedback.notifier.idle();
      await upstream.close();
      tenants.stop();
      identity.stop();
      if (!options.store) await store.close();
    },
  };
  return core;
}

/** The relay side: policy, the SMTP front and the feedback listener. */
async function startRelay(core: Core, options: StartOptions, accepting: () => Acceptance) {
  const { config, store, storeLog, metrics, identity, tenants, now, log } = core;
  const fallback = config.store.rateLimitFallback;
  const meter = config.metrics.enabled ? (p: Policy) => metrics.meter(p) : (p: Policy) => p;
  const policy = meter(
    createPolicy({
      store,
      deadlineMs: config.store.deadlineMs,
      now,
      pseudonym: (tenant, matchForm) => tenants.keyOf(tenant)?.pseudonym(matchForm) ?? null,
      storeId: () => identity.current(),
      onStoreLost: () => identity.suspect(),
      rateFallback: fallback.enabled ? new ProcessRateLimiter(fallback) : undefined,
      onStoreFailure: (stage, kind, err) => {
        metrics.storeFailure(stage, kind);
        storeLog.warn({ stage, kind, err: (err as Error).message }, kind === 'write_refused' && fallback.enabled ? 'store refused writes; rates from this process' : 'store did not answer; failing closed');
      },
      onRateFallback: (stage) => metrics.rateLimitFallbacks.inc({ stage }),
    }),
  );
  const deliveries = new DeliveryCounter(store, (err, lost) => {
    metrics.deliveryCountErrors.inc(lost);
    storeLog.warn({ lost, err: (err as Error).message }, 'deliveries not counted toward complaint and bounce rates');
  });
  const dsn = core.dsn;
  const auth = config.smtp.auth;
  let readiness: Readiness | null = null;
  // what oversized messages still send, on either port, is let go as it comes
  const dropped = collectAsDropped();
  const front = new SmtpFront({
    config,
    hostname: core.hostname,
    tls: core.tls,
    tenants,
    policy,
    upstream: core.upstream,
    upstreamName: core.upstreamName,
    dsn,
    log: log.child({ component: 'smtp' }),
    accountant: options.withoutAccounting ? undefined : core.accountant,
    onUpstream: (reached) => readiness?.noteUpstream(reached),
    ...(config.metrics.enabled ? { events: metrics.frontEvents() } : {}),
    accepting,
    dropped,
    onDelivered: (tenant, senderDomain, recipients) => deliveries.add(tenant, senderDomain, recipients, now()),
    storeServing: () => identity.serving(),
    authGuard: createAuthGuard({
      store,
      perClient: toRates(auth.failuresPerClient),
      perUsername: toRates(auth.failuresPerUsername),
      deadlineMs: config.store.deadlineMs,
      now,
      onStoreFailure: (err) => storeLog.warn({ stage: 'auth', err: (err as Error).message }, 'failed AUTHs could not be counted; AUTH deferred'),
    }),
  });
  const feedback = config.feedback.enabled
    ? new FeedbackListener({
        host: config.feedback.host,
        port: config.feedback.port,
        hostname: core.hostname,
        maxMessageBytes: config.feedback.maxMessageBytes,
        limits: config.smtp.limits,
        tls: core.tls,
        minTlsVersion: config.smtp.tls.minVersion,
        intake: core.feedback.intake,
        log: log.child({ component: 'feedback' }),
        onReport: (result) => metrics.feedbackReport(result),
        storeServing: () => identity.serving(),
        dropped,
      })
    : null;
  const feedbackAddress = feedback ? await feedback.listen() : null;
  if (feedbackAddress) log.info({ host: feedbackAddress.address, port: feedbackAddress.port }, 'feedback listening');
  return {
    feedback: feedbackAddress,
    /** a configuration reload's transaction limits */
    reconfigure: (limits: TransactionLimits) => front.reconfigure(limits),
    /** listens last, once the rest is up; `readiness` hears how the upstream answers */
    listen: async (r: Readiness | null): Promise<AddressInfo> => {
      readiness = r;
      const smtp = await front.listen();
      log.info({ host: smtp.address, port: smtp.port, tenants: tenants.size, devCertificate: core.tls.development }, 'smtp listening');
      return smtp;
    },
    /** stops taking connections and drains what is in flight */
    async close() {
      await front.close();
      await feedback?.close();
      // DSNs still waiting for a retry stay kept for the next start (or another process)
      dsn.close();
      await dsn.idle();
      await deliveries.close();
    },
  };
}

/** The control side, once per host: accounting writer, retention, readiness, admin API, /metrics. */
async function startControl(core: Core, accounting: Accounting, workers: { metricsText: () => Promise<string>; tenantsChanged: () => void; unready: () => string | null } | null) {
  const { config, store, storeLog, metrics, identity, tenants, now, log, admin } = core;
  const suspensionGauge = new SuspensionGauge({
    list: () => store.listSuspensions(),
    set: (active) => metrics.setSuspensions(active),
    deadlineMs: Math.max(config.store.deadlineMs, 5000),
    log: storeLog,
  });
  if (config.metrics.enabled) {
    core.onAdminChange = (kind) => {
      if (kind.startsWith('suspension.')) void suspensionGauge.refresh();
    };
  }
  void store.durability().then(
    (d) => {
      metrics.storePersistent.set(d.persistent === null ? -1 : d.persistent ? 1 : 0);
      if (d.persistent === false) storeLog.warn({ detail: d.detail }, 'the store keeps nothing on disk: a restart loses every tenant key and suppression list; enable AOF or RDB snapshots');
    },
    (err: unknown) => storeLog.warn({ err: (err as Error).message }, 'could not tell whether the store persists'),
  );
  const readiness = new Readiness({
    // one read answers both: does the store answer, and is it the one known?
    pingStore: () => identity.look(),
    storeIdentity: () => ({ state: identity.state, cause: identity.describe() }),
    tenants: () => tenants.unservable(),
    upstream: config.upstream.dev === 'outbox' ? null : { host: config.upstream.host, port: config.upstream.port },
    deadlineMs: Math.max(config.store.deadlineMs, 1000),
    upstreamFreshMs: 30_000,
    now,
    workers: workers?.unready,
  });
  const retentionLog = log.child({ component: 'retention' });
  const retention = async () => {
    try {
      // with replicas sharing the records, one of them runs it a day
      const r = await accounting.records.retention({ ...config.accounting.retention, now: now(), everyMs: 20 * 3_600_000 });
      const logFilesDeleted = config.log.dir ? await runLogRetention(config.log.dir, config.log.retentionDays, now()) : 0;
      retentionLog.info({ ...r, logFilesDeleted }, 'retention run');
    } catch (err) {
      retentionLog.error({ err: (err as Error).message }, 'retention run failed');
    }
  };
  let retentionTimer: NodeJS.Timeout | undefined;
  // a tenant added, changed or gone through the admin API: this relay and its workers read the list now, not at the next refresh
  const tenantsChanged = async () => {
    await tenants.load();
    workers?.tenantsChanged();
  };

  const audit = new AuditLog(config.admin.auditLog, store.auditTrail(config.admin.sharedAuditEntries), {
    // nothing is written into a store that is not the one this relay knows
    sharedOk: () => identity.describe() === null,
    sharedFailed: (err) => {
      metrics.auditSharedFailures.inc();
      log.warn({ err: err.message }, 'an audit line did not reach the shared trail; it is in the log file');
    },
  });
  const adminApi = config.admin.enabled
    ? await listenAdminApi(config.admin.host, config.admin.port, {
        admin,
        store,
        intake: core.feedback.intake,
        audit,
        log: log.child({ component: 'admin' }),
        now,
        rates: config.feedback.rates,
        maxReportBytes: config.feedback.maxMessageBytes,
        storeLost: () => identity.describe(),
        accounting: { records: accounting.records, settle: () => accounting.settle() },
        tenantDefaults: config.limits,
        tenantsChanged,
        offboard: async (tenant, returnDir, actor) => {
          const certificate = await offboardTenant({
            tenant,
            returnDir,
            store,
            admin,
            records: accounting.records,
            settle: () => accounting.settle(),
            actor,
            now,
          });
          await tenantsChanged();
          return certificate;
        },
        subjects: {
          export: async (tenant, address) => {
            const key = await admin.keyOf(tenant);
            if (!key || !parseMailAddress(address.trim())) throw new AdminError('INVALID_INPUT', 'not an email address', ['address: not an email address']);
            // this replica's latest records are in the answer too
            await accounting.settle();
            return exportSubject({ records: accounting.records, tenant, address, key, store, now: now() });
          },
          erase: async (tenant, address) => {
            const key = await admin.keyOf(tenant);
            if (!key || !parseMailAddress(address.trim())) throw new AdminError('INVALID_INPUT', 'not an email address', ['address: not an email address']);
            await accounting.settle();
            return eraseSubject({ store, tenant, key, address, now: now(), eraseRecords: (pseudonym) => accounting.records.eraseSubject(tenant, pseudonym) });
          },
        },
      })
    : null;
  if (adminApi) log.info({ host: adminApi.address.address, port: adminApi.address.port }, 'admin API listening');

  let observability: ObservabilityServer | null = null;
  if (config.metrics.enabled) {
    observability = await listenObservability(config.metrics.host, config.metrics.port, { text: workers?.metricsText ?? (() => metrics.registry.metrics()), contentType: metrics.registry.contentType }, readiness);
    log.info({ host: observability.address.address, port: observability.address.port }, 'metrics listening');
  }
  return {
    readiness,
    adminApi: adminApi?.address ?? null,
    metrics: observability?.address ?? null,
    /** the background jobs, once every port is bound: a relay that cannot listen runs none of them */
    startJobs() {
      if (config.metrics.enabled) suspensionGauge.start(30_000);
      // at start, then daily
      void retention();
      retentionTimer = setInterval(() => void retention(), 86_400_000);
      retentionTimer.unref();
      // notices and DSNs a stopped or lost process left on their way are taken over
      core.feedback.notifier.start();
      core.dsn.start(config.smtp.dsn.takeOverAfterMs);
    },
    /** a CLI command that rewrites accounting segments asks this relay to do it */
    announce: () => announceRelay(config.accounting.dir, { pid: process.pid, adminApi: adminApi ? { host: adminApi.address.address, port: adminApi.address.port } : null }),
    /** the servers first (nothing new comes in), then the jobs and the writer: call it once nothing relays any more */
    async close() {
      await adminApi?.close();
      await observability?.close();
      clearInterval(retentionTimer);
      await suspensionGauge.stop();
      await withdrawRelay(config.accounting.dir);
      await accounting.close();
    },
  };
}

async function openRelayAccounting(config: Config, now: () => number, log: Logger, metrics: Metrics): Promise<Accounting> {
  const accounting = await openAccounting(config.accounting, { now, log, onLost: (n) => metrics.accountingRecordsLost.inc(n), onShipped: (n) => metrics.accountingRecordsShipped.inc(n) });
  metrics.journalBacklog = () => accounting.backlog();
  return accounting;
}

/**
 * What every process takes up of a reloaded configuration, once whatever could fail has:
 * the log level (unless MAILWARDEN_LOG_LEVEL holds it), the transaction limits, the feedback
 * rules (`rules`, read already).
 */
function takeUp(core: Core, relay: { reconfigure(limits: TransactionLimits): void } | null, next: Config, plan: ReloadPlan, rules: FeedbackRules | null, env: NodeJS.ProcessEnv): void {
  if (plan.apply.includes('log.level') && env.MAILWARDEN_LOG_LEVEL === undefined) core.log.level = next.log.level;
  if (relay && plan.apply.some((k) => k.startsWith('smtp.limits.'))) relay.reconfigure(next.smtp.limits);
  if (rules) core.feedback.intake.rules = rules;
}

/** the feedback rules a reload asks for, read before anything changes: a file that cannot be read throws */
function reloadRules(plan: ReloadPlan, next: Config): FeedbackRules | null {
  return plan.apply.includes('feedback.rulesFile') ? FeedbackRules.load(next.feedback.rulesFile ?? BUNDLED_RULES) : null;
}

/**
 * A reload of the process that owns the store's configuration side (the one process, or the
 * primary): tenants and limits are written to the store first (the step that can fail, before
 * anything else changes), then taken up; `also` passes the reload on (to the workers).
 */
function reloader(core: Core, env: NodeJS.ProcessEnv, local: ((next: Config, plan: ReloadPlan, rules: FeedbackRules | null) => void) | null, also?: (next: Config) => void) {
  let running = core.config;
  let chain: Promise<unknown> = Promise.resolve();
  const reload = async (next: Config): Promise<ReloadPlan> => {
    const plan = planReload(running, next);
    const rules = reloadRules(plan, next);
    if (plan.apply.includes('limits') || plan.apply.includes('tenants')) {
      // written one by one: when the store fails part-way, the tenants written so far get their old records back
      const before = await Promise.all(next.tenants.map((t) => core.store.getTenant(t.id)));
      try {
        await bootstrapTenants(next, core.store, core.master.key, core.now());
      } catch (err) {
        for (const r of before) if (r) await core.store.putTenant(r).catch(() => undefined);
        throw err;
      }
      await core.tenants.load();
    }
    local?.(next, plan, rules);
    also?.(next);
    running = next;
    return plan;
  };
  // one reload at a time, in the order asked
  return (next: Config): Promise<ReloadPlan> => {
    const done = chain.then(() => reload(next));
    chain = done.catch(() => undefined);
    return done;
  };
}

/** One process that does everything (smtp.workers: 1). */
export async function start(config: Config, options: StartOptions = {}): Promise<Mailwarden> {
  let accounting!: Accounting;
  const core = await openCore(config, options, 'single', async (log, now, metrics) => {
    accounting = await openRelayAccounting(config, now, log, metrics);
    return { sink: accounting.writer, records: accounting.records };
  });
  const relay = await startRelay(core, options, () => accounting.writer.accepting());
  const control = await startControl(core, accounting, null);
  const smtp = await relay.listen(control.readiness);
  control.startJobs();
  await control.announce();
  const env = options.env ?? process.env;
  return {
    reload: reloader(core, env, (next, plan, rules) => takeUp(core, relay, next, plan, rules, env)),
    smtp,
    metrics: control.metrics,
    feedback: relay.feedback,
    adminApi: control.adminApi,
    intake: core.feedback.intake,
    registry: core.metrics.registry,
    log: core.log,
    tenants: core.tenants,
    async close() {
      control.readiness.draining();
      await relay.close();
      await control.close();
      await core.close();
      core.log.info('stopped');
    },
  };
}

export interface Primary extends Mailwarden {
  readonly pool: WorkerPool;
}

/**
 * The primary of smtp.workers > 1: the control side, and `workers` worker processes forked
 * through `cluster` that each run startWorker on the same configuration.
 */
export async function startPrimary(config: Config, cluster: Cluster, workers: number, options: StartOptions = {}): Promise<Primary> {
  let accounting!: Accounting;
  const core = await openCore(config, options, 'primary', async (log, now, metrics) => {
    accounting = await openRelayAccounting(config, now, log, metrics);
    return { sink: accounting.writer, records: accounting.records };
  });
  const { metrics, log } = core;
  const pool = new WorkerPool({
    cluster,
    size: workers,
    log: log.child({ component: 'workers' }),
    accounting: accounting.writer,
    onReplaced: () => metrics.workerRestarts.inc(),
    onWorkers: (n) => metrics.workers.set(n),
    stopDeadlineMs: config.smtp.shutdownGraceMs + config.upstream.timeouts.finalReplyMs + 10_000,
  });
  const control = await startControl(core, accounting, {
    metricsText: () => pool.metrics(metrics.registry),
    tenantsChanged: () => pool.broadcast({ t: 'mw:tenants' }),
    unready: () => (pool.size < workers ? `${pool.size} of ${workers} SMTP workers listening` : null),
  });
  let addresses;
  try {
    addresses = await pool.start();
  } catch (err) {
    await control.close();
    await core.close();
    throw err;
  }
  control.startJobs();
  await control.announce();
  log.info({ host: addresses.smtp.address, port: addresses.smtp.port, workers }, 'smtp workers listening');
  const env = options.env ?? process.env;
  return {
    // the primary's own log level and feedback rules (its admin API takes reports), then every worker takes up the same file
    reload: reloader(
      core,
      env,
      (next, plan, rules) => takeUp(core, null, next, plan, rules, env),
      (next) => pool.broadcast({ t: 'mw:reload', config: next }),
    ),
    pool,
    smtp: addresses.smtp,
    metrics: control.metrics,
    feedback: addresses.feedback,
    adminApi: control.adminApi,
    intake: core.feedback.intake,
    registry: metrics.registry,
    log,
    tenants: core.tenants,
    async close() {
      control.readiness.draining();
      // the workers drain and hand over their last accounting records before they exit
      await pool.stop();
      await control.close();
      await core.close();
      log.info('stopped');
    },
  };
}

/** A worker of smtp.workers > 1: the relay side, on the listening sockets its primary shares. */
export async function startWorker(config: Config, channel: PrimaryChannel, options: StartOptions = {}): Promise<{ close(): Promise<void> }> {
  let link!: WorkerLink;
  // the worker's lines say which process wrote them
  const log = (options.log ?? processLogger(config, options.env ?? process.env)).child({ worker: process.pid });
  let records!: AccountingStore;
  const core = await openCore(config, { ...options, log }, 'worker', async (accountingLog, _now, metrics) => {
    records = await openAccountingRecords(config.accounting, accountingLog, true);
    link = new WorkerLink({
      channel,
      registry: metrics.registry,
      flushMs: config.accounting.flushMs,
      maxBufferedRecords: config.accounting.maxBufferedRecords,
      onTenantsChanged: () => void core.tenants.load().catch(() => undefined),
      onReload: (next) => {
        const plan = planReload(running, next);
        Promise.resolve()
          .then(async () => {
            const rules = reloadRules(plan, next);
            // the primary wrote the tenants to the store; this worker reads them
            if (plan.apply.includes('limits') || plan.apply.includes('tenants')) await core.tenants.load();
            takeUp(core, relay, next, plan, rules, options.env ?? process.env);
            running = next;
            core.log.info({ changed: plan.apply }, 'configuration taken up by this worker');
          })
          .catch((err: unknown) => core.log.error({ err: (err as Error).message }, 'configuration not taken up by this worker'));
      },
    });
    return { sink: link, records };
  });
  let running = config;
  const relay = await startRelay(core, options, () => link.accepting());
  const smtp = await relay.listen(null);
  link.ready({ t: 'mw:ready', smtp, feedback: relay.feedback });
  return {
    async close() {
      await relay.close();
      await link.close();
      await core.close();
      await records.close();
      core.log.info('worker stopped');
    },
  };
}
