// Moving a files installation into PostgreSQL: `mailwarden accounting migrate` ships every
// segment's records, says how far it is, and run again writes nothing twice.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountingLog } from '../../src/accounting/writer.js';
import { PostgresAccounting } from '../../src/accounting/postgres/store.js';
import type { AccountingRecord } from '../../src/accounting/records.js';
import { CLI } from '../helpers/process.js';
import { startPostgres, type PostgresProcess } from '../helpers/postgres.js';

const run = promisify(execFile);
const DAY = 86_400_000;

describe('mailwarden accounting migrate', () => {
  let pg: PostgresProcess;
  let dir: string;
  const masterKey = randomBytes(32).toString('base64');
  const written: AccountingRecord[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'mw-migrate-'));
    // a files installation: two tenants, three days each (two of them sealed)
    let now = Date.UTC(2026, 9, 1, 8);
    const writer = await AccountingLog.open({ dir: join(dir, 'accounting'), flushMs: 3_600_000, maxBufferedRecords: 1_000_000, minFreeBytes: 0, now: () => now, log: pino({ level: 'silent' }) });
    for (let day = 0; day < 3; day++) {
      for (let i = 0; i < 40; i++) {
        for (const tenant of ['acme', 'globex']) {
          now = Date.UTC(2026, 9, 1, 8) + day * DAY + i * 1000;
          const r: AccountingRecord = { v: 1, type: 'relayed', time: new Date(now).toISOString(), tenant, session: 's', tx: `t${day}-${i}`, sender: null, messageId: `<${tenant}-${day}-${i}@x>`, recipient: { p: `P${i}`, d: 'example.org' }, upstream: { code: 250, text: 'ok' } };
          written.push(r);
          writer.add(r);
        }
      }
      await writer.flush();
    }
    await writer.close();
    writeFileSync(join(dir, 'config.yaml'), `store: { kind: embedded, path: ./store }\nkeys: { generateMasterKey: false }\naccounting:\n  kind: postgres\n  dir: ./accounting\n  postgres: { url: "${pg.url}", batchRecords: 25 }\nlog: { level: warn }\n`);
  }, 60_000);
  afterAll(async () => {
    await pg?.destroy();
  });

  const migrate = () => run(process.execPath, [CLI, 'accounting', 'migrate'], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml') } });

  it('moves every record, with progress per segment; run again it moves nothing more', async () => {
    const first = await migrate();
    expect(first.stderr).toMatch(/moving the records of 6 segment\(s\) of 2 tenant\(s\)/);
    expect(first.stderr).toMatch(/\[6\/6\] active\/\w+\/2026-10-03\.jsonl: 40 record\(s\)/);
    expect(first.stdout).toContain(`moved ${written.length} record(s) into PostgreSQL in`);
    const db = await PostgresAccounting.open({ url: pg.url, log: pino({ level: 'silent' }) });
    try {
      expect(await db.count()).toBe(written.length);
      const acme: AccountingRecord[] = [];
      for await (const r of db.query({ tenant: 'acme' })) acme.push(r);
      expect(acme).toEqual(written.filter((r) => r.tenant === 'acme'));
      const again = await migrate();
      expect(again.stdout).toContain(`moved 0 record(s) into PostgreSQL (${written.length} were there from an earlier run)`);
      expect(await db.count()).toBe(written.length);
    } finally {
      await db.close();
    }
  });

  it('the CLI\'s query and retention run then work on the database', async () => {
    const env = { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml'), MAILWARDEN_MASTER_KEY: masterKey };
    // the store the CLI checks first
    await run(process.execPath, [CLI, 'store', 'init', '--empty', '--yes'], { cwd: dir, env });
    const query = await run(process.execPath, [CLI, 'accounting', 'query', '--tenant', 'acme', '--message-id', '<acme-1-5@x>'], { cwd: dir, env });
    expect(query.stdout.trim().split('\n').map((l) => JSON.parse(l) as AccountingRecord)).toEqual(written.filter((r) => r.tenant === 'acme' && 'messageId' in r && r.messageId === '<acme-1-5@x>'));
    expect(query.stderr).toMatch(/^1 record\(s\) for acme, in [\d.]+ s$/m);
    const dry = await run(process.execPath, [CLI, 'retention', 'run', '--dry-run'], { cwd: dir, env });
    expect(dry.stderr).toContain('accounting in PostgreSQL: archiving days older than 90 days');
    // October 2026's days are past 90 days by the time this runs, or not: either way the count is of day partitions
    expect(dry.stdout).toMatch(/^would archive \d+ day partition\(s\), would delete 0 /m);
  });

  it('refuses to run while the configuration keeps accounting in files', async () => {
    writeFileSync(join(dir, 'files.yaml'), 'accounting: { kind: files, dir: ./accounting }\n');
    const failed = await run(process.execPath, [CLI, 'accounting', 'migrate'], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'files.yaml') } }).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('set accounting.kind: postgres and accounting.postgres.url first');
  });
});
