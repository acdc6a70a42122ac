// The command as operators expect it: --help and --version answer and do nothing else
// (`serve --help` starts no relay, a command's --help touches no store and no file), and a
// relay that cannot start says why in one line naming the key, then exits 78.
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/process.js';

const run = promisify(execFile);

describe('mailwarden --help and --version', () => {
  it.each([
    ['serve', /^Usage: mailwarden serve \[options\]$/m],
    ['token', /^Usage: mailwarden token revoke \[options\] <id>$/m],
    ['suppression', /^Usage: mailwarden suppression import \[options\] <file>$/m],
  ])('%s --help prints that command\'s usage, exits 0 and acts on nothing', async (command, usage) => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-help-'));
    const args = command === 'token' ? ['token', 'revoke', '--help'] : command === 'suppression' ? ['suppression', 'import', '--tenant', 'acme', '--help'] : ['serve', '--help'];
    const { stdout } = await run(process.execPath, [CLI, ...args], { cwd: dir, timeout: 10_000, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'missing.yaml') } });
    expect(stdout).toMatch(usage);
    // no store, no certificate, no key, no accounting: nothing was started or written
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a mistyped command gets a "did you mean" and exit 2', async () => {
    const r = await run(process.execPath, [CLI, 'supension', 'list']).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("mailwarden: unknown command 'supension'\n(Did you mean suspensions?)");
    // a mistyped option too, on a command's own options
    const option = await run(process.execPath, [CLI, 'suspensions', '--tenat', 'acme']).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("mailwarden: unknown option '--tenat'\n(Did you mean --tenant?)");
  });

  it('a usage error names what is wrong, exits 2 and opens nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-usage-'));
    const env = { ...process.env, MAILWARDEN_CONFIG: join(dir, 'missing.yaml') };
    const cases: Array<[string[], string]> = [
      [['suspend', '--reason', 'x'], "required option '--tenant <tenant>' not specified"],
      [['suspend', '--tenant', 'acme', '--reason', 'x', '--domain', 'a.example', '--sender', 'b@a.example'], "option '--domain <domain>' cannot be used with option '--sender <address>'"],
      [['token', 'create', '--role', 'root'], "option '--role <role>' argument 'root' is invalid. Allowed choices are operator, abuse-desk, tenant."],
      [['feedback', 'list', '--review', '--limit', '0'], "option '--limit <n>' argument '0' is invalid. not a positive whole number"],
      [['token', 'revoke'], "missing required argument 'id'"],
      [['store', 'status', 'extra'], "too many arguments for 'status'"],
    ];
    for (const [args, message] of cases) {
      const r = await run(process.execPath, [CLI, ...args], { cwd: dir, env }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`mailwarden: ${message}`);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('every command path answers --help with its usage, rc 0, and acts on nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-help-all-'));
    const env = { ...process.env, MAILWARDEN_CONFIG: join(dir, 'missing.yaml') };
    const help = async (path: string[]) => {
      const { stdout } = await run(process.execPath, [CLI, ...path, '--help'], { cwd: dir, timeout: 20_000, env });
      expect(stdout, path.join(' ')).toMatch(new RegExp(`^Usage: mailwarden ${path.map((p) => `${p} `).join('')}`, 'm'));
      // the names listed under "Commands:" (the help command aside)
      const commands = /^Commands:\n((?: {2}.*\n)+)/m.exec(stdout)?.[1] ?? '';
      return [...commands.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    };
    // the tree, walked from the root: each level's commands are asked for theirs, four at a time
    const leaves: string[][] = [];
    let level: string[][] = [[]];
    while (level.length > 0) {
      const next: string[][] = [];
      for (let i = 0; i < level.length; i += 4) {
        await Promise.all(
          level.slice(i, i + 4).map(async (path) => {
            const children = await help(path);
            if (children.length === 0) leaves.push(path);
            for (const c of children) next.push([...path, c]);
          }),
        );
      }
      level = next;
    }
    expect(leaves.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['serve', 'config check', 'tenant offboard', 'suppression export', 'token revoke', 'accounting migrate', 'retention run']));
    expect(leaves.length).toBeGreaterThan(25);
    expect(readdirSync(dir)).toEqual([]);
  }, 120_000);

  it('--version prints the package version and the commit it was built from', async () => {
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    const commit = (await run('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: resolve(import.meta.dirname, '../..') })).stdout.trim();
    const { stdout } = await run(process.execPath, [CLI, '--version']);
    expect(stdout.trim()).toBe(`mailwarden ${pkg.version} (${commit})`);
  });
});

/** `serve` for a while: until its standard output shows `until` (at most 15 s), or 1.5 s; then SIGTERM. Its standard output. */
async function spawnRelayQuietly(dir: string, env: NodeJS.ProcessEnv, until?: RegExp): Promise<string> {
  const child = (await import('node:child_process')).spawn(process.execPath, [CLI, 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const shown = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (until?.test(out)) resolve();
    });
  });
  await Promise.race([until ? shown : new Promise((r) => setTimeout(r, 1500)), new Promise((r) => setTimeout(r, 15_000))]);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return out;
}

