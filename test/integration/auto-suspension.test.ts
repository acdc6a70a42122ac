// Enough complaints to cross the thresholds: first a warning, then an automatic suspension
// that carries its evidence, refuses the next MAIL, reaches the webhook receivers signed,
// shows in `mailwarden suspensions`, and is lifted only by a person with a reason.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_HASH, ACME_PASSWORD, GLOBEX_HASH, type TestRelay } from '../helpers/relay.js';
import { authedSession, sendMail } from '../helpers/client.js';
import { arf } from '../helpers/reports.js';
import { CLI } from '../helpers/process.js';
import { scrape, sample } from '../helpers/metrics.js';

const SECRET = 'webhook-secret-for-tests';
const execFileP = promisify(execFile);

interface Hook {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

describe('automatic suspension', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let hooks: Hook[];
  let receiver: Server;
  let dir: string;
  // the relay's clock, which the last test moves an hour on
  let offset = 0;
  const copies: Buffer[] = [];
  const report = (i: number) => sendMail({ port: relay.feedback!.port, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: arf(copies[i]!), tls: false });
  async function deliver(n: number, from: number): Promise<void> {
    for (let i = from; i < from + n; i++) {
      const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'news@acme.test', to: [`reader${i}@example.org`], message: `From: news@acme.test\r\nTo: reader${i}@example.org\r\nSubject: n${i}\r\n\r\nHi.\r\n` });
      expect(sent.ok).toBe(true);
      copies.push(upstream.messages.at(-1)!.raw);
    }
    // deliveries reach the store within a second
    await new Promise((r) => setTimeout(r, 1200));
  }

  beforeAll(async () => {
    hooks = [];
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        hooks.push({ path: req.url ?? '', headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(
      testConfig(upstream.port, {
        tenants: [
          { id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test'], abuseContact: { webhook: `${hookBase}/acme` } },
          { id: 'globex', username: 'globex', password: GLOBEX_HASH, domains: ['globex.test'] },
        ],
        feedback: { rates: { minVolume: 20, complaints: { warn: 0.04, suspend: 0.09 } } },
        notifications: { abuseDesk: { webhook: `${hookBase}/desk`, email: 'abuse@provider.example' }, webhookSecret: SECRET, from: 'mailwarden@relay.test' },
      }),
      { now: () => Date.now() + offset },
    );
    dir = mkdtempSync(join(tmpdir(), 'mw-auto-'));
    const c = relay.config;
    writeFileSync(join(dir, 'config.yaml'), `store: { kind: embedded, path: ${c.store.path} }\nkeys: { masterKeyFile: ${c.keys.masterKeyFile} }\n`);
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
    receiver?.close();
  });

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml'), MAILWARDEN_ACTOR: 'desk-alice' } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  async function waitFor<T>(what: () => T | undefined, ms = 5000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = what();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  function verified(hook: Hook): Record<string, unknown> {
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hook.headers['x-mailwarden-signature']));
    expect(m).not.toBeNull();
    expect(createHmac('sha256', SECRET).update(`${m![1]}.${hook.body}`).digest('hex')).toBe(m![2]);
    return JSON.parse(hook.body) as Record<string, unknown>;
  }

  it('warns, then suspends with evidence; the next MAIL is refused; receivers get signed notices', async () => {
    // 20 deliveries: the minimum volume
    await deliver(20, 0);

    // 1 of 20 = 5%: at or above the 4% warning, below the 9% suspension
    expect((await report(0)).response).toMatch(/ applied$/);
    const warning = await waitFor(() => hooks.find((h) => h.path === '/desk' && h.headers['x-mailwarden-event'] === 'rate.warning'));
    expect(verified(warning)).toMatchObject({ event: 'rate.warning', tenant: 'acme' });
    expect(await relay.store.listSuspensions('acme')).toEqual([]);

    // 2 of 20 = 10%: suspended
    expect((await report(1)).response).toMatch(/ applied$/);
    const [suspension] = await relay.store.listSuspensions('acme');
    expect(suspension).toMatchObject({ scope: 'tenant', source: 'automatic', actor: 'mailwarden' });
    expect(suspension!.expiresAt).toBeUndefined();
    expect(suspension!.evidence).toMatchObject({ metric: 'complaint-rate', scope: 'tenant', window: '24h', delivered: 20, complaints: 2, rate: 0.1, threshold: 0.09, minVolume: 20 });
    expect((suspension!.evidence as { sampleReports: string[] }).sampleReports).toHaveLength(2);

    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<news@acme.test>')).toBe(`550 5.7.1 Sending suspended for this account; contact your provider with the reference (ref ${suspension!.id})`);
    s.destroy();

    for (const path of ['/desk', '/acme']) {
      const notice = await waitFor(() => hooks.find((h) => h.path === path && h.headers['x-mailwarden-event'] === 'suspension.automatic'));
      expect(verified(notice)).toMatchObject({ event: 'suspension.automatic', tenant: 'acme', details: { suspension: suspension!.id, complaints: 2, delivered: 20 } });
      expect(notice.body).not.toContain('reader');
    }
    // and by email to the abuse desk, through the upstream, from the null sender
    const mail = await waitFor(() => upstream.messages.find((m) => m.to.includes('abuse@provider.example') && m.raw.toString().includes('suspended automatically')));
    expect(mail.from).toBe('');
    const text = mail.raw.toString();
    expect(text).toMatch(/^Subject: \[mailwarden\] acme: sending suspended automatically/m);
    expect(text).toContain(`suspension: ${suspension!.id}`);
    expect(text).toMatch(/^Auto-Submitted: auto-generated/m);
    expect(text).not.toContain('reader');

    // a third complaint changes nothing: the tenant stays suspended once
    expect((await report(2)).response).toMatch(/ applied$/);
    expect(await relay.store.listSuspensions('acme')).toHaveLength(1);

    // the suspension gauge is refreshed from the store right after the suspension
    let metrics = await scrape(relay.metrics!.port);
    for (let i = 0; i < 100 && sample(metrics, 'mailwarden_suspensions_active', { scope: 'tenant', source: 'automatic' }) !== 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      metrics = await scrape(relay.metrics!.port);
    }
    expect(sample(metrics, 'mailwarden_suspensions_active', { scope: 'tenant', source: 'automatic' })).toBe(1);
    expect(sample(metrics, 'mailwarden_tenant_suspensions_active', { tenant: 'acme' })).toBe(1);
    expect(sample(metrics, 'mailwarden_tenant_suspensions_active', { tenant: 'globex' })).toBeUndefined();
    // what a dashboard compares: 3 complaints in 20 deliveries against the 9% threshold
    expect(sample(metrics, 'mailwarden_tenant_deliveries_total', { tenant: 'acme' })).toBe(20);
    expect(sample(metrics, 'mailwarden_tenant_complaints_total', { tenant: 'acme' })).toBe(3);
    expect(sample(metrics, 'mailwarden_feedback_threshold_ratio', { metric: 'complaints', action: 'suspend' })).toBe(0.09);
    expect(sample(metrics, 'mailwarden_feedback_min_volume')).toBe(20);
    expect(sample(metrics, 'mailwarden_feedback_rate_actions_total', { action: 'suspend', metric: 'complaints', scope: 'tenant' })).toBe(1);
    expect(sample(metrics, 'mailwarden_notices_total', { channel: 'webhook', outcome: 'sent' })).toBeGreaterThanOrEqual(3);
    expect(sample(metrics, 'mailwarden_notices_total', { channel: 'email', outcome: 'sent' })).toBeGreaterThanOrEqual(2);
  });

  it('`mailwarden suspensions` shows the evidence; lifting needs a reason and records who and why', async () => {
    const [suspension] = await relay.store.listSuspensions('acme');
    const listed = await cli(['suspensions', '--tenant', 'acme']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${suspension!.id}  acme  whole tenant  automatic`);
    expect(listed.stdout).toMatch(/evidence: .*"metric":"complaint-rate".*"delivered":20.*"complaints":2.*"rate":0\.1.*"threshold":0\.09/);

    // the rates themselves, against the lines, by the relay's configuration
    writeFileSync(join(dir, 'config.yaml'), `${readFileSync(join(dir, 'config.yaml'), 'utf8')}feedback: { rates: { minVolume: 20, complaints: { warn: 0.04, suspend: 0.09 } } }\n`);
    const shown = await cli(['tenant', 'show', 'acme']);
    expect(shown.stdout).toMatch(/^acme {2}SUSPENDED \(1 open: mailwarden suspensions --tenant acme\)$/m);
    // three complaints by now, for 20 deliveries
    expect(shown.stdout).toMatch(/^ {2}24h +20 +3 +15\.000% SUSPEND +0 +0\.000%$/m);
    expect(shown.stdout).toMatch(/^ {2}acme\.test 24h +20 +3 +15\.000% SUSPEND/m);
    expect(shown.stdout).toContain('lines: complaints warn 4.00%, suspend 9.00%');
    const json = JSON.parse((await cli(['tenant', 'show', 'acme', '--json'])).stdout) as { volume: Record<string, { complaintRate: number }>; activeSuspensions: number };
    expect(json).toMatchObject({ activeSuspensions: 1, volume: { '24h': { delivered: 20, complaints: 3, complaintRate: 0.15 } } });
    expect((await cli(['tenant', 'show', 'nobody'])).stderr).toContain('no tenant "nobody"');

    const noReason = await cli(['unsuspend', '--tenant', 'acme', '--id', suspension!.id]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');
    expect(await relay.store.listSuspensions('acme')).toHaveLength(1);

    expect((await cli(['unsuspend', '--tenant', 'acme', '--id', suspension!.id, '--reason', 'list cleaned, ticket 7'])).code).toBe(0);
    const all = await relay.store.listSuspensions('acme', { includeLifted: true });
    expect(all[0]!.lifted).toMatchObject({ by: 'desk-alice', reason: 'list cleaned, ticket 7' });
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<news@acme.test>')).toMatch(/^250/);
    s.destroy();

    // both attempts are in the audit log: who, what, why, how it ended
    const audit = readFileSync(join(dir, 'data/audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const lifts = audit.filter((a) => a.action === 'suspension.lift');
    expect(lifts).toEqual([
      expect.objectContaining({ actor: 'desk-alice', role: 'cli', via: 'cli', tenant: 'acme', outcome: 'invalid' }),
      expect.objectContaining({ actor: 'desk-alice', role: 'cli', via: 'cli', tenant: 'acme', outcome: 'ok', reason: 'list cleaned, ticket 7', detail: { suspension: suspension!.id } }),
    ]);
    expect(lifts.every((a) => typeof a.requestId === 'string' && typeof a.time === 'string')).toBe(true);
  });

  it('after a lift, what came before it is not judged again; enough new complaints suspend again', async () => {
    // a fourth complaint about the first 20 deliveries: 20% of them, yet no new suspension
    expect((await report(3)).response).toMatch(/ applied$/);
    expect(await relay.store.listSuspensions('acme')).toEqual([]);

    // an hour later, 20 new deliveries and 2 complaints about them: 10% since the lift
    offset = 3_600_000;
    await deliver(20, 20);
    expect((await report(20)).response).toMatch(/ applied$/);
    expect(await relay.store.listSuspensions('acme')).toEqual([]);
    expect((await report(21)).response).toMatch(/ applied$/);
    const [again] = await relay.store.listSuspensions('acme');
    expect(again).toMatchObject({ scope: 'tenant', source: 'automatic' });
    expect(again!.evidence).toMatchObject({ window: '1h since the lift', delivered: 20, complaints: 2, rate: 0.1 });
  });
});
