// One tenant: its rates against the lines, its suspensions with their evidence, its
// suppression list, its reports and its data subjects. Staff may suspend and lift; a tenant
// sees its own page only (another's answers "not found", as the API does).
import { useState } from 'preact/hooks';
import { api, enc, percent, when, type FeedbackRecord, type Rates, type Session, type Suspension, type Tenant, type WindowVolume } from './api';
import { RateChart } from './chart';
import { ErrorText, field, messageOf, Section, Pager, useCursorPages, useFormAction, useLoad } from './ui';

const REASONS = ['manual', 'complaint', 'hard-bounce', 'unsubscribe', 'import'] as const;

export function TenantPage({ id, session }: { id: string; session: Session }) {
  const tenant = useLoad(() => api<Tenant>('GET', `/tenants/${enc(id)}`), [id]);
  const staff = session.role !== 'tenant';
  if (tenant.error) return <ErrorText error={tenant.error} />;
  if (!tenant.data) return <p class="hint">Loading…</p>;
  const t = tenant.data;
  return (
    <>
      <h1>
        Tenant {t.id} {t.activeSuspensions > 0 ? <span class="status-suspended">suspended</span> : <span class="status-ok">sending</span>}
      </h1>
      <p class="hint">
        Sender domains: {t.domains.join(', ') || 'none'}
        {t.username ? ` · SMTP login ${t.username}` : ''}
        {t.networks.length ? ` · networks ${t.networks.join(', ')}` : ''} · {t.suppressions} suppressed address(es) · since {when(t.createdAt)}
      </p>
      <RatesSection tenant={t} session={session} />
      <Suspensions tenant={t} staff={staff} onChange={tenant.reload} />
      <Suppressions tenant={t.id} staff={staff} />
      <Reports tenant={t.id} />
      <Subjects tenant={t.id} />
    </>
  );
}

function VolumeRow({ label, v, session }: { label: string; v: WindowVolume | undefined; session: Session }) {
  const { thresholds } = session.rates;
  const mark = (rate: number | null, line: { warn: number; suspend: number }) => (rate === null ? '' : rate >= line.suspend ? 'over' : rate >= line.warn ? 'near' : '');
  return (
    <tr>
      <th scope="row">{label}</th>
      <td>{v?.delivered ?? 0}</td>
      <td>{v?.complaints ?? 0}</td>
      <td class={mark(v?.complaintRate ?? null, thresholds.complaintRate)}>{percent(v?.complaintRate)}</td>
      <td>{v?.hardBounces ?? 0}</td>
      <td class={mark(v?.hardBounceRate ?? null, thresholds.hardBounceRate)}>{percent(v?.hardBounceRate)}</td>
    </tr>
  );
}

