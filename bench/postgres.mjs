// A private PostgreSQL for a benchmark, as the tests start theirs (test/helpers/postgres.ts):
// initdb and pg_ctl into a temporary directory, on a free port; as root the server runs as
// the `postgres` user (initdb refuses root). Durability settings stay at their defaults.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './common.mjs';

export async function startPostgres() {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/initdb'))).sort((a, b) => b - a)[0] : undefined;
  if (!version) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql)');
  const bin = join(root, version, 'bin');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-pg-'));
  let ids = {};
  if (userInfo().uid === 0) {
    ids = { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
    chownSync(dir, ids.uid, ids.gid);
  }
  const as = (file, args) => execFileSync(join(bin, file), args, { ...ids, cwd: dir, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C' } });
  as('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  as('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_wal_size=4GB`, 'start']);
  as('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'mailwarden']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/mailwarden`,
    stop() {
      as('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
