// Complaint and hard-bounce rates per tenant and per sender domain over rolling windows,
// judged each time a report about the tenant is counted. At or above a warn threshold: a
// notice, once per window. At or above a suspend threshold: an automatic suspension of the
// tenant (or of the sender domain) that stores the figures behind it and stays until a
// person lifts it (ARCHITECTURE invariant 7). Below the minimum volume no rate is judged:
// two complaints about three messages say nothing yet.
import type { Logger } from 'pino';
import type { Suspension } from '../domain/policy.js';
import type { TenantId } from '../domain/tenant.js';
import type { FeedbackRecord, VolumeCounts } from '../domain/feedback.js';
import type { AdminStore } from '../store/ports.js';
import { HOUR_MS, hourOf } from '../store/volume.js';
import type { Notice } from '../notify/notifier.js';

export interface RateSettings {
  /** deliveries in a window before its rates are judged */
  readonly minVolume: number;
  readonly windowsHours: readonly number[];
  readonly complaints: { readonly warn: number; readonly suspend: number };
  readonly hardBounces: { readonly warn: number; readonly suspend: number };
}

export type RateMetric = 'complaints' | 'hardBounces';

export interface RateDecision {
  readonly action: 'warn' | 'suspend';
  readonly metric: RateMetric;
  readonly scope: 'tenant' | 'sender-domain';
  readonly senderDomain?: string;
  readonly window: string;
  readonly delivered: number;
  readonly count: number;
  readonly rate: number;
  readonly threshold: number;
  /** the suspension made, for action suspend */
  readonly suspension?: Suspension;
}

export interface RateWatchDeps {
  readonly store: Pick<AdminStore, 'volumeTotals' | 'claimOnce' | 'listSuspensions' | 'listFeedbackReports'>;
  readonly suspend: (input: Omit<Suspension, 'id' | 'createdAt' | 'lifted'>) => Promise<Suspension>;
  readonly notify: (notice: Notice) => void;
  readonly settings: RateSettings;
  readonly now: () => number;
  readonly log: Logger;
  readonly onDecision?: (d: RateDecision) => void;
}

const METRIC_NAME: Record<RateMetric, string> = { complaints: 'complaint rate', hardBounces: 'hard-bounce rate' };

export function windowName(hours: number): string {
  return hours % 24 === 0 ? `${hours / 24 === 1 ? 24 : hours / 24}${hours / 24 === 1 ? 'h' : 'd'}` : `${hours}h`;
}

const percent = (r: number) => `${(r * 100).toFixed(2).replace(/\.?0+$/, '')}%`;

export class RateWatch {
  readonly #deps: RateWatchDeps;

  constructor(deps: RateWatchDeps) {
    this.#deps = deps;
  }

