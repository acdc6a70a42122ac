// The operators' files under deploy/: Prometheus accepts the scrape configuration and the
// alert rules, and every metric they and the Grafana dashboards name is one mailwarden
// serves; no label value in /metrics is an address.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { sendMail } from '../helpers/client.js';
import { labelValues, sample, scrape } from '../helpers/metrics.js';

const DEPLOY = join(import.meta.dirname, '../../deploy');
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => {
  try {
    execFileSync(p, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

function metricNames(text: string): string[] {
  return [...new Set([...text.matchAll(/\bmailwarden_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')))].sort();
}

describe('deploy files', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let exposition: string;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port));
    const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['someone@example.org'], message: 'Subject: s\r\n\r\nb\r\n' });
    expect(sent.ok).toBe(true);
    exposition = await scrape(relay.metrics!.port);
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('promtool accepts the scrape configuration and the alert rules (Debian package prometheus)', () => {
    expect(PROMTOOL, 'promtool is needed: Debian package prometheus (.ci/run installs it)').toBeDefined();
    expect(execFileSync(PROMTOOL!, ['check', 'config', join(DEPLOY, 'prometheus/prometheus.yml')], { encoding: 'utf8' })).toContain('SUCCESS');
    expect(execFileSync(PROMTOOL!, ['check', 'rules', join(DEPLOY, 'prometheus/rules/mailwarden.rules.yml')], { encoding: 'utf8' })).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool\'s rule tests pass: alerts fire on the series they are for, and not on others', () => {
    const dir = join(DEPLOY, 'prometheus/tests');
    const files = readdirSync(dir).filter((f) => f.endsWith('.test.yml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(execFileSync(PROMTOOL!, ['test', 'rules', join(dir, f)], { encoding: 'utf8' })).toContain('SUCCESS');
  });

  it('every alert has a runbook line', () => {
    const rules = readFileSync(join(DEPLOY, 'prometheus/rules/mailwarden.rules.yml'), 'utf8');
    expect((rules.match(/- alert: /g) ?? []).length).toBe((rules.match(/runbook: /g) ?? []).length);
  });

  it('every metric the rules and dashboards name exists in /metrics', () => {
    const served = new Set(metricNames(exposition));
    const files = [join(DEPLOY, 'prometheus/rules/mailwarden.rules.yml'), ...readdirSync(join(DEPLOY, 'grafana/dashboards')).map((f) => join(DEPLOY, 'grafana/dashboards', f))];
    const named = new Set(files.flatMap((f) => metricNames(readFileSync(f, 'utf8'))));
    expect(named.size).toBeGreaterThan(15);
    expect([...named].filter((n) => !served.has(n))).toEqual([]);
  });

  it('docs/metrics.md describes every metric mailwarden serves, and names none it does not', () => {
    const doc = readFileSync(join(DEPLOY, '../docs/metrics.md'), 'utf8');
    const served = metricNames(exposition);
    // the standard process and Node.js metrics keep their names
    expect(exposition).toMatch(/^process_resident_memory_bytes \d/m);
    expect(exposition).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    // which build this is
    const pkg = JSON.parse(readFileSync(join(DEPLOY, '../package.json'), 'utf8')) as { version: string };
    expect(sample(exposition, 'mailwarden_build_info', { version: pkg.version })).toBe(1);
    const documented = new Set([...doc.matchAll(/`(mailwarden_[a-z0-9_]+)`/g)].map((m) => m[1]!));
    expect(served.length).toBeGreaterThan(20);
    expect(served.filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => !metricNames(exposition).includes(n))).toEqual([]);
  });

  it('no label value in /metrics is an address', () => {
    expect(labelValues(exposition).length).toBeGreaterThan(20);
    expect(labelValues(exposition).filter((v) => v.includes('@'))).toEqual([]);
    expect(exposition).not.toContain('someone@example.org');
  });
});
