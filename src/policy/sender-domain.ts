// Stage: a tenant may only send from its own sender domains. The null sender (bounces the
// client's MTA generates) is allowed.
import { ACCEPT, reject, type Verdict } from '../domain/verdict.js';
import type { Tenant } from '../domain/tenant.js';
import type { Transaction } from '../domain/envelope.js';

export function senderDomainAllowed(tenant: Pick<Tenant, 'domains'>, domain: string): boolean {
  for (const allowed of tenant.domains) {
    if (allowed === domain) return true;
    if (allowed.startsWith('*.') && (domain === allowed.slice(2) || domain.endsWith(allowed.slice(1)))) return true;
  }
  return false;
}

export function checkSenderDomain(tx: Transaction): Verdict {
  if (tx.sender === null) return ACCEPT;
  return senderDomainAllowed(tx.tenant, tx.sender.domain) ? ACCEPT : reject('SENDER_DOMAIN_NOT_ALLOWED');
}
