// --help and --version answer and do nothing else: `serve --help` starts no relay, a
// command's --help touches no store and no file.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/process.js';

const run = promisify(execFile);

describe('mailwarden --help and --version', () => {
  it.each([
    ['serve', /^ {2}serve /m],
    ['token', /^ {2}token revoke ID$/m],
    ['suppression', /^ {2}suppression import /m],
  ])('%s --help prints that command\'s usage, exits 0 and acts on nothing', async (command, usage) => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-help-'));
    const args = command === 'token' ? ['token', 'revoke', '--help'] : command === 'suppression' ? ['suppression', 'import', '--tenant', 'acme', '--help'] : ['serve', '--help'];
    const { stdout } = await run(process.execPath, [CLI, ...args], { cwd: dir, timeout: 10_000, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'missing.yaml') } });
    expect(stdout).toMatch(usage);
    // no store, no certificate, no key, no accounting: nothing was started or written
    expect(readdirSync(dir)).toEqual([]);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    const { stdout } = await run(process.execPath, [CLI, '--version']);
    expect(stdout.trim()).toBe(`mailwarden ${pkg.version}`);
  });
});
