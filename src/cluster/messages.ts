// What the primary and its SMTP workers say to each other over the cluster's IPC channel.
// Every message carries a "mw:" type, so nothing else on the channel is taken for one.
import type { Config } from '../config/schema.js';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Acceptance } from '../accounting/writer.js';

/** accounting lines of one tenant and UTC day, already serialised, each ending in LF */
export interface AccountingLines {
  readonly tenant: string;
  readonly day: string;
  readonly lines: string;
  readonly count: number;
}

export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type WorkerMessage =
  | { readonly t: 'mw:ready'; readonly smtp: AddressInfo; readonly feedback: AddressInfo | null }
  | { readonly t: 'mw:accounting'; readonly batch: readonly AccountingLines[] }
  | { readonly t: 'mw:metrics'; readonly id: number; readonly metrics: MetricsJson };

export type PrimaryMessage =
  | { readonly t: 'mw:accepting'; readonly state: Acceptance }
  | { readonly t: 'mw:metrics?'; readonly id: number }
  /** the tenant list changed (an offboarding): read it now, not at the next refresh */
  | { readonly t: 'mw:tenants' }
  /** the configuration was read again (SIGHUP): take up what can change */
  | { readonly t: 'mw:reload'; readonly config: Config };

export function isMessage<M extends { t: string }>(m: unknown): m is M {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string' && (m as { t: string }).t.startsWith('mw:');
}
