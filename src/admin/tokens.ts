// API tokens for the admin API. A token is "mwt_<id>_<secret>"; the store keeps its id,
// role, tenant (for tenant tokens), expiry and the SHA-256 of the secret, never the secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiToken, TokenStore } from '../domain/access.js';

export type { ApiToken, TokenStore } from '../domain/access.js';

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A new token: the record to store and the string to hand out once. */
export function newToken(input: Omit<ApiToken, 'id' | 'secretHash'>): { record: ApiToken; token: string } {
  const id = randomBytes(5).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { record: { ...input, id, secretHash: hash(secret) }, token: `mwt_${id}_${secret}` };
}

export type TokenCheck = { readonly ok: true; readonly token: ApiToken } | { readonly ok: false; readonly why: 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' };

export async function checkToken(header: string | undefined, store: TokenStore, now: number): Promise<TokenCheck> {
  if (!header) return { ok: false, why: 'missing' };
  const m = /^Bearer (mwt_([0-9a-f]{10})_([A-Za-z0-9_-]{43}))$/.exec(header.trim());
  if (!m) return { ok: false, why: 'malformed' };
  const token = await store.getApiToken(m[2]!);
  if (!token) return { ok: false, why: 'unknown' };
  const given = Buffer.from(hash(m[3]!), 'hex');
  const kept = Buffer.from(token.secretHash, 'hex');
  if (given.length !== kept.length || !timingSafeEqual(given, kept)) return { ok: false, why: 'unknown' };
  if (token.revokedAt !== undefined) return { ok: false, why: 'revoked' };
  if (token.expiresAt !== undefined && token.expiresAt <= now) return { ok: false, why: 'expired' };
  return { ok: true, token };
}

const DAY = 86_400_000;

/**
 * A token's expiry as the CLI's --expires and the API's `expires` give it: "90d" (a number of
 * days), or "never"; absent means 90 days, so a token that is forgotten does not work forever.
 * Returns the time, undefined for never, or null when the text is neither.
 */
export function tokenExpiry(text: string | undefined, now: number): number | undefined | null {
  const given = text ?? '90d';
  if (given === 'never') return undefined;
  const m = /^(\d+)d$/.exec(given);
  if (!m || Number(m[1]) < 1) return null;
  return now + Number(m[1]) * DAY;
}