describe('a relay that cannot start', () => {
  // as root (CI) no permission bit stops a read: the impossible path runs through a file
  /** `mailwarden serve` (or another command) on this configuration: its exit code and what it printed on stderr */
  async function serve(yaml: string, args = ['serve']): Promise<{ code: number; stdout: string; stderr: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'mw-start-'));
    writeFileSync(join(dir, 'config.yaml'), yaml);
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: dir, timeout: 20_000, env: { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml') } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }
  const rest = 'upstream: { dev: outbox }\nmetrics: { port: 0 }\nadmin: { port: 0 }\nfeedback: { port: 0 }\n';

  it('a certificate file that is not there: one line naming smtp.tls.cert, exit 78; config check says so too', async () => {
    const yaml = `smtp: { port: 0, tls: { cert: /nonexistent/cert.pem, key: /nonexistent/key.pem } }\n${rest}`;
    const started = await serve(yaml);
    expect(started.code).toBe(78);
    expect(started.stderr.trim()).toBe('mailwarden: smtp.tls.cert: cannot read /nonexistent/cert.pem: no such file or directory');
    const checked = await serve(yaml, ['config', 'check']);
    expect(checked.code).toBe(78);
    expect(checked.stderr).toContain('smtp.tls.key: cannot read /nonexistent/key.pem');
  });

  it('config check reads every file the configuration names: master key, rules file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-check-'));
    writeFileSync(join(dir, 'bad.key'), 'not a key\n');
    writeFileSync(join(dir, 'rules.yaml'), 'version: 1\nbounces: [ { id: x, when: { colour: red }, verdict: hard } ]\n');
    const checked = await serve(`smtp: { port: 0 }\nkeys: { masterKeyFile: ${join(dir, 'bad.key')} }\nfeedback: { rulesFile: ${join(dir, 'rules.yaml')} }\nupstream: { dev: outbox }\n`, ['config', 'check']);
    expect(checked.code).toBe(78);
    expect(checked.stderr).toContain(`keys.masterKeyFile (${join(dir, 'bad.key')}): the master key must be 32 bytes`);
    expect(checked.stderr).toContain('feedback.rulesFile: ');
    // a key the first start would make is fine
    expect((await serve(`smtp: { port: 0 }\nupstream: { dev: outbox }\n`, ['config', 'check'])).code).toBe(0);
  });

  it('a port in use: one line naming smtp.port and the address, exit 78, nothing left running', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const started = await serve(`smtp: { port: ${port} }\n${rest}`);
      expect(started.code).toBe(78);
      expect(started.stderr.trim()).toBe(`mailwarden: smtp.port: cannot listen on 127.0.0.1:${port}: address already in use`);
      // no background job ran before the ports were bound, and no misleading line came first
      expect(started.stdout).not.toContain('retention run');
      expect(started.stdout).not.toContain('connection error');
    } finally {
      taken.close();
    }
  });

  it('Redis that does not answer: one line naming store.url and the server, the password hidden, exit 69', async () => {
    const started = await serve(`smtp: { port: 0 }\nstore: { kind: redis, url: "redis://:hunter2@127.0.0.1:1" }\n${rest}`);
    expect(started.code).toBe(69);
    expect(started.stderr).toMatch(/^mailwarden: store\.url: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    expect(started.stderr).not.toContain('hunter2');
    expect(started.stderr).not.toMatch(/^\s+at /m);
  });

  it('MAILWARDEN_LOG_LEVEL overrides log.level; a level that is none is refused by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-level-'));
    writeFileSync(join(dir, 'config.yaml'), `smtp: { port: 0 }\n${rest}log: { level: info }\n`);
    const env = { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml'), MAILWARDEN_LOG_LEVEL: 'loud' };
    const failed = await run(process.execPath, [CLI, 'serve'], { cwd: dir, timeout: 20_000, env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed.code).toBe(78);
    expect(failed.stderr.trim()).toBe('mailwarden: MAILWARDEN_LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent');
    // silent: not even the start-up lines
    const quiet = await spawnRelayQuietly(dir, { ...env, MAILWARDEN_LOG_LEVEL: 'silent' });
    expect(quiet).toBe('');
  });

  it('log.format pretty: readable lines on standard output; auto on a pipe: JSON Lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-format-'));
    writeFileSync(join(dir, 'pretty.yaml'), `smtp: { port: 0 }\n${rest}log: { format: pretty }\n`);
    writeFileSync(join(dir, 'auto.yaml'), `smtp: { port: 0 }\n${rest}`);
    const pretty = await spawnRelayQuietly(dir, { ...process.env, MAILWARDEN_CONFIG: join(dir, 'pretty.yaml') }, /smtp listening/);
    expect(pretty).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \S*INFO\S*: \S*smtp listening/m);
    expect(pretty).not.toMatch(/^\{"level"/m);
    const auto = await spawnRelayQuietly(dir, { ...process.env, MAILWARDEN_CONFIG: join(dir, 'auto.yaml') }, /smtp listening.*\n/);
    expect(auto.trim().split('\n').every((l) => JSON.parse(l) !== null)).toBe(true);
  });

  it.each([
    ['an embedded store it cannot create', 'store: { kind: embedded, path: ./config.yaml/store }\n', '', '/config.yaml/store: a part of the path is not a directory'],
    ['a master key that is not one', '', 'not-a-key', 'mailwarden: MAILWARDEN_MASTER_KEY: the master key must be 32 bytes'],
    ['no master key and none to be made', 'keys: { generateMasterKey: false, masterKeyFile: ./absent.key }\n', '', 'mailwarden: keys.masterKeyFile: no master key'],
  ])('%s: one line naming the key, exit 78', async (_name, extra, key, line) => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-start-'));
    writeFileSync(join(dir, 'config.yaml'), `smtp: { port: 0 }\n${extra}${rest}`);
    const env: NodeJS.ProcessEnv = { ...process.env, MAILWARDEN_CONFIG: join(dir, 'config.yaml') };
    if (key) env.MAILWARDEN_MASTER_KEY = key;
    else delete env.MAILWARDEN_MASTER_KEY;
    const failed = await run(process.execPath, [CLI, 'serve'], { cwd: dir, timeout: 20_000, env }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed.code).toBe(78);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr.trim()).toContain(line);
    expect(failed.stderr).toMatch(/^mailwarden: (store\.path|keys\.masterKeyFile|MAILWARDEN_MASTER_KEY): /);
  });
});
