// Which rate buckets a MAIL and a RCPT charge, named the same way in every adapter. One
// tenant's keys share the "{tenant}" hash tag so that Redis Cluster keeps them in one slot.
import { createHash } from 'node:crypto';
import type { Rate, TenantLimits } from '../domain/policy.js';
import type { Bucket } from './gcra.js';
import { windowName } from './gcra.js';

function buckets(prefix: string, label: string, rates: readonly Rate[]): Bucket[] {
  return rates.map((rate) => ({ key: `${prefix}:${rate.windowMs}`, name: `${label}/${windowName(rate.windowMs)}`, rate }));
}

export function mailBuckets(tenant: string, sender: string | null, limits: TenantLimits): Bucket[] {
  const t = `mw:{${tenant}}:rate`;
  return [
    ...buckets(`${t}:msg`, 'messages', limits.messages),
    ...(sender === null ? buckets(`${t}:null`, 'null-sender', limits.nullSender) : buckets(`${t}:snd:${sender}`, 'sender', limits.perSender)),
  ];
}

export function recipientBuckets(tenant: string, recipientDomain: string, limits: TenantLimits): Bucket[] {
  const t = `mw:{${tenant}}:rate`;
  return [...buckets(`${t}:rcpt`, 'recipients', limits.recipients), ...buckets(`${t}:rdom:${recipientDomain}`, 'recipient-domain', limits.perRecipientDomain)];
}

/**
 * Failed-AUTH buckets of a client address and of a username. They belong to no tenant (a
 * guess may name none): all in the "{auth}" slot. The username is hashed, so any string makes
 * a short key; it is not a secret.
 */
export function authBuckets(client: string, username: string, perClient: readonly Rate[], perUsername: readonly Rate[]): Bucket[] {
  const user = createHash('sha256').update(username, 'utf8').digest('base64url').slice(0, 22);
  return [...buckets(`mw:{auth}:ip:${client}`, 'auth-failures-client', perClient), ...buckets(`mw:{auth}:user:${user}`, 'auth-failures-username', perUsername)];
}
