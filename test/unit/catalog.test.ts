import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../src/domain/catalog.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|/gm)].map((m) => [m[1]!, { smtp: m[2]!.trim(), enhanced: m[3]!.trim(), http: m[4]!.trim() }]),
);

describe('error catalog', () => {
  it('documents every entry, and nothing that is not in it', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(catalog).sort());
  });

  it.each(Object.entries(catalog))('%s: the documented codes are the ones in use', (id, entry) => {
    const row = rows.get(id)!;
    expect(row.http).toBe(String(entry.http));
    if (!('smtp' in entry)) {
      // an error only the admin API answers with
      expect([row.smtp, row.enhanced]).toEqual(['—', '—']);
    } else if (id.startsWith('UPSTREAM_TEMPFAIL') || id.startsWith('UPSTREAM_REJECTED')) {
      expect(row.smtp).toBe(`${String(entry.smtp)[0]}xx`);
    } else {
      expect(row.smtp).toBe(String(entry.smtp));
      expect(row.enhanced).toBe(entry.enhanced);
    }
  });

  it('every enhanced code agrees with its reply class', () => {
    for (const entry of Object.values(catalog)) if ('smtp' in entry) expect(entry.enhanced[0]).toBe(String(entry.smtp)[0]);
  });

  it('every error code the admin API answers with is a catalog entry, with its status', () => {
    const source = readFileSync(resolve(import.meta.dirname, '../../src/admin/http.ts'), 'utf8');
    const used = [...source.matchAll(/new HttpError\('([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((c) => !(c in catalog))).toEqual([]);
    expect(source).not.toMatch(/new HttpError\(\d/);
  });
});