  /** Judges the tenant's rates, and its sender domain's; acts on what crosses a threshold. */
  async check(tenant: TenantId, senderDomain: string | null): Promise<RateDecision[]> {
    const now = this.#deps.now();
    const decisions: RateDecision[] = [];
    const scopes: Array<{ scope: 'tenant' | 'sender-domain'; domain: string | null }> = [{ scope: 'tenant', domain: null }];
    if (senderDomain) scopes.push({ scope: 'sender-domain', domain: senderDomain });
    let tenantSuspended = false;
    // after a person lifted an automatic suspension, what came before it is not judged again
    const lifts = (await this.#deps.store.listSuspensions(tenant, { includeLifted: true, now })).filter((s) => s.source === 'automatic' && s.lifted);
    for (const { scope, domain } of scopes) {
      const liftedAt = Math.max(-Infinity, ...lifts.filter((s) => s.scope === 'tenant' || (domain !== null && s.scope === 'domain' && s.value === domain)).map((s) => s.lifted!.at));
      // whole hours after the one the lift fell in: the buckets hold no count from before it
      const sinceLift = Number.isFinite(liftedAt) ? hourOf(now) - hourOf(liftedAt) : Infinity;
      const totals = await Promise.all(
        this.#deps.settings.windowsHours.map(async (hours) => {
          const effective = Math.min(hours, sinceLift);
          const capped = effective < hours;
          return {
            hours: effective,
            name: capped ? `${effective}h since the lift` : windowName(hours),
            // one warning per configured window (and per lift), however the window was cut
            claim: { key: capped ? `${windowName(hours)}@${liftedAt}` : windowName(hours), hours },
            counts: await this.#deps.store.volumeTotals(tenant, domain, effective, now),
          };
        }),
      );
      for (const metric of ['complaints', 'hardBounces'] as const) {
        const worst = this.#worst(metric, totals);
        if (!worst) continue;
        const { claim, ...figures } = worst;
        const base = { metric, scope, ...(domain ? { senderDomain: domain } : {}), ...figures };
        if (worst.action === 'suspend' && !tenantSuspended) {
          const suspension = await this.#suspend(tenant, base, now);
          if (suspension && scope === 'tenant') tenantSuspended = true;
          if (suspension) decisions.push({ ...base, suspension });
        } else if (worst.action === 'warn' || tenantSuspended) {
          if (await this.#deps.store.claimOnce(tenant, `warn:${metric}:${domain ?? '*'}:${claim.key}`, claim.hours * HOUR_MS, now)) {
            decisions.push({ ...base, action: 'warn' });
            this.#deps.notify({
              event: 'rate.warning',
              tenant,
              at: now,
              summary: `${tenant}: ${describe(base)} is at or above the warning threshold ${percent(worst.threshold)}`,
              details: evidenceOf(base, this.#deps.settings.minVolume, []),
            });
          }
        }
      }
    }
    for (const d of decisions) {
      this.#deps.onDecision?.(d);
      this.#deps.log.warn({ tenant, action: d.action, metric: d.metric, scope: d.scope, senderDomain: d.senderDomain, window: d.window, rate: d.rate, threshold: d.threshold, suspension: d.suspension?.id }, 'feedback rate threshold crossed');
    }
    return decisions;
  }

  /** The window where the rate is furthest over a threshold, and which threshold. */
  #worst(metric: RateMetric, totals: Array<{ hours: number; name: string; claim: { key: string; hours: number }; counts: VolumeCounts }>) {
    const t = this.#deps.settings[metric];
    let best: { action: 'warn' | 'suspend'; window: string; claim: { key: string; hours: number }; delivered: number; count: number; rate: number; threshold: number } | null = null;
    for (const { hours, name, claim, counts } of totals) {
      if (hours <= 0 || counts.delivered < this.#deps.settings.minVolume) continue;
      const count = counts[metric];
      const rate = count / counts.delivered;
      const action = rate >= t.suspend ? 'suspend' : rate >= t.warn ? 'warn' : null;
      if (!action) continue;
      const rank = (a: string) => (a === 'suspend' ? 2 : 1);
      if (!best || rank(action) > rank(best.action) || (action === best.action && rate > best.rate)) {
        best = { action, window: name, claim, delivered: counts.delivered, count, rate, threshold: action === 'suspend' ? t.suspend : t.warn };
      }
    }
    return best;
  }

  async #suspend(tenant: TenantId, d: Omit<RateDecision, 'action' | 'suspension'>, now: number): Promise<Suspension | null> {
    const active = await this.#deps.store.listSuspensions(tenant, { now });
    const covered = active.some((s) => s.scope === 'tenant' || (d.scope === 'sender-domain' && s.scope === 'domain' && s.value === d.senderDomain));
    if (covered) return null;
    const samples = (await this.#deps.store.listFeedbackReports(tenant, { limit: 200 }))
      .filter((r: FeedbackRecord) => (d.metric === 'complaints' ? r.counts.complaints : r.counts.hardBounces) > 0)
      .filter((r) => d.scope === 'tenant' || r.senderDomain === d.senderDomain)
      .slice(0, 10)
      .map((r) => r.id);
    const evidence = evidenceOf(d, this.#deps.settings.minVolume, samples);
    const suspension = await this.#deps.suspend({
      tenant,
      scope: d.scope === 'tenant' ? 'tenant' : 'domain',
      ...(d.scope === 'sender-domain' ? { value: d.senderDomain } : {}),
      reason: `automatic: ${describe(d)} is at or above ${percent(d.threshold)}`,
      actor: 'mailwarden',
      source: 'automatic',
      evidence,
    });
    this.#deps.notify({
      event: 'suspension.automatic',
      tenant,
      at: now,
      summary: `${tenant}: ${d.scope === 'tenant' ? 'sending' : `sending from ${d.senderDomain}`} suspended automatically (${describe(d)})`,
      details: { suspension: suspension.id, ...evidence, lift: `mailwarden unsuspend --tenant ${tenant} --id ${suspension.id} --reason "..."` },
    });
    return suspension;
  }
}

function describe(d: Pick<RateDecision, 'metric' | 'scope' | 'senderDomain' | 'window' | 'count' | 'delivered' | 'rate'>): string {
  const what = d.metric === 'complaints' ? 'complaints' : 'hard bounces';
  return `${METRIC_NAME[d.metric]}${d.scope === 'sender-domain' ? ` of ${d.senderDomain}` : ''} over ${d.window} is ${percent(d.rate)} (${d.count} ${what} for ${d.delivered} deliveries)`;
}

function evidenceOf(d: Omit<RateDecision, 'action' | 'suspension'>, minVolume: number, sampleReports: string[]): Record<string, unknown> {
  return {
    metric: d.metric === 'complaints' ? 'complaint-rate' : 'hard-bounce-rate',
    scope: d.scope,
    ...(d.senderDomain ? { senderDomain: d.senderDomain } : {}),
    window: d.window,
    delivered: d.delivered,
    [d.metric]: d.count,
    rate: Number(d.rate.toFixed(6)),
    threshold: d.threshold,
    minVolume,
    sampleReports,
  };
}
