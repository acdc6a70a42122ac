// The abuse desk's lists: reports no tenant could be given, and the audit trail.
import { useState } from 'preact/hooks';
import { api, enc, when, type AuditEntry, type FeedbackRecord } from './api';
import { ErrorText, field, Pager, useCursorPages, useFormAction, useLoad } from './ui';

export function ReviewQueue() {
  const [decidedToo, setDecidedToo] = useState(false);
  const pages = useCursorPages(async (cursor) => {
    const r = await api<{ reports: FeedbackRecord[]; next: string | null }>('GET', `/feedback?review=true${decidedToo ? '' : '&open=true'}&limit=25${cursor ? `&before=${enc(cursor)}` : ''}`);
    return { items: r.reports, next: r.next };
  }, [decidedToo]);
  const tenants = useLoad(() => api<{ tenants: Array<{ id: string }> }>('GET', '/tenants?limit=1000'), []);
  return (
    <>
      <h1>Review queue</h1>
      <p class="hint">
        Reports that could not be attributed to a tenant, newest first. Assign one to the tenant it belongs to (it is then counted for that tenant and the recipients it names are suppressed), or dismiss it; either with a reason. The report
        itself names recipients and is read with <code>mailwarden feedback show ID --review --report</code>.
      </p>
      <p>
        <label>
          <input type="checkbox" checked={decidedToo} onChange={(e) => setDecidedToo((e.currentTarget as HTMLInputElement).checked)} /> Show the reports already assigned or dismissed
        </label>
      </p>
      <ErrorText error={pages.error} />
      {pages.data && pages.data.items.length === 0 && <p>{decidedToo ? 'The review queue is empty.' : 'Nothing waits for a decision.'}</p>}
      {pages.data && pages.data.items.length > 0 && (
        <table class="review">
          <thead>
            <tr>
              <th scope="col">Report</th>
              <th scope="col">Received</th>
              <th scope="col">Kind</th>
              <th scope="col">Why it is here</th>
              <th scope="col">Notes</th>
              <th scope="col">Decision</th>
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
                <td>{r.resolution ? <Decision record={r} /> : <Decide record={r} tenants={tenants.data?.tenants.map((t) => t.id) ?? []} onDone={pages.reload} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={pages.page} hasNext={pages.hasNext} onPage={pages.onPage} />
    </>
  );
}

function Decision({ record }: { record: FeedbackRecord }) {
  const d = record.resolution!;
  return (
    <span>
      {d.action === 'assigned' ? (
        <>
          Assigned to <a href={`#/tenants/${encodeURIComponent(d.tenant!)}`}>{d.tenant}</a>
        </>
      ) : (
        'Dismissed'
      )}{' '}
      by {d.by} on {when(d.at)}: {d.reason}
    </span>
  );
}

function Decide({ record, tenants, onDone }: { record: FeedbackRecord; tenants: string[]; onDone: () => void }) {
  const decide = (action: 'assign' | 'dismiss') => async (fields: FormData) => {
    await api('POST', `/feedback/${enc(record.id)}/${action}`, { ...(action === 'assign' ? { tenant: field(fields, 'tenant') } : {}), reason: field(fields, 'reason') });
    onDone();
  };
  const [assign, assignError] = useFormAction(decide('assign'));
  const [dismiss, dismissError] = useFormAction(decide('dismiss'));
  return (
    <>
      <form class="inline" onSubmit={assign} aria-label={`assign ${record.id}`}>
        <label for={`assign-tenant-${record.id}`}>Tenant</label>
        <select id={`assign-tenant-${record.id}`} name="tenant" required>
          {tenants.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <label for={`assign-reason-${record.id}`}>Reason</label>
        <input id={`assign-reason-${record.id}`} name="reason" required />
        <button type="submit">Assign</button>
      </form>
      <form class="inline" onSubmit={dismiss} aria-label={`dismiss ${record.id}`}>
        <label for={`dismiss-reason-${record.id}`}>Reason</label>
        <input id={`dismiss-reason-${record.id}`} name="reason" required />
        <button type="submit">Dismiss</button>
      </form>
      <ErrorText error={assignError ?? dismissError} />
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
      <p class="hint">Every admin API request and every changing CLI command, newest first: of every replica sharing the store (Redis), or of this host (embedded store).</p>
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
