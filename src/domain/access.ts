// Who may use the admin API: roles, and API tokens as the store keeps them (the SHA-256 of
// the secret, never the secret). Plain data; issuing and checking tokens is src/admin/tokens.ts.
import type { TenantId } from './tenant.js';

export const ROLES = ['operator', 'abuse-desk', 'tenant'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  readonly id: string;
  readonly role: Role;
  /** the one tenant a tenant token may see and change */
  readonly tenant?: TenantId;
  readonly name?: string;
  readonly secretHash: string;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly expiresAt?: number;
  readonly revokedAt?: number;
}

export interface TokenStore {
  putApiToken(token: ApiToken): Promise<void>;
  getApiToken(id: string): Promise<ApiToken | null>;
  listApiTokens(): Promise<ApiToken[]>;
}
