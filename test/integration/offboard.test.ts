// The end of a contract: `mailwarden tenant offboard` returns everything of the tenant,
// deletes it everywhere (store, accounting segments active and archived) with the tenant's
// key, and certifies what was there; afterwards nothing about the tenant can be read back.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, GLOBEX_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { tlsSession, sendMail } from '../helpers/client.js';
import { arf } from '../helpers/reports.js';
import { CLI } from '../helpers/process.js';
import type { DeletionCertificate } from '../../src/tenants/offboard.js';

const execFileP = promisify(execFile);

describe('offboarding a tenant', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;
  let dir: string;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    relay = await startTestRelay(testConfig(upstream.port));
    dir = mkdtempSync(join(tmpdir(), 'mw-offboard-'));
    const c = relay.config;
    writeFileSync(join(dir, 'config.yaml'), `store: { kind: embedded, path: ${c.store.path} }\nkeys: { masterKeyFile: ${c.keys.masterKeyFile} }\naccounting: { dir: ${c.accounting.dir} }\nadmin: { auditLog: ${join(dir, 'audit.log')} }\n`);
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  const cli = async (args: string[]) => {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml'), MAILWARDEN_ACTOR: 'ops-bob' } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('returns everything, deletes everything, certifies it; another tenant is untouched', async () => {
    // what acme leaves behind: relayed mail, a complaint, suppressions, a suspension, an archived day
    for (const to of ['one@example.org', 'two@example.org']) {
      expect((await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: [to], message: 'Subject: s\r\n\r\nb\r\n' })).ok).toBe(true);
    }
    expect((await sendMail({ port: relay.feedback!.port, from: 'fbl@provider.example', to: ['fbl@relay.test'], message: arf(upstream.messages.at(-1)!.raw), tls: false })).response).toMatch(/ applied$/);
    await relay.admin.suppress('acme', [{ address: 'manual@example.org', reason: 'manual' }]);
    await relay.admin.suspend({ tenant: 'acme', scope: 'domain', value: 'acme.test', reason: 'contract ends', actor: 'desk' });
    const archived = join(relay.config.accounting.dir, 'archive', 'acme');
    mkdirSync(archived, { recursive: true });
    writeFileSync(join(archived, '2025-06-01.jsonl.gz'), gzipSync('{"v":1,"type":"admin","time":"2025-06-01T00:00:00.000Z","tenant":"acme","action":"x","actor":"y"}\n'));
    expect((await sendMail({ port: relay.port, user: 'globex', pass: GLOBEX_PASSWORD, from: 'info@globex.test', to: ['keep@example.net'], message: 'Subject: s\r\n\r\nb\r\n' })).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1200));

    const returnDir = join(dir, 'returned-acme');
    expect((await cli(['tenant', 'offboard', 'acme', '--return', returnDir])).stderr).toContain('add --yes');
    const r = await cli(['tenant', 'offboard', 'acme', '--return', returnDir, '--yes']);
    expect(r.stderr).toMatch(/a relay \(pid \d+\) serves this tenant: asking it to offboard acme/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tenant acme offboarded: \d+ file\(s\) returned to .*; deleted .*2 suppressions.*, \d+ accounting record\(s\); tenant key destroyed$/m);

    // returned: with the addresses, for the tenant
    expect(readFileSync(join(returnDir, 'suppressions.csv'), 'utf8')).toMatch(/manual@example\.org,manual,/);
    expect(readFileSync(join(returnDir, 'suppressions.csv'), 'utf8')).toMatch(/two@example\.org,complaint,/);
    expect(JSON.parse(readFileSync(join(returnDir, 'suspensions.json'), 'utf8'))).toEqual([expect.objectContaining({ reason: 'contract ends' })]);
    const feedback = JSON.parse(readFileSync(join(returnDir, 'feedback/records.json'), 'utf8')) as Array<{ id: string }>;
    expect(readFileSync(join(returnDir, `feedback/${feedback[0]!.id}.eml`), 'utf8')).toContain('Feedback-Type: abuse');
    expect(existsSync(join(returnDir, 'accounting/archive/2025-06-01.jsonl.gz'))).toBe(true);
    const tenantJson = readFileSync(join(returnDir, 'tenant.json'), 'utf8');
    expect(tenantJson).not.toContain('wrappedKey');
    expect(tenantJson).not.toContain('scrypt');

    // the certificate matches what was there
    const cert = JSON.parse(readFileSync(join(returnDir, 'deletion-certificate.json'), 'utf8')) as DeletionCertificate;
    expect(cert).toMatchObject({ format: 'mailwarden-deletion-certificate', tenant: 'acme', deletedBy: expect.stringMatching(/^token:\w+ \(cli tenant offboard\)$/) });
    expect(cert.deleted).toMatchObject({ accountingSegments: 2, tenantKey: 'destroyed', store: expect.objectContaining({ tenant: 1, suppressions: 2, suspensions: 1, feedbackRecords: 1 }) });
    // the records deleted are the records returned
    const returnedRecords = cert.returned
      .filter((f) => f.file.startsWith('accounting/'))
      .map((f) => (f.file.endsWith('.gz') ? gunzipSync(readFileSync(join(returnDir, f.file))) : readFileSync(join(returnDir, f.file))).toString('utf8').split('\n').filter(Boolean).length)
      .reduce((a, b) => a + b, 0);
    expect(returnedRecords).toBeGreaterThan(1);
    expect(cert.deleted.accountingRecords).toBe(returnedRecords);
    expect(r.stdout).toContain(`, ${returnedRecords} accounting record(s);`);
    expect(cert.verified).toEqual({ tenantRecordGone: true, accountingGone: true, suppressionsGone: true });
    for (const f of cert.returned) expect(existsSync(join(returnDir, f.file))).toBe(true);
    expect(cert.returned.map((f) => f.file)).toEqual(expect.arrayContaining(['suppressions.csv', 'tenant.json', 'accounting/archive/2025-06-01.jsonl.gz']));

    // nothing can be read back
    expect(await relay.store.getTenant('acme')).toBeNull();
    expect(await relay.admin.keyOf('acme')).toBeNull();
    expect(await relay.store.countSuppressions('acme')).toBe(0);
    expect(await relay.store.listFeedbackReports('acme')).toEqual([]);
    expect(existsSync(join(relay.config.accounting.dir, 'active', 'acme'))).toBe(false);
    expect(existsSync(join(relay.config.accounting.dir, 'archive', 'acme'))).toBe(false);
    expect((await cli(['accounting', 'query', '--tenant', 'acme'])).stdout).toBe('');
    expect((await cli(['suppression', 'export', '--tenant', 'acme'])).stderr).toContain('no tenant "acme"');
    const s = await tlsSession(relay.port);
    expect(await s.login('acme', ACME_PASSWORD)).toMatch(/^535 /);
    s.destroy();

    // globex is untouched
    expect(await relay.store.getTenant('globex')).not.toBeNull();
    expect((await cli(['accounting', 'query', '--tenant', 'globex'])).stdout).toContain('"type":"relayed"');
    // and the action is in the audit log
    expect(readFileSync(join(dir, 'audit.log'), 'utf8')).toMatch(/"action":"tenant.offboard".*"outcome":"ok"/);
  });

  it('stops before deleting anything when a directory it must return cannot be read', async () => {
    // globex's archive is not a directory it can read: a file stands in its place
    writeFileSync(join(relay.config.accounting.dir, 'archive', 'globex'), 'not a directory');
    const out = mkdtempSync(join(tmpdir(), 'mw-offboard-out-'));
    const r = await cli(['tenant', 'offboard', 'globex', '--return', join(out, 'globex'), '--yes']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/offboarding globex stopped before anything was deleted: .*(ENOTDIR|not a directory)/);
    // nothing of globex was deleted
    expect(await relay.store.getTenant('globex')).not.toBeNull();
    expect(existsSync(join(relay.config.accounting.dir, 'active', 'globex'))).toBe(true);
    expect((await sendMail({ port: relay.port, user: 'globex', pass: GLOBEX_PASSWORD, from: 'info@globex.test', to: ['still@example.net'], message: 'Subject: s\r\n\r\nb\r\n' })).ok).toBe(true);
  });
});
