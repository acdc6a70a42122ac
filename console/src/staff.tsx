// The abuse desk's lists: reports no tenant could be given, and the audit trail.
import { useState } from 'preact/hooks';
import { api, enc, when, type AuditEntry, type FeedbackRecord } from './api';
import { ErrorText, Pager, useCursorPages } from './ui';

export function ReviewQueue() {
  const pages = useCursorPages(async (cursor) => {
    const r = await api<{ reports: FeedbackRecord[]; next: string | null }>('GET', `/feedback?review=true&limit=25${cursor ? `&before=${enc(cursor)}` : ''}`);
    return { items: r.reports, next: r.next };
  }, []);
  return (
    <>
      <h1>Review queue</h1>
      <p class="hint">Reports that could not be attributed to a tenant, newest first. The report itself names recipients and is read with <code>mailwarden feedback show ID --review --report</code>.</p>
      <ErrorText error={pages.error} />
      {pages.data && pages.data.items.length === 0 && <p>The review queue is empty.</p>}
      {pages.data && pages.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Report</th>
              <th scope="col">Received</th>
              <th scope="col">Kind</th>
              <th scope="col">Why it is here</th>
              <th scope="col">Notes</th>
            </tr>
          </thead>
          <tbody>
            {pages.data.items.map((r) => (
              <tr key={r.id}>
                <th scope="row">{r.id}</th>
                <td>{when(r.receivedAt)}</td>
                <td>{r.kind}</td>
                <td>{r.attribution ?? '–'}</td>
                <td>{(r.notes ?? []).join('; ') || '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={pages.page} hasNext={pages.hasNext} onPage={pages.onPage} />
    </>
  );
}

export function AuditTrail() {
  const [filter, setFilter] = useState({ tenant: '', actor: '', action: '' });
  const pages = useCursorPages(async (cursor) => {
    const q = new URLSearchParams({ limit: '50' });
    for (const [k, v] of Object.entries(filter)) if (v.trim()) q.set(k, v.trim());
    if (cursor) q.set('before', cursor);
    const r = await api<{ entries: AuditEntry[]; next: string | null }>('GET', `/audit?${q.toString()}`);
    return { items: r.entries, next: r.next };
  }, [filter.tenant, filter.actor, filter.action]);
  const submit = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    setFilter({ tenant: String(data.get('tenant') ?? ''), actor: String(data.get('actor') ?? ''), action: String(data.get('action') ?? '') });
  };
  return (
    <>
      <h1>Audit trail</h1>
      <p class="hint">Every admin API request and every changing CLI command on this relay, newest first.</p>
      <form class="inline" onSubmit={submit} aria-label="audit filter">
        <label for="audit-tenant">Tenant</label>
        <input id="audit-tenant" name="tenant" />
        <label for="audit-actor">Actor</label>
        <input id="audit-actor" name="actor" />
        <label for="audit-action">Action</label>
        <input id="audit-action" name="action" placeholder="suspension.lift" />
        <button type="submit">Filter</button>
      </form>
      <ErrorText error={pages.error} />
      {pages.data && pages.data.items.length === 0 && <p>No entries.</p>}
      {pages.data && pages.data.items.length > 0 && (
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Tenant</th>
              <th scope="col">Outcome</th>
              <th scope="col">Reason</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {pages.data.items.map((e) => (
              <tr key={e.seq}>
                <td>{when(e.time)}</td>
                <td>
                  {e.actor} <span class="hint">({e.role}, {e.via})</span>
                </td>
                <td>{e.action}</td>
                <td>{e.tenant ?? '–'}</td>
                <td>{e.outcome}</td>
                <td>{e.reason ?? '–'}</td>
                <td>
                  {Object.entries(e.detail ?? {})
                    .map(([k, v]) => `${k}: ${String(v)}`)
                    .join(', ') || '–'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={pages.page} hasNext={pages.hasNext} onPage={pages.onPage} />
    </>
  );
}
