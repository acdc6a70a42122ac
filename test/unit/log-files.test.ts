// Technical log files: one per UTC day, deleted once older than the retention period.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DailyLogFile, runLogRetention } from '../../src/observability/log-files.js';
import { createLogger } from '../../src/observability/logger.js';

const DAY = 86_400_000;

describe('technical log files', () => {
  it('every line goes to standard output and to the file of its UTC day, with the same redaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-logs-'));
    let clock = Date.UTC(2026, 10, 21, 23, 59, 59);
    const file = new DailyLogFile(dir, () => clock);
    const stdout: string[] = [];
    const log = createLogger('info', new Writable({ write: (c: Buffer, _e, cb) => (stdout.push(c.toString()), cb()) }), file);
    log.info({ recipient: 'secret@example.org' }, 'first');
    await new Promise((r) => setTimeout(r, 20));
    clock += 2000;
    log.info('second');
    await new Promise((r) => setTimeout(r, 20));
    await new Promise<void>((r) => file.end(r));
    expect(readdirSync(dir).sort()).toEqual(['mailwarden-2026-11-21.log', 'mailwarden-2026-11-22.log']);
    const first = readFileSync(join(dir, 'mailwarden-2026-11-21.log'), 'utf8');
    expect(first).toContain('"msg":"first"');
    expect(first).not.toContain('secret@');
    expect(readFileSync(join(dir, 'mailwarden-2026-11-22.log'), 'utf8')).toContain('"msg":"second"');
    expect(stdout.join('')).toContain('"msg":"second"');
  });

  it('are kept 90 days and gone on day 91', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-logs-'));
    writeFileSync(join(dir, 'mailwarden-2026-01-10.log'), 'x\n');
    writeFileSync(join(dir, 'unrelated.txt'), 'x\n');
    const day = (n: number) => Date.UTC(2026, 0, 10) + n * DAY + 3_600_000;
    expect(await runLogRetention(dir, 90, day(90))).toBe(0);
    expect(existsSync(join(dir, 'mailwarden-2026-01-10.log'))).toBe(true);
    expect(await runLogRetention(dir, 90, day(91))).toBe(1);
    expect(existsSync(join(dir, 'mailwarden-2026-01-10.log'))).toBe(false);
    expect(existsSync(join(dir, 'unrelated.txt'))).toBe(true);
  });
});
