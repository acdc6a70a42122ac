// Tenant rate limits: the configuration's defaults, with a tenant's own settings on top.
import type { Rate, TenantLimits } from '../domain/policy.js';
import { defaultRates, type RatesConfig } from '../config/schema.js';

const PER_MS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

type RateList = ReadonlyArray<{ readonly limit: number; readonly per: keyof typeof PER_MS }>;

export function toRates(list: RateList): Rate[] {
  return list.map((r) => ({ limit: r.limit, windowMs: PER_MS[r.per] }));
}

export function resolveLimits(defaults: RatesConfig, own: RatesConfig | undefined): TenantLimits {
  const pick = (k: keyof RatesConfig): Rate[] => toRates(own?.[k] ?? defaults[k] ?? defaultRates[k]);
  return {
    messages: pick('messages'),
    recipients: pick('recipients'),
    perSender: pick('perSender'),
    perRecipientDomain: pick('perRecipientDomain'),
    nullSender: pick('nullSender'),
  };
}
