// The web console in a real headless Chromium against a running relay with real traffic and
// real complaints: the abuse desk finds the tenant that crossed the line at the top, reads
// the evidence, lifts the suspension, and the next MAIL is accepted; a tenant sees only its
// own page. No recipient address reaches a page, a URL, the browser's storage or its console,
// but the tenant's own export. Screenshots of each page go to docs/console/ when
// MAILWARDEN_SCREENSHOTS=1 (else to a temporary directory).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_HASH, ACME_PASSWORD, GLOBEX_HASH, GLOBEX_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { sendMail } from '../helpers/client.js';
import { arf } from '../helpers/reports.js';
import { newToken, type ApiToken } from '../../src/admin/tokens.js';

const CHROMIUM = '/usr/bin/chromium';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = process.env.MAILWARDEN_SCREENSHOTS === '1' ? resolve(import.meta.dirname, '../../docs/console') : mkdtempSync(join(tmpdir(), 'mw-console-shots-'));
/** every recipient address the test sends to */
const ADDRESS = /reader\d+@example\.org/;

describe('the console in a browser', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let browser: Browser;
  let base: string;
  const tokens: Record<string, string> = {};
  /** what the browser saw: every page's HTML, every URL asked for, every console line, the storage */
  const seen: string[] = [];

  async function deliver(tenant: 'acme' | 'globex', n: number, from: number): Promise<Buffer[]> {
    const copies: Buffer[] = [];
    for (let i = from; i < from + n; i++) {
      const sent = await sendMail({
        port: relay.port,
        user: tenant,
        pass: tenant === 'acme' ? ACME_PASSWORD : GLOBEX_PASSWORD,
        from: `news@${tenant}.test`,
        to: [`reader${i}@example.org`],
        message: `From: news@${tenant}.test\r\nTo: reader${i}@example.org\r\nSubject: n${i}\r\n\r\nHi.\r\n`,
      });
      expect(sent.ok).toBe(true);
      copies.push(upstream.messages.at(-1)!.raw);
    }
    return copies;
  }
  const complain = (copy: Buffer, rcpt: string) => sendMail({ port: relay.feedback!.port, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: arf(copy, { rcpt }), tls: false });

  const records: Record<string, ApiToken> = {};
  async function token(role: 'abuse-desk' | 'tenant', name: string, tenant?: string): Promise<string> {
    const { record, token } = newToken({ role, ...(tenant ? { tenant } : {}), name, createdAt: Date.now(), createdBy: 'test' });
    await relay.store.putApiToken(record);
    records[name] = record;
    return token;
  }

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on('console', (m) => seen.push(`console: ${m.text()}`));
    page.on('request', (r) => seen.push(`url: ${r.url()}`));
    page.on('pageerror', (e) => seen.push(`pageerror: ${e.message}`));
    return page;
  }

  /** what axe finds on the page that keeps a keyboard or screen-reader user out (WCAG 2 A and AA, serious or worse) */
  async function barriers(page: Page): Promise<string[]> {
    await page.evaluate(AXE);
    const found = (await page.evaluate("axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) })))")) as Array<{ id: string; impact: string; nodes: string[] }>;
    return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.join(', ')}`);
  }

  async function look(page: Page, shot?: string): Promise<void> {
    expect(await barriers(page), page.url()).toEqual([]);
    seen.push(await page.content(), page.url());
    seen.push(JSON.stringify(await page.evaluate('({ session: { ...sessionStorage }, local: { ...localStorage }, cookie: document.cookie })')));
    if (shot) await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
  }

  async function signIn(page: Page, secret: string): Promise<void> {
    await page.goto(`${base}/console/`);
    await page.getByLabel('API token').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(
      testConfig(upstream.port, {
        tenants: [
          { id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test'] },
          { id: 'globex', username: 'globex', password: GLOBEX_HASH, domains: ['globex.test'] },
        ],
        feedback: { rates: { minVolume: 20, complaints: { warn: 0.04, suspend: 0.09 } } },
      }),
    );
    base = `http://127.0.0.1:${relay.adminApi!.port}`;
    tokens.desk = await token('abuse-desk', 'desk-alice');
    tokens.acme = await token('tenant', 'acme-admin', 'acme');
    // real traffic: acme sends 20 and gets 2 complaints (10 %, over the 9 % line); globex sends 20, none
    const copies = await deliver('acme', 20, 0);
    await deliver('globex', 20, 100);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await complain(copies[0]!, 'reader0@example.org')).response).toMatch(/ applied$/);
    expect((await complain(copies[1]!, 'reader1@example.org')).response).toMatch(/ applied$/);
    // a report about a message no tenant sent: the review queue's
    await complain(Buffer.from('From: someone@elsewhere.example\r\nTo: reader9@example.org\r\nSubject: x\r\nMessage-ID: <nobody@elsewhere.example>\r\n\r\nx\r\n'), 'reader9@example.org');
    for (let i = 0; i < 50 && (await relay.store.listSuspensions('acme')).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await relay.store.listSuspensions('acme')).toHaveLength(1);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await relay?.close();
    await upstream?.close();
  });

  it('is served by the admin listener with everything from mailwarden itself', async () => {
    const res = await fetch(`${base}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    // no CDN, no external font: every script and stylesheet is mailwarden's own
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(1);
    for (const ref of refs) expect(ref).toMatch(/^(\/console\/|data:,$)/);
    // nothing outside the console's directory, however the path is written
    expect((await fetch(`${base}/console/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${base}/console/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
    expect((await fetch(`${base}/console/nothing-here.js`)).status).toBe(404);
    expect((await fetch(`${base}/`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });

  it('the abuse desk finds acme at the top, reads the evidence, lifts the suspension, and acme sends again', async () => {
    const page = await newPage();
    await page.goto(`${base}/console/`);
    await look(page, 'sign-in');
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('the token is not valid');
    await signIn(page, tokens.desk!);

    // the overview: acme (10 % complaints, suspended) is the first row
    const firstRow = page.locator('table.overview tbody tr').first();
    await expect.poll(() => firstRow.locator('th').textContent()).toBe('acme');
    expect(await firstRow.textContent()).toContain('suspended');
    await look(page, 'overview');

    // the tenant page: the automatic suspension, its evidence and a sample report
    await firstRow.getByRole('link', { name: 'acme' }).click();
    const suspension = page.locator('article', { hasText: 'in force' });
    await suspension.waitFor();
    expect(await suspension.textContent()).toMatch(/Automatic on .*automatic: complaint rate/);
    const evidence = suspension.locator('.evidence dl');
    expect(await evidence.textContent()).toMatch(/metriccomplaint-rate/);
    expect(await evidence.textContent()).toMatch(/delivered20/);
    await suspension.getByRole('button', { name: /^Report F/ }).first().click();
    await suspension.locator('.report').waitFor();
    expect(await suspension.locator('.report').textContent()).toMatch(/"kind": "complaint"[^]*"complaints": 1/);
    await page.getByRole('img', { name: /Complaint rate \(24 h\): now 10\.00 %/ }).waitFor();
    await look(page, 'tenant-abuse-desk');

    // lifted with a reason and a ticket
    await suspension.getByLabel('Reason for lifting').fill('list cleaned, confirmed by phone');
    await suspension.getByLabel('Ticket').fill('ABUSE-42');
    await suspension.getByRole('button', { name: 'Lift suspension' }).click();
    await page.locator('article', { hasText: '— lifted' }).waitFor();
    expect(await page.locator('h1').textContent()).toContain('sending');
    await look(page);

    // the next MAIL from acme is accepted again
    const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'news@acme.test', to: ['reader50@example.org'], message: 'From: news@acme.test\r\nTo: reader50@example.org\r\nSubject: again\r\n\r\nHi.\r\n' });
    expect(sent.ok).toBe(true);
    expect(sent.response).toMatch(/^250 /);

    // the audit trail shows the lift with its actor
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByLabel('Action').fill('suspension.lift');
    await page.getByRole('button', { name: 'Filter' }).click();
    const lift = page.locator('table.audit tbody tr').first();
    await expect.poll(() => lift.textContent()).toMatch(/^.*token:\w+ \(desk-alice\).*suspension\.lift.*acme.*ok.*list cleaned, confirmed by phone/);
    expect(await lift.textContent()).toContain('ticket: ABUSE-42');
    await look(page, 'audit');

    // the review queue: the stray report is given to globex with a reason
    await page.getByRole('link', { name: 'Review queue' }).click();
    const stray = page.locator('table.review tbody tr').first();
    await stray.waitFor();
    await look(page, 'review-queue');
    const assign = stray.getByRole('form', { name: /^assign F/ });
    await assign.getByLabel('Tenant').selectOption('globex');
    await assign.getByLabel('Reason').fill('globex confirmed the campaign');
    await assign.getByRole('button', { name: 'Assign' }).click();
    // decided, it leaves the queue of what waits; shown with the decided ones, with its decision
    await page.getByText('Nothing waits for a decision.').waitFor();
    await page.getByLabel('Show the reports already assigned or dismissed').check();
    await expect.poll(() => page.locator('table.review tbody tr').first().textContent()).toMatch(/Assigned to globex by token:\w+ \(desk-alice\) on .*: globex confirmed the campaign/);
    expect((await relay.store.listFeedbackReports('globex'))[0]).toMatchObject({ attribution: 'assigned', counts: { complaints: 1 } });
    await look(page, 'review-queue-assigned');

    // the token revoked while signed in: the next request signs the console out, saying why
    await relay.store.putApiToken({ ...records['desk-alice']!, revokedAt: Date.now() });
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toBe('Signed out: the token is revoked.');
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.context().close();
  });

  it('a tenant sees its own page only, looks up a suppressed address and exports a data subject', async () => {
    const page = await newPage();
    // with the keyboard alone: Tab to the token field, type it, Enter
    await page.goto(`${base}/console/`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('token');
    await page.keyboard.type(tokens.acme!);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // straight to its own page
    await page.locator('h1', { hasText: 'Tenant acme' }).waitFor();
    expect(page.url()).toMatch(/#\/tenants\/acme$/);
    expect(await page.getByRole('link', { name: 'Audit trail' }).count()).toBe(0);
    // the suspension it may see, without the lift form
    expect(await page.getByRole('button', { name: 'Lift suspension' }).count()).toBe(0);

    // the complained-about address is suppressed; another is not
    await page.getByLabel('Look up an address').fill('reader0@example.org');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.locator('p.lookup').textContent()).toMatch(/^Suppressed since \d{4}-\d\d-\d\d .*: complaint/);
    await page.getByLabel('Look up an address').fill('reader7@example.org');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.locator('p.lookup').textContent()).toBe('Not suppressed.');
    await look(page, 'tenant-self-service');

    // a data subject's export, after a confirmation; the file holds the address (the tenant asked for it)
    await page.getByLabel('Export for address').fill('reader3@example.org');
    await page.getByRole('button', { name: 'Export…' }).click();
    await page.getByRole('alertdialog').waitFor();
    await look(page, 'subject-export-confirm');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Yes, export' }).click().then(() => page.getByRole('link', { name: /download the export/ }).click())]);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { address?: string; records: unknown[] };
    expect(JSON.stringify(exported)).toContain('reader3@example.org');
    expect(exported.records.length).toBeGreaterThan(0);
    await look(page);

    // a list imported from a file, one address per line
    const list = join(mkdtempSync(join(tmpdir(), 'mw-console-import-')), 'list.txt');
    writeFileSync(list, 'reader11@example.org\nreader12@example.org\n');
    await page.getByLabel(/^Import a list/).setInputFiles(list);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Imported' }).textContent()).toBe('Imported 2 line(s) (2 new).');
    await page.getByLabel('Look up an address').fill('reader12@example.org');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.locator('p.lookup').textContent()).toMatch(/^Suppressed since .*: import/);

    // an erasure, after its confirmation; a cancelled one does nothing
    await page.getByLabel('Erase for address').fill('reader4@example.org');
    await page.getByRole('button', { name: 'Erase…' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('alertdialog').count()).toBe(0);
    await page.getByLabel('Erase for address').fill('reader4@example.org');
    await page.getByRole('button', { name: 'Erase…' }).click();
    await page.getByRole('button', { name: 'Yes, erase' }).click();
    await expect.poll(() => page.locator('.ok pre').textContent()).toMatch(/"recordsRemoved": [1-9]/);
    await look(page);

    // another tenant's page: not found, as the API answers
    await page.goto(`${base}/console/#/tenants/globex`);
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('no tenant globex');
    await look(page, 'other-tenant');
    await page.context().close();
  });

  it('no recipient address reached a page, a URL, the browser storage or the console', () => {
    expect(seen.length).toBeGreaterThan(20);
    const leaks = seen.filter((s) => ADDRESS.test(s));
    expect(leaks.map((s) => s.slice(0, 300))).toEqual([]);
    expect(seen.filter((s) => s.startsWith('pageerror'))).toEqual([]);
  });
});
