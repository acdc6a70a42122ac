// The abuse desk's CLI against the embedded store of a running relay.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { CLI, spawnRelay, type RelayProcess } from '../helpers/process.js';
import { authedSession, sendMail } from '../helpers/client.js';
import { ACME_HASH } from '../helpers/relay.js';
import { arf } from '../helpers/reports.js';

const execFileP = promisify(execFile);

describe('mailwarden CLI', () => {
  let upstream: CaptureUpstream;
  let relay: RelayProcess;
  let dir: string;

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    dir = mkdtempSync(join(tmpdir(), 'mw-cli-'));
    relay = await spawnRelay(
      `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { tenantRefreshMs: 200 }
metrics: { port: 0 }
feedback: { port: 0 }
admin: { port: 0 }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test] }
`,
      dir,
    );
  });
  afterAll(async () => {
    relay?.child.kill('SIGKILL');
    await upstream?.close();
  });

  async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const p = execFileP(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml') } });
    if (input !== undefined) {
      p.child.stdin!.end(input);
    }
    try {
      const { stdout, stderr } = await p;
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  /** JSON Lines: every line one object */
  function jsonLines(text: string): unknown[] {
    return text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as unknown);
  }

  it('sets a new password that the running relay takes after its refresh; the old one, cached, stops working', async () => {
    const added = await cli(['tenant', 'add', '--id', 'hooli', '--domain', 'hooli.example', '--username', 'hooli', '--password-stdin'], 'first-secret\n');
    expect(added.code).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 2; i++) (await authedSession(relay.port, 'hooli', 'first-secret')).destroy();
    const changed = await cli(['tenant', 'set-password', '--id', 'hooli', '--password-stdin'], 'second-secret\n');
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/^new password for hooli/);
    await new Promise((r) => setTimeout(r, 500));
    await expect(authedSession(relay.port, 'hooli', 'first-secret')).rejects.toThrow(/535 5\.7\.8/);
    (await authedSession(relay.port, 'hooli', 'second-secret')).destroy();
    expect((await cli(['tenant', 'set-password', '--id', 'nobody', '--password-stdin'], 'x\n')).stderr).toContain('no tenant "nobody"');
    expect((await cli(['tenant', 'set-password', '--id', 'hooli'])).stderr).toContain('--password-stdin is required');
  });

  it('adds a tenant that the running relay serves after its refresh', async () => {
    const added = await cli(['tenant', 'add', '--id', 'initech', '--domain', 'initech.example', '--username', 'initech', '--password-stdin'], 'tps-report\n');
    expect(added.code).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    const s = await authedSession(relay.port, 'initech', 'tps-report');
    expect(await s.command('MAIL FROM:<bill@initech.example>')).toMatch(/^250/);
    s.destroy();
    expect((await cli(['tenant', 'list'])).stdout).toMatch(/^initech {2}domains: initech\.example {2}login: initech$/m);
  });

  it('imports nothing from a CSV with bad lines, and names each of them', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'address,reason\ngood@example.org,complaint\nnot an address,manual\nother@example.org,sideways\n');
    const r = await cli(['suppression', 'import', '--tenant', 'acme', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('2 bad line(s); nothing was imported');
    expect(r.stderr).toContain('line 3: not an email address');
    expect(r.stderr).toContain('line 4: reason must be one of');
    expect((await cli(['suppression', 'list', '--tenant', 'acme'])).stderr).toContain('0 entries');
  });

  it('imports a good CSV, enforces it at once, and exports it back with the addresses', async () => {
    const file = join(dir, 'good.csv');
    writeFileSync(file, 'address,reason,source,expires_at\nGood@Example.org,complaint,fbl,\nbye@example.org,unsubscribe,list-unsub,2030-01-01T00:00:00Z\n');
    const r = await cli(['suppression', 'import', '--tenant', 'acme', file]);
    expect(r.stdout).toMatch(/^imported 2 entries for acme/);
    const s = await authedSession(relay.port, 'acme', 'acme-secret');
    await s.command('MAIL FROM:<alice@acme.test>');
    expect(await s.command('RCPT TO:<good@example.org>')).toMatch(/^550 5\.7\.1 /);
    s.destroy();
    const list = await cli(['suppression', 'list', '--tenant', 'acme']);
    expect(list.stdout).not.toContain('@');
    const exported = await cli(['suppression', 'export', '--tenant', 'acme']);
    expect(exported.stdout).toContain('Good@example.org,complaint,fbl,');
    expect(exported.stdout).toContain('bye@example.org,unsubscribe,list-unsub,');
  });

  it('refuses to suspend an unknown tenant, or to lift without a reason', async () => {
    expect((await cli(['suspend', '--tenant', 'nobody', '--reason', 'x'])).stderr).toContain('no tenant "nobody"');
    const s = await cli(['suspend', '--tenant', 'acme', '--reason', 'spam run', '--ticket', 'AB-1', '--json']);
    const id = (JSON.parse(s.stdout) as { id: string }).id;
    const lift = await cli(['unsuspend', '--tenant', 'acme', '--id', id]);
    expect(lift.code).toBe(2);
    expect(lift.stderr).toContain('--reason is required');
    expect((await cli(['suspensions', '--tenant', 'acme'])).stdout).toContain(`${id}  acme  whole tenant  manual`);
  });

  it('feedback parse shows what a report would do without doing it; ingest does it', async () => {
    const sent = await sendMail({ port: relay.port, user: 'initech', pass: 'tps-report', from: 'bill@initech.example', to: ['reader@example.org'], message: 'From: bill@initech.example\r\nTo: reader@example.org\r\nSubject: hi\r\n\r\nHello.\r\n' });
    expect(sent).toMatchObject({ ok: true });
    const file = join(dir, 'complaint.eml');
    writeFileSync(file, arf(upstream.messages.at(-1)!.raw));

    const parsed = await cli(['feedback', 'parse', file, '--json']);
    expect(parsed.code).toBe(0);
    const plan = JSON.parse(parsed.stdout) as { kind: string; complaints: Array<{ redacted: boolean }>; wouldDo: Array<{ tenant: string; outcome: string; suppress: Array<{ address: string; reason: string }> }> };
    expect(plan.kind).toBe('complaint');
    expect(plan.complaints[0]!.redacted).toBe(true);
    expect(plan.wouldDo).toEqual([expect.objectContaining({ tenant: 'initech', outcome: 'applied', suppress: [{ address: 'r***@example.org', reason: 'complaint' }] })]);
    expect(parsed.stdout).not.toContain('reader@');
    // parse changed nothing
    const s = await authedSession(relay.port, 'initech', 'tps-report');
    await s.command('MAIL FROM:<bill@initech.example>');
    expect(await s.command('RCPT TO:<reader@example.org>')).toMatch(/^250/);
    s.destroy();

    const ingested = await cli(['feedback', 'ingest', file]);
    expect(ingested.code).toBe(0);
    expect(ingested.stdout).toMatch(/^\[1\/1\] .*complaint\.eml: F\w+ .* complaint {2}applied {2}tenant initech {2}1 complaint\(s\); 1 suppressed$/m);
    const again = await authedSession(relay.port, 'initech', 'tps-report');
    await again.command('MAIL FROM:<bill@initech.example>');
    expect(await again.command('RCPT TO:<reader@example.org>')).toMatch(/^550 5\.7\.1 /);
    again.destroy();
    expect((await cli(['feedback', 'list', '--tenant', 'initech'])).stdout).toMatch(/complaint {2}applied {2}tenant initech/);
    // times in ISO 8601, as in every other listing
    const listing = await cli(['feedback', 'list', '--tenant', 'initech', '--json']);
    expect(listing).toMatchObject({ code: 0 });
    const [listed] = jsonLines(listing.stdout) as Array<{ id: string; receivedAt: string }>;
    expect(listed!.receivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const shown = JSON.parse((await cli(['feedback', 'show', listed!.id, '--tenant', 'initech'])).stdout) as { receivedAt: string };
    expect(shown.receivedAt).toBe(listed!.receivedAt);
  });

  it('suppression import takes a bare list, one address per line, also on standard input with -', async () => {
    const before = Number(/(\d+) entr/.exec((await cli(['suppression', 'list', '--tenant', 'acme'])).stderr)?.[1] ?? 0);
    const piped = await cli(['suppression', 'import', '--tenant', 'acme', '-'], 'first@bare.example\nsecond@bare.example\n');
    expect(piped).toMatchObject({ code: 0 });
    expect(piped.stdout).toContain('imported 2 entries for acme');
    const after = Number(/(\d+) entr/.exec((await cli(['suppression', 'list', '--tenant', 'acme'])).stderr)![1]);
    expect(after).toBe(before + 2);
    const junk = await cli(['suppression', 'import', '--tenant', 'acme', '-'], 'hello world\nsecond@bare.example\n');
    expect(junk.code).toBe(2);
    expect(junk.stderr).toContain('the first line must be a header naming an "address" column, or an address');
  });

  it('the small traps: a token expires in 90 days unless told never; a suspension of a domain the tenant does not send from needs --force', async () => {
    const made = await cli(['token', 'create', '--role', 'operator', '--name', 'ops']);
    expect(made.code).toBe(0);
    const expires = Date.parse(/expires (\S+)\)/.exec(made.stderr)![1]!);
    expect(Math.round((expires - Date.now()) / 86_400_000)).toBe(90);
    const forever = await cli(['token', 'create', '--role', 'operator', '--name', 'ops-forever', '--expires', 'never']);
    expect(forever.code).toBe(0);
    expect(forever.stderr).not.toContain('expires');

    const typo = await cli(['suspend', '--tenant', 'acme', '--domain', 'acme.tset', '--reason', 'typo']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("acme.tset is not one of acme's sender domains");
    const forced = await cli(['suspend', '--tenant', 'acme', '--domain', 'acme.tset', '--reason', 'on purpose', '--force', '--json']);
    expect(forced.code).toBe(0);
    expect((await cli(['unsuspend', '--tenant', 'acme', '--id', (JSON.parse(forced.stdout) as { id: string }).id, '--reason', 'test over'])).code).toBe(0);
  });

  it('suppression export -o never replaces a file without --force; a closed pipe ends it quietly', async () => {
    const file = join(dir, 'export.csv');
    expect((await cli(['suppression', 'export', '--tenant', 'acme', '-o', file])).code).toBe(0);
    writeFileSync(file, 'kept\n');
    const refused = await cli(['suppression', 'export', '--tenant', 'acme', '-o', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exists; add --force to replace it');
    expect(readFileSync(file, 'utf8')).toBe('kept\n');
    expect((await cli(['suppression', 'export', '--tenant', 'acme', '-o', file, '--force'])).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^address,reason,source,created_at,expires_at,pseudonym/);

    // enough entries that the export outlives a reader that takes one line
    const many = join(dir, 'many.csv');
    writeFileSync(many, `address\n${Array.from({ length: 20_000 }, (_, i) => `reader${i}@many.example`).join('\n')}\n`);
    expect((await cli(['suppression', 'import', '--tenant', 'acme', many])).code).toBe(0);
    const piped = await execFileP('bash', ['-c', `"${process.execPath}" "${CLI}" suppression export --tenant acme | head -1; echo "exit \${PIPESTATUS[0]}" >&2`], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml') } });
    expect(piped.stdout).toMatch(/^address,reason/);
    expect(piped.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(piped.stderr).toContain('exit 0');
  });

  it('feedback ingest keeps unattributable reports for review and refuses what is no report, naming the file', async () => {
    const fixtures = join(import.meta.dirname, '../fixtures/feedback');
    const junk = join(dir, 'junk.eml');
    writeFileSync(junk, 'Subject: hello\r\n\r\nnot a report\r\n');
    const r = await cli(['feedback', 'ingest', join(fixtures, 'arf-02.eml'), junk]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[1\/2\] .*arf-02\.eml: F\w+ .* complaint {2}unattributed {2}review queue \(missing\)/);
    expect(r.stderr).toMatch(/\[2\/2\] .*junk\.eml: not a report: /);
    const review = await cli(['feedback', 'list', '--review', '--json']);
    const records = jsonLines(review.stdout) as Array<{ id: string; outcome: string }>;
    expect(records[0]!.outcome).toBe('unattributed');
    // the abuse desk can read the report it kept
    const shown = await cli(['feedback', 'show', records[0]!.id, '--review', '--report']);
    expect(shown.stdout).toContain('Feedback-Type: abuse');
    expect((await cli(['feedback', 'list'])).stderr).toContain('--tenant T or --review is required');
  });

  it('feedback assign gives a review record to a tenant with a reason, once; feedback dismiss closes another', async () => {
    const fixtures = join(import.meta.dirname, '../fixtures/feedback');
    const listed = jsonLines((await cli(['feedback', 'list', '--review', '--json'])).stdout) as Array<{ id: string; resolution?: unknown }>;
    const open = listed.find((r) => !r.resolution)!;
    expect((await cli(['feedback', 'assign', open.id, '--tenant', 'acme'])).stderr).toContain("required option '--reason <text>' not specified");
    const assigned = await cli(['feedback', 'assign', open.id, '--tenant', 'acme', '--reason', 'our newsletter, reference stripped']);
    expect(assigned.code).toBe(0);
    expect(assigned.stdout).toMatch(new RegExp(`^assigned ${open.id} to acme: F\\w+ .* complaint {2}\\w+ {2}tenant acme`));
    const mine = jsonLines((await cli(['feedback', 'list', '--tenant', 'acme', '--json'])).stdout) as Array<{ attribution: string; notes: string[] }>;
    expect(mine[0]).toMatchObject({ attribution: 'assigned' });
    expect(mine[0]!.notes[0]).toMatch(new RegExp(`^assigned from the review queue \\(${open.id}\\) by \\S+: our newsletter, reference stripped$`));
    // decided once: a second decision is refused, naming the first
    const again = await cli(['feedback', 'dismiss', open.id, '--reason', 'noise']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(new RegExp(`report ${open.id} was assigned to acme by \\S+ on \\d{4}-.*: our newsletter`));
    expect((await cli(['feedback', 'list', '--review'])).stdout).toContain(`${open.id} `);
    expect((await cli(['feedback', 'list', '--review'])).stdout).toMatch(/review queue \(missing, assigned to acme\)/);
    // what still waits for a decision leaves the assigned one out
    expect((await cli(['feedback', 'list', '--review', '--open'])).stdout).not.toContain(`${open.id} `);
    // another report, dismissed
    const second = await cli(['feedback', 'ingest', join(fixtures, 'arf-11.eml')]);
    expect(second.stdout).toMatch(/review queue \(missing\)/);
    const id = /: (F\w+) /.exec(second.stdout)![1]!;
    expect((await cli(['feedback', 'dismiss', id, '--reason', 'a provider test'])).stdout).toBe(`dismissed ${id}\n`);
    expect((await cli(['feedback', 'show', id, '--review'])).stdout).toMatch(/"action": "dismissed"[^]*"reason": "a provider test"/);
    expect((await cli(['feedback', 'dismiss', 'FNOSUCH123', '--reason', 'x'])).stderr).toContain('no report FNOSUCH123 in the review queue');
  });

  it('retention run reports progress per tenant and what it did', async () => {
    const { mkdirSync, writeFileSync: write, existsSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    const old = join(dir, 'data/accounting/active/acme');
    mkdirSync(old, { recursive: true });
    write(join(old, '2025-01-01.jsonl.gz'), gzipSync('{"v":1}\n'));
    const dry = await cli(['retention', 'run', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('archiving days older than 90 days, deleting those older than 730 (dry run: nothing is changed)');
    expect(dry.stderr).toMatch(/\[\d+\/\d+\] acme: 1 archived, 0 deleted so far/);
    expect(dry.stdout).toMatch(/^would archive 1 segment\(s\), would delete 0/m);
    expect(existsSync(join(old, '2025-01-01.jsonl.gz'))).toBe(true);
    const real = await cli(['retention', 'run']);
    expect(real.stdout).toMatch(/^archived 1 segment\(s\), deleted 0/m);
    expect(existsSync(join(dir, 'data/accounting/archive/acme/2025-01-01.jsonl.gz'))).toBe(true);
  });

  it('every --json output parses: JSON Lines for lists of records, one object for one result', async () => {
    const lists: Array<[string[], string[]]> = [
      [['tenant', 'list', '--json'], ['id', 'domains', 'createdAt']],
      [['token', 'list', '--json'], ['id', 'role', 'createdAt']],
      [['suspensions', '--all', '--json'], ['id', 'tenant', 'scope']],
      [['suppression', 'list', '--tenant', 'initech', '--json'], ['pseudonym', 'reason']],
      [['feedback', 'list', '--tenant', 'initech', '--json'], ['id', 'receivedAt', 'kind']],
    ];
    for (const [args, keys] of lists) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      const records = jsonLines(r.stdout) as Array<Record<string, unknown>>;
      expect(records.length, args.join(' ')).toBeGreaterThan(0);
      for (const record of records) for (const k of keys) expect(record, `${args.join(' ')}: ${k}`).toHaveProperty(k);
    }
    const tenants = jsonLines((await cli(['tenant', 'list', '--json'])).stdout) as Array<Record<string, unknown>>;
    for (const t of tenants) expect(Object.keys(t)).not.toEqual(expect.arrayContaining(['passwordHash', 'wrappedKey']));
    const retention = await cli(['retention', 'run', '--dry-run', '--json']);
    expect(retention.code).toBe(0);
    expect(jsonLines(retention.stdout)).toEqual([expect.objectContaining({ dryRun: true, archived: expect.any(Number), deleted: expect.any(Number) })]);
    const status = await cli(['store', 'status', '--json']);
    expect(jsonLines(status.stdout)).toHaveLength(1);
  });

  it('accounting query finds a tenant\'s records by address, as JSON Lines or PowerMTA-style CSV', async () => {
    // records reach the file within a second of the transaction
    await new Promise((r) => setTimeout(r, 1200));
    const q = await cli(['accounting', 'query', '--tenant', 'initech', '--address', 'Reader@example.org']);
    expect(q.code).toBe(0);
    const records = q.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; tenant: string });
    expect(records.map((r) => r.type)).toContain('relayed');
    expect(records.every((r) => r.tenant === 'initech')).toBe(true);
    expect(q.stdout).not.toContain('reader@');
    expect(q.stderr).toMatch(/\d+ record\(s\) for initech; \d+ day segment\(s\) read, \d+ skipped by their index/);
    const csv = await cli(['accounting', 'query', '--tenant', 'initech', '--format', 'csv', '--from', '2020-01-01']);
    expect(csv.stdout.split('\n')[0]).toBe('type,timeLogged,orig,origDomain,rcpt,rcptDomain,dsnAction,dsnStatus,dsnDiag,bodySize,msgId,jobId,reason');
    expect(csv.stdout).toMatch(/^d,\d{4}-/m);
    expect((await cli(['accounting', 'query'])).stderr).toContain("required option '--tenant <tenant>' not specified");
    expect((await cli(['accounting', 'query', '--tenant', 'initech', '--from', 'yesterday'])).stderr).toContain('--from: "yesterday" is not a date');
  });

  it('subject export gives a tenant everything about one address: its records and its suppression entry', async () => {
    await new Promise((r) => setTimeout(r, 1200));
    const out = join(dir, 'subject.json');
    const r = await cli(['subject', 'export', '--tenant', 'initech', '--address', 'READER@example.org', '-o', out]);
    expect(r.code).toBe(0);
    const { readFileSync } = await import('node:fs');
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { format: string; tenant: string; subject: { address: string; pseudonym: string }; records: Array<{ type: string; tenant: string }>; suppression: { reason: string; addressKept: boolean } | null };
    expect(doc.format).toBe('mailwarden-subject-export');
    expect(doc.subject.address).toBe('READER@example.org');
    expect(doc.records.map((x) => x.type)).toEqual(expect.arrayContaining(['relayed', 'complained']));
    expect(doc.records.every((x) => x.tenant === 'initech')).toBe(true);
    expect(doc.suppression).toMatchObject({ reason: 'complaint', addressKept: true });
    expect(r.stderr).toMatch(/\d+ record\(s\); on the suppression list \(complaint\)/);
    // another tenant knows nothing of it
    const other = await cli(['subject', 'export', '--tenant', 'acme', '--address', 'reader@example.org']);
    expect((JSON.parse(other.stdout) as { records: unknown[]; suppression: unknown }).records).toEqual([]);
  });

  it('subject erase removes every record of the address, through the running relay, and keeps it suppressed by pseudonym', async () => {
    const r = await cli(['subject', 'erase', '--tenant', 'initech', '--address', 'reader@example.org']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/a relay \(pid \d+\) writes these records: asking it to erase them/);
    expect(r.stdout).toMatch(/^erased [1-9]\d* record\(s\) from [1-9]\d* segment\(s\) of initech$/m);
    // the complaint kept for initech named the address only inside the copy's reference field
    expect(r.stdout).toMatch(/^erased the text of 1 kept complaint or bounce report\(s\) naming the address/m);
    const [kept] = jsonLines((await cli(['feedback', 'list', '--tenant', 'initech', '--json'])).stdout) as Array<{ id: string; counts: { complaints: number } }>;
    expect(kept!.counts.complaints).toBe(1);
    const shown = await cli(['feedback', 'show', kept!.id, '--tenant', 'initech', '--report']);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toMatch(/the text of report F\w+ was erased on \d{4}-.*a data-subject erasure/);
    expect(r.stdout).toContain('the address stays suppressed: its suppression entry is kept as a bare pseudonym');
    const after = JSON.parse((await cli(['subject', 'export', '--tenant', 'initech', '--address', 'reader@example.org'])).stdout) as { records: unknown[]; suppression: { addressKept: boolean } };
    expect(after.records).toEqual([]);
    expect(after.suppression.addressKept).toBe(false);
    expect((await cli(['accounting', 'query', '--tenant', 'initech', '--address', 'reader@example.org'])).stdout.trim()).toBe('');
    const s = await authedSession(relay.port, 'initech', 'tps-report');
    await s.command('MAIL FROM:<bill@initech.example>');
    expect(await s.command('RCPT TO:<reader@example.org>')).toMatch(/^550 5\.7\.1 /);
    s.destroy();
    expect((await cli(['suppression', 'export', '--tenant', 'initech'])).stdout).not.toContain('reader@');
  });
});
