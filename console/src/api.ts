// The admin API, as the console calls it: the token in the Authorization header, every
// error turned into the sentence the API gave (and the fields it named).

export interface Thresholds {
  readonly warn: number;
  readonly suspend: number;
}

export interface Session {
  readonly token: string;
  readonly role: 'operator' | 'abuse-desk' | 'tenant';
  readonly tenant?: string;
  readonly name?: string;
  readonly expiresAt: string | null;
  readonly rates: { readonly minVolume: number; readonly windows: string[]; readonly thresholds: { complaintRate: Thresholds; hardBounceRate: Thresholds } };
}

export interface WindowVolume {
  readonly delivered: number;
  readonly complaints: number;
  readonly hardBounces: number;
  readonly complaintRate: number | null;
  readonly hardBounceRate: number | null;
}

export interface Tenant {
  readonly id: string;
  readonly domains: string[];
  readonly networks: string[];
  readonly username?: string;
  readonly createdAt: string;
  readonly activeSuspensions: number;
  readonly suppressions: number;
  readonly volume: Record<string, WindowVolume>;
  readonly domainVolume: Record<string, Record<string, WindowVolume>>;
}

export interface Suspension {
  readonly id: string;
  readonly tenant: string;
  readonly scope: 'tenant' | 'domain' | 'sender';
  readonly value?: string;
  readonly reason: string;
  readonly ticket?: string;
  readonly source: string;
  readonly actor: string;
  readonly createdAt: string;
  readonly expiresAt?: string | null;
  readonly lifted?: { at: string; by: string; reason: string } | null;
  readonly evidence?: Record<string, unknown>;
}

export interface RatePoint extends WindowVolume {
  readonly at: string;
  readonly judged: boolean;
}

export interface Rates {
  readonly minVolume: number;
  readonly thresholds: { complaintRate: Thresholds; hardBounceRate: Thresholds };
  readonly points: RatePoint[];
}

export interface FeedbackRecord {
  readonly id: string;
  readonly receivedAt: string;
  readonly kind: string;
  readonly outcome: string;
  readonly tenant?: string | null;
  readonly attribution?: string;
  readonly senderDomain?: string;
  readonly feedbackTypes?: string[];
  readonly counts: Record<string, number>;
  readonly notes?: string[];
  readonly resolution?: { action: 'assigned' | 'dismissed'; tenant?: string; record?: string; reason: string; by: string; at: string };
  readonly [key: string]: unknown;
}

export interface AuditEntry {
  readonly time: string;
  readonly seq: number;
  readonly actor: string;
  readonly role: string;
  readonly action: string;
  readonly tenant?: string;
  readonly outcome: string;
  readonly reason?: string;
  readonly via: string;
  readonly detail?: Record<string, unknown>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: Array<{ field: string; message: string }> = [],
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'mailwarden.token';
/** the event the console hears when the API refuses the token it signed in with */
export const SIGNED_OUT = 'mailwarden:signed-out';

/** The token lives in this tab's session storage only: closing the tab signs out. */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function api<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, token = tokenStore.get()): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token ?? ''}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'mailwarden did not answer: is the relay running?');
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const error = (data as { error?: { message?: string; problems?: Array<{ field: string; message: string }> } } | null)?.error;
    // a token that stopped working (expired, revoked) while signed in: back to the sign-in, saying why
    if (res.status === 401 && token !== null && token === tokenStore.get()) {
      tokenStore.clear();
      dispatchEvent(new CustomEvent(SIGNED_OUT, { detail: error?.message ?? 'the token no longer works' }));
    }
    throw new ApiError(res.status, error?.message ?? `the request failed (HTTP ${res.status})`, error?.problems ?? []);
  }
  return data as T;
}

export const enc = encodeURIComponent;

/** a rate as people read it: 0.31 % */
export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '–';
  return `${(rate * 100).toFixed(rate < 0.01 ? 3 : 2)} %`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
