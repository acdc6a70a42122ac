// Data-subject access for the tenant (the controller): everything mailwarden holds about one
// address of one tenant, as a structured, machine-readable document: the accounting
// records that name its pseudonym (active and archived) and its suppression entry.
import type { TenantKey } from '../crypto/keys.js';
import type { TenantId } from '../domain/tenant.js';
import { REFERENCE_HEADER } from '../feedback/parse.js';
import { verifyReference } from '../feedback/reference.js';
import { parseMailAddress } from '../domain/mailbox.js';
import type { AdminStore } from '../store/ports.js';
import type { AccountingStore } from './port.js';
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
  readonly records: Pick<AccountingStore, 'query'>;
  readonly tenant: TenantId;
  readonly address: string;
  readonly key: TenantKey;
  readonly store: Pick<AdminStore, 'getSuppression'>;
  readonly now: number;
}): Promise<SubjectExport> {
  const parsed = parseMailAddress(o.address.trim());
  if (!parsed) throw new Error('not an email address');
  const pseudonym = o.key.pseudonym(parsed.matchForm);
  const records: AccountingRecord[] = [];
  for await (const r of o.records.query({ tenant: o.tenant, pseudonym })) records.push(r);
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
  /** accounting segments rewritten without the subject (accounting.kind: files; 0 with postgres) */
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
  /** kept complaint and bounce reports of the tenant that named the address, their text removed */
  readonly reportsErased: number;
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

/**
 * Erases one address of one tenant wherever mailwarden keeps it: the accounting records
 * (through `eraseRecords`: the records port, which with files goes through the relay's
 * writer when one runs), the text of kept reports naming it, and the address of its
 * suppression entry, which stays as a bare pseudonym.
 */
export async function eraseSubject(o: {
  readonly store: Pick<AdminStore, 'listFeedbackReports' | 'eraseFeedbackReport' | 'getSuppression' | 'addSuppressions'>;
  readonly tenant: TenantId;
  readonly key: TenantKey;
  /** as the data subject gave it */
  readonly address: string;
  readonly now: number;
  readonly eraseRecords: (pseudonym: string) => Promise<{ segments?: number; removed: number }>;
}): Promise<EraseResult> {
  const parsed = parseMailAddress(o.address.trim());
  if (!parsed) throw new Error('not an email address');
  const pseudonym = o.key.pseudonym(parsed.matchForm);
  const { segments, removed } = await o.eraseRecords(pseudonym);
  const reportsErased = await eraseFromReports(o.store, o.tenant, o.key, o.address, o.now);
  return { segmentsRewritten: segments ?? 0, recordsRemoved: removed, reportsErased, stillSuppressed: await bareSuppression(o.store, o.tenant, pseudonym) };
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

/** the reference field of a reported copy, folded or not */
const REFERENCE_FIELD = new RegExp(`^${REFERENCE_HEADER}:[ \\t]*([^\\r\\n]*(?:\\r?\\n[ \\t]+[^\\r\\n]*)*)`, 'gim');

/**
 * Removes the text of every kept complaint or bounce report of the tenant that names the
 * address, keeping the report's figures. A report names it in clear (as given, as
 * normalised, or in its matching form) or inside a copy's reference field, which carries
 * the recipients encrypted under the tenant's key. Reports are sealed under that key too,
 * so each is opened to be searched.
 */
export async function eraseFromReports(
  store: Pick<AdminStore, 'listFeedbackReports' | 'eraseFeedbackReport'>,
  tenant: TenantId,
  key: TenantKey,
  address: string,
  now: number,
): Promise<number> {
  const parsed = parseMailAddress(address.trim());
  const needles = [...new Set([address.trim(), parsed?.address, parsed?.matchForm].filter((x): x is string => Boolean(x)).map((x) => x.toLowerCase()))];
  const named = (text: string) =>
    needles.some((n) => text.toLowerCase().includes(n)) ||
    [...text.matchAll(REFERENCE_FIELD)].some((m) => {
      const check = verifyReference(m[1]!.replace(/\s+/g, ''), (t) => (t === tenant ? key : null));
      return check.status === 'verified' && (check.reference.recipients ?? []).some((r) => needles.includes(r.toLowerCase()));
    });
  let erased = 0;
  for (const record of await store.listFeedbackReports(tenant, { limit: 1_000_000 })) {
    if (!record.sealedReport || !named(key.openReport(record.sealedReport).toString('utf8'))) continue;
    if (await store.eraseFeedbackReport(tenant, record.id, now)) erased++;
  }
  return erased;
}
