// Prometheus metrics on a registry the composition root owns (never prom-client's global
// one). Labels are bounded by construction: stages, verdict reasons from the error catalog,
// error kinds. Never an address, a recipient domain or a sender; no tenant label here.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Policy } from '../policy/pipeline.js';
import type { Verdict } from '../domain/verdict.js';
import type { StoreFailureKind } from '../store/ports.js';

export type PolicyStage = 'mail' | 'recipient';

export class Metrics {
  readonly registry = new Registry();

  readonly policyVerdicts = new Counter({
    name: 'mailwarden_policy_verdicts_total',
    help: 'Policy verdicts for MAIL FROM (stage=mail) and RCPT TO (stage=recipient); reason is the error catalog id, "none" for an accept',
    labelNames: ['stage', 'verdict', 'reason'] as const,
    registers: [this.registry],
  });

  readonly policyDuration = new Histogram({
    name: 'mailwarden_policy_duration_seconds',
    help: 'Time to decide one MAIL FROM or RCPT TO, store round trip included',
    labelNames: ['stage'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [this.registry],
  });

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

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'mailwarden_' });
    // every series that can appear exists from the start, so dashboards and alerts see 0, not "no data"
    for (const stage of ['mail', 'recipient'] as const) {
      this.rateLimitFallbacks.inc({ stage }, 0);
      for (const kind of ['timeout', 'unavailable', 'write_refused'] as const) this.storeErrors.inc({ stage, kind }, 0);
    }
  }

  /** Wraps a policy so that each decision is counted by verdict and reason and timed by stage. */
  meter(policy: Policy): Policy {
    const observe = async (stage: PolicyStage, decide: () => Promise<Verdict>): Promise<Verdict> => {
      const end = this.policyDuration.startTimer({ stage });
      const verdict = await decide();
      end();
      this.policyVerdicts.inc({ stage, verdict: verdict.kind, reason: verdict.kind === 'reject' ? verdict.reason : 'none' });
      return verdict;
    };
    return {
      mail: (tx) => observe('mail', () => policy.mail(tx)),
      recipient: (tx, rcpt) => observe('recipient', () => policy.recipient(tx, rcpt)),
    };
  }

  storeFailure(stage: PolicyStage, kind: StoreFailureKind): void {
    this.storeErrors.inc({ stage, kind });
  }
}
