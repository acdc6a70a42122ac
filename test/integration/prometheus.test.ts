// A real Prometheus server (Debian package prometheus) scrapes a running mailwarden; its
// HTTP API gives back the counters for the traffic this test sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { sendMail } from '../helpers/client.js';
import { arf } from '../helpers/reports.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const RULES = join(import.meta.dirname, '../../deploy/prometheus/rules/mailwarden.rules.yml');
const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p));

describe('scraped by Prometheus', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let prometheus: ChildProcess | undefined;
  let api: string;

  beforeAll(async () => {
    expect(PROMETHEUS, 'prometheus is needed: Debian package prometheus (.ci/run installs it)').toBeDefined();
    upstream = await startCaptureUpstream();
    // a low minimum volume and thresholds that one complaint in six deliveries comes near
    relay = await startTestRelay(testConfig(upstream.port, { feedback: { rates: { minVolume: 2, complaints: { warn: 0.1, suspend: 0.2 } } } }));
    const dir = mkdtempSync(join(tmpdir(), 'mw-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: ['${RULES}']\nscrape_configs:\n  - job_name: mailwarden\n    static_configs: [ { targets: ['127.0.0.1:${relay.metrics!.port}'] } ]\n`,
    );
    const port = await freePort();
    prometheus = spawn(PROMETHEUS!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    await waitForPort(port);
    api = `http://127.0.0.1:${port}/api/v1`;
  });
  afterAll(async () => {
    prometheus?.kill('SIGKILL');
    await relay?.close();
    await upstream?.close();
  });

  async function query(q: string): Promise<number | null> {
    const res = await fetch(`${api}/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { data?: { result: Array<{ value: [number, string] }> } };
    const r = body.data?.result[0];
    return r ? Number(r.value[1]) : null;
  }

  it('reads back the counters for the messages sent', async () => {
    // what happens before the first scrape, Prometheus counts as the series' starting value
    const first = Date.now() + 15_000;
    while (Date.now() < first && (await query('up{job="mailwarden"}')) !== 1) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 3; i++) {
      const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: [`r${i}@example.org`, `s${i}@example.org`], message: 'Subject: s\r\n\r\nb\r\n' });
      expect(sent.ok).toBe(true);
    }
    const deadline = Date.now() + 15_000;
    let relayed: number | null = null;
    while (Date.now() < deadline) {
      relayed = await query('sum(mailwarden_transactions_total{job="mailwarden",outcome="relayed"})');
      if (relayed === 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(relayed).toBe(3);
    expect(await query('sum(mailwarden_policy_verdicts_total{stage="recipient",verdict="accept"})')).toBe(6);
    expect(await query('mailwarden_tenant_messages_total{tenant="acme",outcome="relayed"}')).toBe(3);
    expect(await query('up{job="mailwarden"}')).toBe(1);
    expect(await query('mailwarden_tenant_deliveries_total{tenant="acme"}')).toBe(6);
    expect(await query('sum(mailwarden_upstream_duration_seconds_count{phase="transaction"})')).toBe(3);
    expect(await query('sum(mailwarden_upstream_duration_seconds_count{phase="final_reply"})')).toBe(3);
    expect(await query('sum(mailwarden_upstream_duration_seconds_count{phase="connect"})')).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('evaluates every alert rule of deploy/prometheus against the scraped series without error', async () => {
    type Rule = { name: string; health: string; lastError?: string; lastEvaluation: string };
    const rules = async () => {
      const body = (await (await fetch(`${api}/rules`)).json()) as { data: { groups: Array<{ rules: Rule[] }> } };
      return body.data.groups.flatMap((g) => g.rules);
    };
    // rules evaluated before the first scrape see no series and cannot fail: wait for an
    // evaluation after Prometheus holds the traffic of the test above
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await query('sum(mailwarden_transactions_total{outcome="relayed"})')) !== 3) await new Promise((r) => setTimeout(r, 250));
    const since = Date.now();
    let all = await rules();
    while (Date.now() < deadline && (all.length === 0 || all.some((r) => Date.parse(r.lastEvaluation) <= since))) {
      await new Promise((r) => setTimeout(r, 250));
      all = await rules();
    }
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  }, 30_000);

  it('the near-threshold alert goes pending for a tenant whose complaint rate nears the suspend threshold', async () => {
    // one complaint about the first of the six deliveries: 16.7%, at least 80% of the 20% threshold
    const report = await sendMail({ port: relay.feedback!.port, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: arf(upstream.messages[0]!.raw), tls: false });
    expect(report.response).toMatch(/^250 /);
    type Alert = { labels: Record<string, string>; state: string };
    const deadline = Date.now() + 15_000;
    let near: Alert | undefined;
    while (Date.now() < deadline && !near) {
      const body = (await (await fetch(`${api}/alerts`)).json()) as { data: { alerts: Alert[] } };
      near = body.data.alerts.find((a) => a.labels.alertname === 'MailwardenTenantNearComplaintThreshold');
      if (!near) await new Promise((r) => setTimeout(r, 250));
    }
    expect(near).toMatchObject({ state: 'pending', labels: { tenant: 'acme', severity: 'warning' } });
  }, 30_000);

  it('answers every query of the Grafana dashboards without error (variables filled in)', async () => {
    const dir = join(import.meta.dirname, '../../deploy/grafana/dashboards');
    type Dashboard = { uid: string; panels: Array<{ id: number; title: string; targets?: Array<{ expr: string; refId: string }> }>; templating: { list: Array<{ name: string }> } };
    const failures: string[] = [];
    let queries = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard;
      expect(new Set(d.panels.map((p) => p.id)).size, `${file}: panel ids are unique`).toBe(d.panels.length);
      const variables = new Set(d.templating.list.map((v) => v.name));
      for (const panel of d.panels) {
        for (const target of panel.targets ?? []) {
          for (const used of target.expr.matchAll(/\$(\w+)/g)) if (!variables.has(used[1]!)) failures.push(`${file} "${panel.title}": $${used[1]} is not a variable of the dashboard`);
          // every series is selected by the instance variable, so one dashboard serves each replica or all
          if (/\b(mailwarden|process|nodejs)_\w+(?!\{instance=~"\$instance")(\{|\b)/.test(target.expr.replaceAll(/(mailwarden|process|nodejs)_\w+\{instance=~"\$instance"/g, ''))) {
            failures.push(`${file} "${panel.title}" ${target.refId}: a series not selected by $instance`);
          }
          const expr = target.expr.replaceAll('$tenant', 'acme').replaceAll('$instance', '.*');
          const res = await fetch(`${api}/query?query=${encodeURIComponent(expr)}`);
          const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
          queries++;
          if (body.status !== 'success') failures.push(`${file} "${panel.title}" ${target.refId}: ${body.error}`);
        }
      }
    }
    expect(queries).toBeGreaterThan(30);
    expect(failures).toEqual([]);
  }, 30_000);

  it('the dashboards load in any Grafana: the data source is a variable, not a fixed uid', () => {
    const dir = join(import.meta.dirname, '../../deploy/grafana/dashboards');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      const d = JSON.parse(text) as { templating: { list: Array<{ name: string; type: string; query?: unknown }> } };
      expect(d.templating.list.find((v) => v.name === 'datasource'), file).toMatchObject({ type: 'datasource', query: 'prometheus' });
      expect(d.templating.list.find((v) => v.name === 'instance'), file).toMatchObject({ type: 'query' });
      const uids = [...text.matchAll(/"uid": "([^"]*)"/g)].map((m) => m[1]).filter((u) => !u!.startsWith('mw-'));
      expect(new Set(uids), file).toEqual(new Set(['${datasource}']));
    }
  });
});
