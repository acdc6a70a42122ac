import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';

const root = resolve(import.meta.dirname, '../..');

function problems(text: string): string[] {
  try {
    parseConfig(text, '/etc/mw.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('/etc/mw.yaml');
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

/** Every key path the schema knows, e.g. smtp.limits.maxHops, tenants.id */
function schemaKeys(schema: z.ZodType, prefix = ''): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  if (def.shape) {
    return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([k, v]) => [`${prefix}${k}`, ...schemaKeys(v, `${prefix}${k}.`)]);
  }
  for (const inner of ['innerType', 'in', 'element', 'schema']) {
    if (def[inner]) return schemaKeys(def[inner] as z.ZodType, prefix);
  }
  return [];
}

describe('configuration', () => {
  it('the shipped default.yaml and production example are valid', () => {
    expect(() => loadConfigFile(resolve(root, 'config/default.yaml'))).not.toThrow();
    expect(() => loadConfigFile(resolve(root, 'config/production.example.yaml'))).not.toThrow();
    expect(loadConfigFile(resolve(root, 'config/single-host.example.yaml')).config.store.kind).toBe('embedded');
  });

  it('default.yaml mentions every key of the schema (set or commented out)', () => {
    const text = readFileSync(resolve(root, 'config/default.yaml'), 'utf8');
    const mentioned = new Set([...text.matchAll(/(?:^[ \t#-]*|[{,] *)([A-Za-z][A-Za-z0-9]*):/gm)].map((m) => m[1]!));
    const missing = schemaKeys(configSchema).filter((path) => !mentioned.has(path.split('.').pop()!));
    expect(missing).toEqual([]);
  });

  it('names the file, the key and the line of every problem, all at once', () => {
    const p = problems('smtp:\n  port: "x"\n  limits:\n    maxHops: 0\n    colour: blue\nupstream: {dev: outbox}\n');
    expect(p).toEqual([
      expect.stringMatching(/^smtp\.port \(line 2\): .*number/),
      expect.stringMatching(/^smtp\.limits\.maxHops \(line 4\): /),
      expect.stringMatching(/^smtp\.limits\.colour \(line 5\): unknown key$/),
    ]);
  });

  it('refuses a clear-text password, a bad network and a duplicate tenant', () => {
    const p = problems(`tenants:
  - {id: a, username: a, password: hunter2, domains: [a.test]}
  - {id: a, networks: [10.0.0.0/33], domains: [b.test]}
`);
    expect(p.join('\n')).toMatch(/tenants\[0\]\.password \(line 2\): must be a scrypt hash/);
    expect(p.join('\n')).toMatch(/tenants\[1\]\.networks\[0\].*CIDR/);
    expect(p.join('\n')).toMatch(/tenants\[1\]\.id.*duplicate tenant id "a"/);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('smtp:\n  port: 1\n   bad: [\n')[0]).toMatch(/^line \d+: YAML syntax/);
  });

  it('fills defaults and freezes the result', () => {
    const c = parseConfig('{}', 'x.yaml');
    expect(c.smtp.port).toBe(2525);
    expect(c.upstream.dev).toBe('outbox');
    expect(c.smtp.limits.maxHops).toBe(50);
    expect(Object.isFrozen(c.smtp.limits)).toBe(true);
  });
});

describe('smtp.workers', () => {
  const config = (workers: string) => parseConfig(`smtp: { workers: ${workers} }\nupstream: { dev: outbox }\n`, '/etc/mw.yaml');

  it('auto is one per usable core: the CPU affinity, bounded by a cgroup CPU quota', async () => {
    const { workerCount } = await import('../../src/main.js');
    expect(workerCount(config('auto'), 8)).toBe(8);
    expect(workerCount(config('auto'), 8, 'max 100000\n')).toBe(8);
    expect(workerCount(config('auto'), 8, '200000 100000\n')).toBe(2);
    expect(workerCount(config('auto'), 8, '150000 100000\n')).toBe(2);
    expect(workerCount(config('auto'), 8, '50000 100000\n')).toBe(1);
    expect(workerCount(config('3'), 8, '100000 100000\n')).toBe(3);
    expect(workerCount(parseConfig('upstream: { dev: outbox }\n', '/etc/mw.yaml'), 8)).toBe(1);
  });

  it('anything else is refused, naming the key', () => {
    for (const bad of ['0', 'many', '1.5']) expect(problems(`smtp: { workers: ${bad} }\nupstream: { dev: outbox }\n`).join('\n')).toContain('smtp.workers');
  });
});
