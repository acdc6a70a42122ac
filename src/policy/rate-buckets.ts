// Which rate buckets a MAIL, a RCPT and a failed AUTH charge, by scope, subject and window.
// Every store and the per-process limiter charge these same buckets; each store maps a
// bucket to a key of its own layout.
import { createHash } from 'node:crypto';
import type { Rate, RateBucket, RateScope, TenantLimits } from '../domain/policy.js';
import type { TenantId } from '../domain/tenant.js';
import { windowName } from './gcra.js';

function buckets(tenant: TenantId | null, scope: RateScope, subject: string, label: string, rates: readonly Rate[]): RateBucket[] {
  return rates.map((rate) => ({ tenant, scope, subject, rate, name: `${label}/${windowName(rate.windowMs)}` }));
}

/** `sender` in matching form; null for the null sender */
export function mailBuckets(tenant: TenantId, sender: string | null, limits: TenantLimits): RateBucket[] {
  return [
    ...buckets(tenant, 'msg', '', 'messages', limits.messages),
    ...(sender === null ? buckets(tenant, 'null', '', 'null-sender', limits.nullSender) : buckets(tenant, 'snd', sender, 'sender', limits.perSender)),
  ];
}

/** `recipientDomain` as an A-label */
export function recipientBuckets(tenant: TenantId, recipientDomain: string, limits: TenantLimits): RateBucket[] {
  return [...buckets(tenant, 'rcpt', '', 'recipients', limits.recipients), ...buckets(tenant, 'rdom', recipientDomain, 'recipient-domain', limits.perRecipientDomain)];
}

/**
 * Failed-AUTH buckets of a client address and of a username. They belong to no tenant (a
 * guess may name none). The username is hashed, so any string makes a short subject; it is
 * not a secret.
 */
export function authBuckets(client: string, username: string, perClient: readonly Rate[], perUsername: readonly Rate[]): RateBucket[] {
  const user = createHash('sha256').update(username, 'utf8').digest('base64url').slice(0, 22);
  return [...buckets(null, 'ip', client, 'auth-failures-client', perClient), ...buckets(null, 'user', user, 'auth-failures-username', perUsername)];
}
