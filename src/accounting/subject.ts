// Data-subject access for the tenant (the controller): everything mailwarden holds about one
// address of one tenant, as a structured, machine-readable document: the accounting
// records that name its pseudonym (active and archived) and its suppression entry.
import type { TenantKey } from '../crypto/keys.js';
import type { TenantId } from '../domain/tenant.js';
import { parseMailAddress } from '../smtp/address.js';
import type { AdminStore } from '../store/ports.js';
import { queryAccounting } from './query.js';
import { readIndex, rewriteSegment, segmentsOf, sortedHas } from './segments.js';
import type { AccountingRecord } from './records.js';

export interface SubjectExport {
  readonly format: 'mailwarden-subject-export';
  readonly version: 1;
  readonly tenant: TenantId;
  readonly generatedAt: string;
  readonly subject: { readonly address: string; readonly pseudonym: string };
  /** oldest first */
  readonly records: readonly AccountingRecord[];
  readonly suppression: null | { readonly reason: string; readonly source?: string; readonly createdAt: string; readonly expiresAt?: string; readonly addressKept: boolean };
}

export async function exportSubject(o: {
  readonly dir: string;
  readonly tenant: TenantId;
  readonly address: string;
  readonly key: TenantKey;
  readonly store: Pick<AdminStore, 'getSuppression'>;
  readonly now: number;
  readonly onSegment?: (day: string, read: boolean) => void;
}): Promise<SubjectExport> {
  const parsed = parseMailAddress(o.address.trim());
  if (!parsed) throw new Error('not an email address');
  const pseudonym = o.key.pseudonym(parsed.matchForm);
  const records: AccountingRecord[] = [];
  for await (const r of queryAccounting({ dir: o.dir, tenant: o.tenant, pseudonym, onSegment: o.onSegment })) records.push(r);
  const entry = await o.store.getSuppression(o.tenant, pseudonym);
  return {
    format: 'mailwarden-subject-export',
    version: 1,
    tenant: o.tenant,
    generatedAt: new Date(o.now).toISOString(),
    subject: { address: parsed.address, pseudonym },
    records,
    suppression: entry && {
      reason: entry.reason,
      ...(entry.source ? { source: entry.source } : {}),
      createdAt: new Date(entry.createdAt).toISOString(),
      ...(entry.expiresAt ? { expiresAt: new Date(entry.expiresAt).toISOString() } : {}),
      addressKept: Boolean(entry.sealed),
    },
  };
}

export interface EraseResult {
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
  /** true when the subject stays suppressed, now by pseudonym only */
  readonly stillSuppressed: boolean;
}

/** Removes every record naming `pseudonym` from a tenant's segments (active and archived). */
export async function eraseFromSegments(dir: string, tenant: TenantId, pseudonym: string): Promise<{ segments: number; removed: number }> {
  let segments = 0;
  let removed = 0;
  for (const s of await segmentsOf(dir, tenant)) {
    if (s.sealed) {
      const index = await readIndex(s.file);
      if (index && !sortedHas(index.pseudonyms, pseudonym)) continue;
    }
    const n = await rewriteSegment(s.file, (r) => ('sender' in r && r.sender?.p === pseudonym) || ('recipient' in r && r.recipient?.p === pseudonym));
    if (n > 0) {
      segments++;
      removed += n;
    }
  }
  return { segments, removed };
}

/** Keeps the subject suppressed, but by pseudonym only: an opt-out must outlive erasure. */
export async function bareSuppression(store: Pick<AdminStore, 'getSuppression' | 'addSuppressions'>, tenant: TenantId, pseudonym: string): Promise<boolean> {
  const entry = await store.getSuppression(tenant, pseudonym);
  if (!entry) return false;
  if (entry.sealed) {
    const { sealed: _address, ...bare } = entry;
    await store.addSuppressions(tenant, [bare]);
  }
  return true;
}
