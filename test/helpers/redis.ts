// A private redis-server per test file, on a free port (Debian package redis-server).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/sbin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? 'redis-server';

export interface RedisProcess {
  readonly port: number;
  /** its working directory, where an append-only file survives a restart */
  readonly dir: string;
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export async function startRedis(extra: string[] = []): Promise<RedisProcess> {
  return startRedisOnPort(await freePort(), extra, mkdtempSync(join(tmpdir(), 'mw-redis-')));
}

/** A redis-server on a given port and directory: a restart of one that was stopped. */
export async function startRedisOnPort(port: number, extra: string[], dir: string): Promise<RedisProcess> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port);
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface RedisCluster {
  readonly urls: string[];
  readonly nodes: RedisProcess[];
  stop(): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free as well. */
async function clusterPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if ((await free(port)) && (await free(port + 10000))) return port;
  }
}

/** Three masters, no replicas, created with redis-cli --cluster create. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  const nodes: RedisProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await clusterPort();
    const dir = mkdtempSync(join(tmpdir(), 'mw-rcluster-'));
    nodes.push(await startRedisOnPort(port, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000'], dir));
  }
  const cli = ['/usr/bin/redis-cli', '/usr/local/bin/redis-cli'].find((p) => existsSync(p)) ?? 'redis-cli';
  await run(cli, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
  // every node, not only the first, must know all three and see the cluster as ok
  const deadline = Date.now() + 20_000;
  for (const node of nodes) {
    for (;;) {
      const { stdout } = await run(cli, ['-p', String(node.port), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok') && stdout.includes('cluster_known_nodes:3') && stdout.includes('cluster_slots_ok:16384')) break;
      if (Date.now() > deadline) throw new Error(`cluster did not come up on ${node.port}:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { urls: nodes.map((n) => n.url), nodes, stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
}

export interface RedisSentinel {
  readonly master: RedisProcess;
  readonly sentinelUrl: string;
  stop(): Promise<void>;
}

/** A master and one sentinel watching it as "mymaster" (redis-server --sentinel). */
export async function startRedisSentinel(): Promise<RedisSentinel> {
  const { writeFileSync } = await import('node:fs');
  const master = await startRedis();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mw-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds mymaster 2000\n`);
  const child = spawn(REDIS_SERVER, [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port);
  return {
    master,
    sentinelUrl: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      await master.stop();
    },
  };
}