function RatesSection({ tenant, session }: { tenant: Tenant; session: Session }) {
  const [domain, setDomain] = useState('');
  const rates = useLoad(() => api<Rates>('GET', `/tenants/${enc(tenant.id)}/rates${domain ? `?domain=${enc(domain)}` : ''}`), [tenant.id, domain]);
  const head = (
    <thead>
      <tr>
        <th scope="col">Window</th>
        <th scope="col">Deliveries</th>
        <th scope="col">Complaints</th>
        <th scope="col">Complaint rate</th>
        <th scope="col">Hard bounces</th>
        <th scope="col">Hard-bounce rate</th>
      </tr>
    </thead>
  );
  return (
    <Section title="Rates">
      <table>
        <caption>The tenant (rates count from {session.rates.minVolume} deliveries)</caption>
        {head}
        <tbody>
          {session.rates.windows.map((w) => (
            <VolumeRow key={w} label={w} v={tenant.volume[w]} session={session} />
          ))}
        </tbody>
      </table>
      {tenant.domains.length > 0 && (
        <table>
          <caption>Per sender domain</caption>
          {head}
          <tbody>
            {tenant.domains.flatMap((d) => session.rates.windows.map((w) => <VolumeRow key={`${d}${w}`} label={`${d}, ${w}`} v={tenant.domainVolume[d]?.[w]} session={session} />))}
          </tbody>
        </table>
      )}
      <p>
        <label for="chart-domain">Over time, for</label>{' '}
        <select id="chart-domain" value={domain} onChange={(e) => setDomain((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">the whole tenant</option>
          {tenant.domains.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </p>
      <ErrorText error={rates.error} />
      {rates.data && (
        <div class="charts">
          <RateChart title="Complaint rate (24 h)" points={rates.data.points} rate="complaintRate" thresholds={rates.data.thresholds.complaintRate} />
          <RateChart title="Hard-bounce rate (24 h)" points={rates.data.points} rate="hardBounceRate" thresholds={rates.data.thresholds.hardBounceRate} />
        </div>
      )}
    </Section>
  );
}

function Evidence({ tenant, evidence }: { tenant: string; evidence: Record<string, unknown> }) {
  const { sampleReports, ...figures } = evidence as { sampleReports?: string[] } & Record<string, unknown>;
  const [open, setOpen] = useState<FeedbackRecord | null>(null);
  const [error, setError] = useState<string | null>(null);
  const show = async (id: string) => {
    setError(null);
    try {
      setOpen(await api<FeedbackRecord>('GET', `/tenants/${enc(tenant)}/feedback/${enc(id)}`));
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <div class="evidence">
      <h5>Evidence</h5>
      <dl>
        {Object.entries(figures).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{typeof v === 'number' && k.toLowerCase().includes('rate') ? `${percent(v)} (${v})` : typeof v === 'number' && k === 'threshold' ? percent(v) : String(v)}</dd>
          </div>
        ))}
      </dl>
      {sampleReports && sampleReports.length > 0 && (
        <>
          <h5>Sample reports</h5>
          <ul class="samples">
            {sampleReports.map((r) => (
              <li key={r}>
                <button type="button" onClick={() => show(r)} aria-expanded={open?.id === r}>
                  Report {r}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <ErrorText error={error} />
      {open && <ReportView record={open} />}
    </div>
  );
}

/** A report as the CLI's `feedback show` prints it: what it says, never the report itself (it names recipients). */
function ReportView({ record }: { record: FeedbackRecord }) {
  return (
    <div class="report" aria-label={`report ${record.id}`}>
      <h6>
        Report {record.id}: {record.kind}, {record.outcome}, received {when(record.receivedAt)}
      </h6>
      {/* scrolls: reachable with the keyboard */}
      <pre tabIndex={0} aria-label={`the record of report ${record.id}`}>
        {JSON.stringify(record, null, 2)}
      </pre>
    </div>
  );
}

function Suspensions({ tenant, staff, onChange }: { tenant: Tenant; staff: boolean; onChange: () => void }) {
  const pageOf = (all: boolean) => async (cursor: string | null) => {
    const r = await api<{ suspensions: Suspension[]; next: string | null }>('GET', `/tenants/${enc(tenant.id)}/suspensions?all=${all}&limit=10${cursor ? `&after=${enc(cursor)}` : ''}`);
    return { items: r.suspensions, next: r.next };
  };
  const inForce = useCursorPages(pageOf(false), [tenant.id]);
  const history = useCursorPages(pageOf(true), [tenant.id]);
  const changed = () => {
    inForce.reload();
    history.reload();
    onChange();
  };
  const active = (s: Suspension) => !s.lifted && (!s.expiresAt || Date.parse(s.expiresAt) > Date.now());
  const item = (s: Suspension) => (
    <li key={s.id} class={active(s) ? 'active' : 'lifted'}>
      <article aria-label={`suspension ${s.id}`}>
        <h4>
          {s.id}: {s.scope === 'tenant' ? 'the whole tenant' : `${s.scope} ${s.value}`} — {active(s) ? 'in force' : s.lifted ? 'lifted' : 'expired'}
        </h4>
        <p>
          {s.source === 'automatic' ? 'Automatic' : `By ${s.actor}`} on {when(s.createdAt)}
          {s.ticket ? ` [${s.ticket}]` : ''}: {s.reason}
          {s.expiresAt ? ` · until ${when(s.expiresAt)}` : ''}
        </p>
        {s.lifted && (
          <p>
            Lifted {when(s.lifted.at)} by {s.lifted.by}: {s.lifted.reason}
          </p>
        )}
        {s.evidence && <Evidence tenant={tenant.id} evidence={s.evidence} />}
        {staff && active(s) && <LiftForm tenant={tenant.id} suspension={s.id} onDone={changed} />}
      </article>
    </li>
  );
  const ended = (history.data?.items ?? []).filter((s) => !active(s));
  return (
    <Section title="Suspensions">
      <h3 class="list-title">In force</h3>
      <ErrorText error={inForce.error} />
      {inForce.data && inForce.data.items.length === 0 && <p>None: the tenant sends.</p>}
      <ul class="suspensions" aria-label="suspensions in force">
        {(inForce.data?.items ?? []).map(item)}
      </ul>
      <Pager page={inForce.page} hasNext={inForce.hasNext} onPage={inForce.onPage} />
      {staff && <SuspendForm tenant={tenant} onDone={changed} />}
      <h3 class="list-title">Lifted and expired, newest first</h3>
      <ErrorText error={history.error} />
      {history.data && ended.length === 0 && <p>None{history.page > 0 ? ' on this page' : ''}.</p>}
      <ul class="suspensions" aria-label="lifted and expired suspensions">
        {ended.map(item)}
      </ul>
      <Pager page={history.page} hasNext={history.hasNext} onPage={history.onPage} />
    </Section>
  );
}

function LiftForm({ tenant, suspension, onDone }: { tenant: string; suspension: string; onDone: () => void }) {
  const [submit, error] = useFormAction(async (fields) => {
    const ticket = field(fields, 'ticket');
    await api('POST', `/tenants/${enc(tenant)}/suspensions/${enc(suspension)}/lift`, { reason: field(fields, 'reason'), ...(ticket ? { ticket } : {}) });
    onDone();
  });
  return (
    <form class="inline" onSubmit={submit} aria-label={`lift ${suspension}`}>
      <label for={`lift-reason-${suspension}`}>Reason for lifting</label>
      <input id={`lift-reason-${suspension}`} name="reason" required />
      <label for={`lift-ticket-${suspension}`}>Ticket</label>
      <input id={`lift-ticket-${suspension}`} name="ticket" />
      <button type="submit">Lift suspension</button>
      <ErrorText error={error} />
    </form>
  );
}

function SuspendForm({ tenant, onDone }: { tenant: Tenant; onDone: () => void }) {
  const [scope, setScope] = useState<'tenant' | 'domain'>('tenant');
  const [submit, error] = useFormAction(async (fields, form) => {
    const ticket = field(fields, 'ticket');
    await api('POST', `/tenants/${enc(tenant.id)}/suspensions`, { scope, ...(scope === 'domain' ? { value: field(fields, 'domain') } : {}), reason: field(fields, 'reason'), ...(ticket ? { ticket } : {}) });
    form.reset();
    onDone();
  });
  return (
    <details>
      <summary>Suspend</summary>
      <form onSubmit={submit} aria-label="suspend">
        <label for="suspend-scope">What</label>
        <select id="suspend-scope" value={scope} onChange={(e) => setScope((e.currentTarget as HTMLSelectElement).value as 'tenant' | 'domain')}>
          <option value="tenant">the whole tenant</option>
          <option value="domain" disabled={tenant.domains.length === 0}>
            one sender domain
          </option>
        </select>
        {scope === 'domain' && (
          <>
            <label for="suspend-domain">Domain</label>
            <select id="suspend-domain" name="domain">
              {tenant.domains.map((d) => (
                <option key={d}>{d}</option>
              ))}
            </select>
          </>
        )}
        <label for="suspend-reason">Reason (the tenant sees it)</label>
        <input id="suspend-reason" name="reason" required />
        <label for="suspend-ticket">Ticket</label>
        <input id="suspend-ticket" name="ticket" />
        <button type="submit">Suspend</button>
        <ErrorText error={error} />
      </form>
    </details>
  );
}

type Lookup = { suppressed: false } | { suppressed: true; reason: string; source?: string; since: string; expiresAt?: string };

function Suppressions({ tenant, staff }: { tenant: string; staff: boolean }) {
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  // the address typed is sent in a request body only, and the field is emptied once answered
  const [lookUp, lookupError] = useFormAction(async (fields, form) => {
    setLookup(null);
    setLookup(await api<Lookup>('POST', `/tenants/${enc(tenant)}/suppressions/lookup`, { address: field(fields, 'address') }));
    form.reset();
  });
  const suppress = async (entries: Array<{ address: string; reason: string }>) => (await api<{ added: number }>('POST', `/tenants/${enc(tenant)}/suppressions`, { entries })).added;
  const [add, addError] = useFormAction(async (fields, form) => {
    const added = await suppress([{ address: field(fields, 'address'), reason: field(fields, 'reason') }]);
    form.reset();
    setMessage(`Suppressed (${added} added).`);
  });
  const [importFile, importError] = useFormAction(async (fields, form) => {
    const file = fields.get('file');
    if (!(file instanceof File) || file.size === 0) throw new Error('Choose a file: one address per line.');
    const lines = (await file.text()).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !/^address\b/i.test(l));
    const addresses = lines.map((l) => l.split(',')[0]!.trim());
    const added = await suppress(addresses.map((address) => ({ address, reason: 'import' })));
    form.reset();
    setMessage(`Imported ${addresses.length} line(s) (${added} new).`);
  });
  return (
    <Section title="Suppression list">
      <form class="inline" onSubmit={lookUp} aria-label="suppression lookup">
        <label for="lookup-address">Look up an address</label>
        <input id="lookup-address" name="address" type="email" autocomplete="off" required />
        <button type="submit">Look up</button>
        <ErrorText error={lookupError} />
      </form>
      {lookup && (
        <p role="status" class="lookup">
          {lookup.suppressed
            ? `Suppressed since ${when(lookup.since)}: ${lookup.reason}${lookup.source ? ` (${lookup.source})` : ''}${lookup.expiresAt ? `, until ${when(lookup.expiresAt)}` : ''}.`
            : 'Not suppressed.'}
        </p>
      )}
      <form class="inline" onSubmit={add} aria-label="add a suppression">
        <label for="add-address">Suppress an address</label>
        <input id="add-address" name="address" type="email" autocomplete="off" required />
        <label for="add-reason">Reason</label>
        <select id="add-reason" name="reason">
          {REASONS.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button type="submit">Suppress</button>
        <ErrorText error={addError} />
      </form>
      <form class="inline" onSubmit={importFile} aria-label="suppression import">
        <label for="import-file">Import a list (one address per line, or CSV with the address first)</label>
        <input id="import-file" name="file" type="file" accept=".csv,.txt,text/csv,text/plain" />
        <button type="submit">Import</button>
        <ErrorText error={importError} />
      </form>
      {message && (
        <p role="status" class="ok">
          {message}
        </p>
      )}
      {staff && <p class="hint">Entries are kept by pseudonym; only the tenant's export holds the addresses.</p>}
    </Section>
  );
}

function Reports({ tenant }: { tenant: string }) {
  const pages = useCursorPages(async (cursor) => {
    const r = await api<{ reports: FeedbackRecord[]; next: string | null }>('GET', `/tenants/${enc(tenant)}/feedback?limit=20${cursor ? `&before=${enc(cursor)}` : ''}`);
    return { items: r.reports, next: r.next };
  }, [tenant]);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Section title="Complaint and bounce reports">
      <ErrorText error={pages.error} />
      {pages.data && pages.data.items.length === 0 && <p>No reports.</p>}
      {pages.data && pages.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Report</th>
              <th scope="col">Received</th>
              <th scope="col">Kind</th>
              <th scope="col">Outcome</th>
              <th scope="col">Sender domain</th>
              <th scope="col">Counts</th>
            </tr>
          </thead>
          <tbody>
            {pages.data.items.map((r) => (
              <>
                <tr key={r.id}>
                  <th scope="row">
                    <button type="button" class="link" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? null : r.id)}>
                      {r.id}
                    </button>
                  </th>
                  <td>{when(r.receivedAt)}</td>
                  <td>{r.kind}</td>
                  <td>{r.outcome}</td>
                  <td>{r.senderDomain ?? '–'}</td>
                  <td>
                    {Object.entries(r.counts)
                      .filter(([, n]) => n > 0)
                      .map(([k, n]) => `${n} ${k}`)
                      .join(', ') || 'nothing counted'}
                  </td>
                </tr>
                {open === r.id && (
                  <tr key={`${r.id}-open`}>
                    <td colSpan={6}>
                      <ReportView record={r} />
                    </td>
                  </tr>
                )}
              </>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={pages.page} hasNext={pages.hasNext} onPage={pages.onPage} />
    </Section>
  );
}

/** A data subject's export and erasure: one address, with a confirmation step before anything is done. */
function Subjects({ tenant }: { tenant: string }) {
  const [pending, setPending] = useState<{ action: 'export' | 'erase'; address: string } | null>(null);
  const [result, setResult] = useState<{ action: 'export' | 'erase'; text: string; url?: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ask = (action: 'export' | 'erase') => (e: Event) => {
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem('address') as HTMLInputElement;
    setPending({ action, address: input.value });
    setResult(null);
    input.value = '';
  };
  const confirm = async () => {
    if (!pending) return;
    setError(null);
    try {
      const body = await api<Record<string, unknown>>('POST', `/tenants/${enc(tenant)}/subjects/${pending.action}`, { address: pending.address });
      const text = JSON.stringify(body, null, 2);
      setResult(pending.action === 'export' ? { action: 'export', text, url: URL.createObjectURL(new Blob([text], { type: 'application/json' })) } : { action: 'erase', text });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setPending(null);
    }
  };
  return (
    <Section title="Data subjects">
      <p class="hint">Everything about one recipient address of this tenant, for a data subject's request: an export, or an erasure of its records (a suppression stays, as a bare pseudonym).</p>
      <form class="inline" onSubmit={ask('export')} aria-label="data subject export">
        <label for="export-address">Export for address</label>
        <input id="export-address" name="address" type="email" autocomplete="off" required />
        <button type="submit">Export…</button>
      </form>
      <form class="inline" onSubmit={ask('erase')} aria-label="data subject erasure">
        <label for="erase-address">Erase for address</label>
        <input id="erase-address" name="address" type="email" autocomplete="off" required />
        <button type="submit">Erase…</button>
      </form>
      {pending && (
        <div role="alertdialog" aria-labelledby="confirm-text" class="confirm">
          <p id="confirm-text">
            {pending.action === 'export'
              ? 'Export everything mailwarden keeps about this address? The export holds the address itself: keep it as the data subject\'s request requires.'
              : 'Erase every record about this address? This cannot be undone.'}
          </p>
          <button type="button" onClick={confirm}>
            {pending.action === 'export' ? 'Yes, export' : 'Yes, erase'}
          </button>{' '}
          <button type="button" onClick={() => setPending(null)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorText error={error} />
      {result && (
        <div role="status" class="ok">
          {result.action === 'export' ? (
            <p>
              Export ready: <a href={result.url} download={`subject-export-${tenant}.json`}>download the export (JSON)</a>
            </p>
          ) : (
            <>
              <p>Erased.</p>
              <pre tabIndex={0} aria-label="what was erased">
                {result.text}
              </pre>
            </>
          )}
        </div>
      )}
    </Section>
  );
}
