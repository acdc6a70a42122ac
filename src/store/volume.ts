// Hourly buckets for complaint and bounce rates, named the same way in every adapter.
import type { VolumeCounts } from '../domain/feedback.js';

export const HOUR_MS = 3_600_000;
/** buckets older than this are dropped: the longest window is 7 days */
export const VOLUME_KEEP_MS = 8 * 24 * HOUR_MS;

export const hourOf = (now: number): number => Math.floor(now / HOUR_MS);

const FIELD = { delivered: 'd', complaints: 'c', hardBounces: 'h' } as const;

/** field names in one hour's bucket: "d", or "d:example.com" for a sender domain */
export function volumeFields(senderDomain: string | null, counts: Partial<VolumeCounts>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [k, short] of Object.entries(FIELD) as Array<[keyof VolumeCounts, string]>) {
    const n = counts[k] ?? 0;
    if (n <= 0) continue;
    out.push([short, n]);
    if (senderDomain) out.push([`${short}:${senderDomain}`, n]);
  }
  return out;
}

export function totalsFields(senderDomain: string | null): [string, string, string] {
  const suffix = senderDomain ? `:${senderDomain}` : '';
  return [`d${suffix}`, `c${suffix}`, `h${suffix}`];
}
