// Retention with an injected clock: a day's accounting segment moves to the archive on day
// 91 and is gone on day 731; the open segment of the current day is never touched.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runRetention } from '../../src/accounting/retention.js';

const DAY = 86_400_000;
const D = Date.UTC(2026, 0, 10);

function layout() {
  const dir = mkdtempSync(join(tmpdir(), 'mw-retention-'));
  for (const tenant of ['acme', 'globex']) {
    mkdirSync(join(dir, 'active', tenant), { recursive: true });
    writeFileSync(join(dir, 'active', tenant, '2026-01-10.jsonl.gz'), gzipSync('{"v":1}\n'));
  }
  // an open segment, as the writer leaves it during its day
  writeFileSync(join(dir, 'active', 'acme', '2026-01-10.jsonl'), '{"v":1}\n');
  return dir;
}

const at = (day: number) => D + day * DAY + 12 * 3_600_000;
const where = (dir: string, tenant: string) => ({
  active: existsSync(join(dir, 'active', tenant, '2026-01-10.jsonl.gz')),
  archive: existsSync(join(dir, 'archive', tenant, '2026-01-10.jsonl.gz')),
});

describe('accounting retention', () => {
  it('day 90 active, day 91 archived, day 730 archived, day 731 gone', async () => {
    const dir = layout();
    const run = (day: number) => runRetention({ dir, activeDays: 90, archiveDays: 730, now: at(day) });
    expect(await run(90)).toEqual({ archived: 0, deleted: 0, bytesDeleted: 0 });
    expect(where(dir, 'acme')).toEqual({ active: true, archive: false });
    expect(await run(91)).toMatchObject({ archived: 2, deleted: 0 });
    expect(where(dir, 'acme')).toEqual({ active: false, archive: true });
    expect(where(dir, 'globex')).toEqual({ active: false, archive: true });
    expect(await run(730)).toMatchObject({ archived: 0, deleted: 0 });
    expect(where(dir, 'acme')).toEqual({ active: false, archive: true });
    const gone = await run(731);
    expect(gone).toMatchObject({ archived: 0, deleted: 2 });
    expect(gone.bytesDeleted).toBeGreaterThan(0);
    expect(where(dir, 'acme')).toEqual({ active: false, archive: false });
    // the open segment is the writer's, whatever its age
    expect(existsSync(join(dir, 'active', 'acme', '2026-01-10.jsonl'))).toBe(true);
  });

  it('a segment found only after its archive time is over is deleted, not archived; a dry run changes nothing', async () => {
    const dir = layout();
    const dry = await runRetention({ dir, activeDays: 90, archiveDays: 730, now: at(800), dryRun: true });
    expect(dry).toMatchObject({ archived: 0, deleted: 2 });
    expect(where(dir, 'acme')).toEqual({ active: true, archive: false });
    const progress: string[] = [];
    await runRetention({ dir, activeDays: 90, archiveDays: 730, now: at(800), onProgress: (t, done, of) => progress.push(`${done}/${of} ${t}`) });
    expect(where(dir, 'acme')).toEqual({ active: false, archive: false });
    expect(progress).toEqual(['1/2 acme', '2/2 globex']);
  });
});
