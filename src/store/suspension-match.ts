// Which active suspension, if any, covers a MAIL FROM: the tenant's own, its sender
// domain's, or its sender address's. Shared by the adapters that filter in process.
import type { Suspension } from '../domain/policy.js';

export function isActive(s: Suspension, now: number): boolean {
  return !s.lifted && (s.expiresAt === undefined || s.expiresAt > now);
}

export function activeMatch(suspensions: readonly Suspension[], senderDomain: string | null, sender: string | null, now: number): Suspension | null {
  for (const s of suspensions) {
    if (!isActive(s, now)) continue;
    if (s.scope === 'tenant') return s;
    if (s.scope === 'domain' && senderDomain !== null && s.value === senderDomain) return s;
    if (s.scope === 'sender' && sender !== null && s.value === sender) return s;
  }
  return null;
}
