// A private PostgreSQL cluster per test file, on a free port (Debian package postgresql):
// initdb and pg_ctl into a temporary directory. initdb refuses to run as root, so as root the
// server runs as the `postgres` user the package creates.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql)');
  return join(root, versions[0]!, 'bin');
}

export interface PostgresProcess {
  readonly port: number;
  readonly dir: string;
  /** a connection URL for the database `mailwarden` */
  readonly url: string;
  /** stops the server (fast shutdown: connections are cut) */
  stop(): Promise<void>;
  /** starts it again on the same port and directory */
  start(): Promise<void>;
  /** stops it and removes its directory */
  destroy(): Promise<void>;
  /** an empty directory the server may use for a tablespace */
  tablespaceDir(name: string): string;
}

export async function startPostgres(): Promise<PostgresProcess> {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mw-pg-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  let ids: { uid: number; gid: number } | undefined;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: g } = await run('id', ['-g', 'postgres']);
    ids = { uid: Number(stdout.trim()), gid: Number(g.trim()) };
    chownSync(dir, ids.uid, ids.gid);
  }
  const as = (file: string, args: string[]) => run(file, args, { ...(ids ?? {}), cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
  await as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const pgCtl = (...args: string[]) => as(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', ...args]);
  const start = async () => {
    await pgCtl('-o', options, 'start');
  };
  await start();
  await as(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'mailwarden']);
  return {
    port,
    dir,
    url: `postgres://postgres@127.0.0.1:${port}/mailwarden`,
    stop: async () => {
      await pgCtl('-m', 'fast', 'stop');
    },
    start,
    tablespaceDir: (name) => {
      const path = join(dir, `tablespace-${name}`);
      mkdirSync(path);
      if (ids) chownSync(path, ids.uid, ids.gid);
      return path;
    },
    destroy: async () => {
      await pgCtl('-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
