// The abuse desk's first page: every tenant, nearest to a suspension line first.
import { useState } from 'preact/hooks';
import { api, percent, type Session, type Tenant } from './api';
import { ErrorText, Pager, useLoad } from './ui';

const PAGE = 25;

/** how near a tenant is to being suspended: its highest rate as a share of that rate's suspend line, over the judged windows */
function nearness(t: Tenant, session: Session): number {
  const { thresholds } = session.rates;
  let worst = 0;
  for (const w of Object.values(t.volume)) {
    if (w.complaintRate !== null) worst = Math.max(worst, w.complaintRate / thresholds.complaintRate.suspend);
    if (w.hardBounceRate !== null) worst = Math.max(worst, w.hardBounceRate / thresholds.hardBounceRate.suspend);
  }
  return worst;
}

async function allTenants(): Promise<Tenant[]> {
  const all: Tenant[] = [];
  let after: string | null = null;
  do {
    const page: { tenants: Tenant[]; next: string | null } = await api('GET', `/tenants?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    all.push(...page.tenants);
    after = page.next;
  } while (after);
  return all;
}

export function Overview({ session }: { session: Session }) {
  const tenants = useLoad(allTenants, []);
  const [page, setPage] = useState(0);
  const [filter, setFilter] = useState('');
  const { thresholds } = session.rates;
  const rows = (tenants.data ?? [])
    .filter((t) => t.id.includes(filter.trim().toLowerCase()))
    .map((t) => ({ t, near: nearness(t, session) }))
    .sort((a, b) => b.near - a.near || b.t.activeSuspensions - a.t.activeSuspensions || a.t.id.localeCompare(b.t.id));
  const shown = rows.slice(page * PAGE, (page + 1) * PAGE);
  const cell = (rate: number | null, line: { warn: number; suspend: number }) => (
    <td class={rate === null ? '' : rate >= line.suspend ? 'over' : rate >= line.warn ? 'near' : ''}>{percent(rate)}</td>
  );
  return (
    <>
      <h1>Tenants</h1>
      <p class="hint">
        Nearest to a suspension line first: complaints suspend at {percent(thresholds.complaintRate.suspend)} (warn {percent(thresholds.complaintRate.warn)}), hard bounces at{' '}
        {percent(thresholds.hardBounceRate.suspend)} (warn {percent(thresholds.hardBounceRate.warn)}); rates count from {session.rates.minVolume} deliveries.
      </p>
      <label for="tenant-filter">Find a tenant</label>{' '}
      <input
        id="tenant-filter"
        type="search"
        value={filter}
        onInput={(e) => {
          setFilter((e.currentTarget as HTMLInputElement).value);
          setPage(0);
        }}
      />
      <ErrorText error={tenants.error} />
      {tenants.loading && <p class="hint">Loading…</p>}
      {tenants.data && (
        <table class="overview">
          <caption class="sr-only">Tenants by nearness to a suspension threshold</caption>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Status</th>
              <th scope="col">Open suspensions</th>
              {session.rates.windows.map((w) => (
                <th scope="col" key={`d${w}`}>
                  Deliveries {w}
                </th>
              ))}
              {session.rates.windows.map((w) => (
                <th scope="col" key={`c${w}`}>
                  Complaints {w}
                </th>
              ))}
              {session.rates.windows.map((w) => (
                <th scope="col" key={`h${w}`}>
                  Hard bounces {w}
                </th>
              ))}
              <th scope="col">Of the suspend line</th>
            </tr>
          </thead>
          <tbody>
            {shown.map(({ t, near }) => (
              <tr key={t.id}>
                <th scope="row">
                  <a href={`#/tenants/${encodeURIComponent(t.id)}`}>{t.id}</a>
                </th>
                <td>{t.activeSuspensions > 0 ? <strong class="status-suspended">suspended</strong> : 'sending'}</td>
                <td>{t.activeSuspensions}</td>
                {session.rates.windows.map((w) => (
                  <td key={`d${w}`}>{t.volume[w]?.delivered ?? 0}</td>
                ))}
                {session.rates.windows.map((w) => cell(t.volume[w]?.complaintRate ?? null, thresholds.complaintRate))}
                {session.rates.windows.map((w) => cell(t.volume[w]?.hardBounceRate ?? null, thresholds.hardBounceRate))}
                <td>{Math.round(near * 100)} %</td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={4 + 3 * session.rates.windows.length}>No tenants.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <Pager page={page} hasNext={(page + 1) * PAGE < rows.length} onPage={setPage} />
    </>
  );
}
