// A real Prometheus server (Debian package prometheus) scrapes a running mailwarden; its
// HTTP API gives back the counters for the traffic this test sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { sendMail } from '../helpers/client.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p));

describe('scraped by Prometheus', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let prometheus: ChildProcess | undefined;
  let api: string;

  beforeAll(async () => {
    expect(PROMETHEUS, 'prometheus is needed: Debian package prometheus (.ci/run installs it)').toBeDefined();
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port));
    const dir = mkdtempSync(join(tmpdir(), 'mw-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: mailwarden\n    static_configs: [ { targets: ['127.0.0.1:${relay.metrics!.port}'] } ]\n`,
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
  }, 30_000);
});
