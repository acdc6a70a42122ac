// Accounting records as PowerMTA-style accounting CSV, for the tools that read it: one
// row per delivery, deferral, bounce or complaint (admin records have no row), pseudonyms in
// the address columns. The CLI's `accounting query --format csv` and the admin API's
// accounting query write the same columns.
import type { AccountingRecord } from './records.js';

export const CSV_HEADER = 'type,timeLogged,orig,origDomain,rcpt,rcptDomain,dsnAction,dsnStatus,dsnDiag,bodySize,msgId,jobId,reason';

/** PowerMTA accounting record types */
const PMTA_TYPE: Record<string, string> = { relayed: 'd', deferred: 't', bounced: 'b', rejected: 'b', complained: 'f' };

/** the record's row, or null for a record PowerMTA has no type for (admin) */
export function csvRow(r: AccountingRecord): string | null {
  if (!PMTA_TYPE[r.type]) return null;
  const o = r as AccountingRecord & Record<string, unknown>;
  const sender = o.sender as { p: string; d: string } | null | undefined;
  const rcpt = o.recipient as { p: string; d: string } | undefined;
  const upstream = o.upstream as { code: number; enhanced?: string; text: string } | undefined;
  const status = upstream?.enhanced ?? (o.enhanced as string | undefined) ?? (o.code !== undefined ? String(o.code) : '');
  const action = r.type === 'relayed' ? 'relayed' : r.type === 'deferred' ? 'delayed' : r.type === 'complained' ? 'complaint' : 'failed';
  const cells = [
    r.type === 'bounced' && o.via === 'report' ? 'rb' : PMTA_TYPE[r.type]!,
    r.time,
    sender?.p ?? '',
    sender?.d ?? '',
    rcpt?.p ?? '',
    rcpt?.d ?? '',
    action,
    status,
    upstream?.text ?? (o.reason as string | undefined) ?? (o.rule as string | undefined) ?? (o.feedbackType as string | undefined) ?? '',
    o.size !== undefined ? String(o.size) : '',
    (o.messageId as string | undefined) ?? '',
    (o.tx as string | undefined) ?? '',
    (o.reason as string | undefined) ?? '',
  ];
  return cells.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}
