// mailwarden store ... on the embedded store: a backup restored into a new directory serves
// the same tenants and lists; every bad input gets a precise message and changes nothing.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/process.js';
import { ACME_HASH } from '../helpers/relay.js';
import { EmbeddedStore } from '../../src/store/embedded/store.js';

const execFileP = promisify(execFile);

function setup(storeDir: string): { dir: string; cli: (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }> } {
  const dir = mkdtempSync(join(tmpdir(), 'mw-storecli-'));
  writeFileSync(
    join(dir, 'config.yaml'),
    `store: { kind: embedded, path: ${storeDir} }
keys: { masterKeyFile: ${join(dir, '..', 'shared-master.key')} }
accounting: { dir: ${join(dir, 'accounting')} }
admin: { auditLog: ${join(dir, 'audit.log')} }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test] }
`,
  );
  return {
    dir,
    cli: async (...args: string[]) => {
      try {
        const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml') } });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
  };
}

describe('mailwarden store', () => {
  const root = mkdtempSync(join(tmpdir(), 'mw-storecli-root-'));
  const a = setup(join(root, 'a', 'store'));
  const b = setup(join(root, 'b', 'store'));
  const backup = join(root, 'store.jsonl');

  it('backs up a store and restores it into a new one: same identity, tenant keys and suppressions', async () => {
    expect((await a.cli('tenant', 'add', '--id', 'globex', '--domain', 'globex.test', '--network', '192.0.2.0/24')).code).toBe(0);
    expect((await a.cli('suppression', 'add', '--tenant', 'globex', '--reason', 'complaint', '"Bob"@Example.org')).code).toBe(0);
    const status = await a.cli('store', 'status', '--json');
    expect(status.code).toBe(0);
    const identity = (JSON.parse(status.stdout) as { identity: { id: string } }).identity;

    const made = await a.cli('store', 'backup', backup);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(new RegExp(`^backed up store ${identity.id} to .*: \\d+ records`));
    expect(statSync(backup).mode & 0o077).toBe(0);
    expect(readFileSync(backup, 'utf8')).not.toMatch(/bob@example\.org/i);
    expect((await a.cli('store', 'backup', backup)).stderr).toBe(`mailwarden: ${backup} exists; give --force to replace it\n`);

    // b's directory does not exist yet: a restore on a new host
    const into = await b.cli('store', 'restore', backup);
    expect(into.code).toBe(0);
    expect((await b.cli('store', 'status', '--json')).stdout).toContain(identity.id);
    const twice = await b.cli('store', 'restore', backup);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/^mailwarden: the store already has identity [0-9a-f-]{36} \(created .*\): restore and init load only into a store without one\n$/);
    // and a store that served has an identity of its own: nothing is loaded over it
    expect((await a.cli('store', 'restore', backup)).code).toBe(2);
  });

  it('restores into a store without an identity, once', async () => {
    const target = join(root, 'c', 'store');
    // a store that lost its identity: data gone, directory there
    const lost = new EmbeddedStore(target);
    await lost.close();
    const c = setup(target);
    expect((await c.cli('tenant', 'list')).stderr).toMatch(/^mailwarden: the store has no identity \(a new store, or one that lost its data\)/);
    const restored = await c.cli('store', 'restore', backup);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/^restored store [0-9a-f-]{36} from .* \(backup of .*\): 1 tenants, 0 suspensions, 1 suppressions/);
    const original = new EmbeddedStore(join(root, 'a', 'store'));
    const copy = new EmbeddedStore(target);
    try {
      expect(await copy.getIdentity()).toEqual(await original.getIdentity());
      expect((await copy.getTenant('globex'))?.wrappedKey).toBe((await original.getTenant('globex'))?.wrappedKey);
    } finally {
      await original.close();
      await copy.close();
    }
    expect((await c.cli('suppression', 'export', '--tenant', 'globex')).stdout).toMatch(/^address,reason.*\n"""Bob""@example\.org",complaint,/);
    expect((await c.cli('store', 'restore', backup)).code).toBe(2);
  });

  it('refuses a backup that is damaged or incomplete, naming the line, and loads nothing', async () => {
    const lines = readFileSync(backup, 'utf8').trimEnd().split('\n');
    const cases: Array<[string, string[], RegExp]> = [
      ['bad', [...lines.slice(0, 2), '{"t":"tenant"', ...lines.slice(2)], /:3: not JSON\n$/],
      ['unknown', [...lines.slice(0, 2), '{"t":"mystery","v":{}}', ...lines.slice(2)], /:3: not a backup record\n$/],
      ['truncated', lines.slice(0, -1), /: no end line: the backup is incomplete\n$/],
      ['short', [...lines.slice(0, 2), ...lines.slice(3)], /the end line counts \d+ records, the file holds \d+\n$/],
      ['foreign', ['{"hello":"world"}', ...lines.slice(1)], /:1: not a mailwarden store backup \(version 1\)\n$/],
    ];
    for (const [name, content, error] of cases) {
      const target = join(root, `bad-${name}`, 'store');
      const lost = new EmbeddedStore(target);
      await lost.close();
      const d = setup(target);
      const file = join(root, `${name}.jsonl`);
      writeFileSync(file, `${content.join('\n')}\n`);
      const r = await d.cli('store', 'restore', file);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(error);
      const after = new EmbeddedStore(target);
      expect(await after.getIdentity(), name).toBeNull();
      expect(await after.listTenants(), name).toEqual([]);
      await after.close();
    }
  });

  it('init needs --empty and --yes, and never replaces an identity', async () => {
    expect((await a.cli('store', 'init')).stderr).toMatch(/^mailwarden: store init --empty --yes: the only way/);
    expect((await a.cli('store', 'init', '--empty')).stderr).toMatch(/add --yes if that is what you want\n$/);
    const again = await a.cli('store', 'init', '--empty', '--yes');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already has identity/);
    expect(existsSync(join(root, 'a', 'store'))).toBe(true);
  });
});
