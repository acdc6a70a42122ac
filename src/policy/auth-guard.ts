// Password guessing stopped before it costs a hash: failed AUTHs are counted per client address
// and per username in the store's rate buckets (so across connections and replicas), and once
// either is spent, AUTH is refused without a password being checked until the bucket drains.
// A successful login does not reset anything: a guesser who knows one password gains nothing.
import type { Rate } from '../domain/policy.js';
import type { AuthQuestion, PolicyStore } from '../store/ports.js';
import { withDeadline } from './pipeline.js';
import { authBuckets } from './rate-buckets.js';

export type AuthGate = { readonly kind: 'ok' } | { readonly kind: 'limited'; readonly bucket: string; readonly retryAfterMs: number } | { readonly kind: 'unavailable' };

export interface AuthGuard {
  /** before a password is checked */
  attempt(client: string, username: string): Promise<AuthGate>;
  /** after a password did not match; never throws */
  failed(client: string, username: string): Promise<void>;
}

export interface AuthGuardDeps {
  readonly store: Pick<PolicyStore, 'checkAuth' | 'countAuthFailure'>;
  readonly perClient: readonly Rate[];
  readonly perUsername: readonly Rate[];
  readonly deadlineMs: number;
  readonly now: () => number;
  readonly onStoreFailure?: (err: unknown) => void;
}

export function createAuthGuard(deps: AuthGuardDeps): AuthGuard {
  const question = (client: string, username: string): AuthQuestion => ({ buckets: authBuckets(client, username, deps.perClient, deps.perUsername), now: deps.now() });
  return {
    async attempt(client, username) {
      try {
        return await withDeadline(deps.store.checkAuth(question(client, username)), deps.deadlineMs);
      } catch (err) {
        // no answer: no password is checked either (454 4.7.0); MAIL would fail closed anyway
        deps.onStoreFailure?.(err);
        return { kind: 'unavailable' };
      }
    },
    async failed(client, username) {
      try {
        await withDeadline(deps.store.countAuthFailure(question(client, username)), deps.deadlineMs);
      } catch (err) {
        deps.onStoreFailure?.(err);
      }
    },
  };
}
