// The layering ARCHITECTURE.md promises, read from the import lines: domain imports nothing
// of the project outside domain, and the store ports only domain.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '../../src');
const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1]!);

describe('layers', () => {
  it('domain imports only domain and Node itself', () => {
    const bad: string[] = [];
    for (const f of readdirSync(join(src, 'domain'))) for (const i of imports(join(src, 'domain', f))) if (!i.startsWith('./') && !i.startsWith('node:')) bad.push(`${f}: ${i}`);
    expect(bad).toEqual([]);
  });

  it('the store ports import only domain', () => {
    expect(imports(join(src, 'store/ports.ts')).filter((i) => !i.startsWith('../domain/'))).toEqual([]);
  });
});
