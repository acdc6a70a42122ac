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
    if (id.startsWith('UPSTREAM_TEMPFAIL') || id.startsWith('UPSTREAM_REJECTED')) {
      expect(row.smtp).toBe(`${String(entry.smtp)[0]}xx`);
    } else {
      expect(row.smtp).toBe(String(entry.smtp));
      expect(row.enhanced).toBe(entry.enhanced);
    }
  });

  it('every enhanced code agrees with its reply class', () => {
    for (const entry of Object.values(catalog)) expect(entry.enhanced[0]).toBe(String(entry.smtp)[0]);
  });
});
