// Starts mailwarden in process on port 0 with a test configuration, its log lines captured.
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { start, type Mailwarden } from '../../src/main.js';
import { AdminService } from '../../src/admin/service.js';
import { loadMasterKey } from '../../src/crypto/master-key-file.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/ports.js';
import { newIdentity } from '../../src/policy/store-identity.js';

// scrypt hash of "acme-secret" and "globex-secret" with a small cost, for fast tests
export const ACME_PASSWORD = 'acme-secret';
export const GLOBEX_PASSWORD = 'globex-secret';
export const ACME_HASH = '$scrypt$ln=10,r=8,p=1$2RQHH+d4F8CHhq4XXokSfQ==$UdcdWwlt3QggFsVMNi/Hy2af1qQpeNNaQIPoHMdU4cQ=';
export const GLOBEX_HASH = '$scrypt$ln=10,r=8,p=1$zPjLkugxwzWFxlo9sXJ/2w==$N3H+KsnQa0nCesBSAdd+XMuYEKA2fIh388aTjDhIY/Y=';

export interface TestRelay extends Mailwarden {
  readonly port: number;
  readonly logs: string[];
  readonly config: Config;
  /** the abuse desk's service on the relay's own store and master key */
  readonly admin: AdminService;
  readonly store: Store;
}

export function testConfig(upstreamPort: number | 'outbox', overrides: Record<string, unknown> = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), 'mw-relay-'));
  const upstream =
    upstreamPort === 'outbox'
      ? { dev: 'outbox', outboxDir: join(dir, 'outbox') }
      : { host: '127.0.0.1', port: upstreamPort, starttls: 'off', timeouts: { finalReplyMs: 1500, socketMs: 5000, connectMs: 2000, greetingMs: 2000 } };
  const base = {
    smtp: { host: '127.0.0.1', port: 0, hostname: 'relay.test', tls: { devCertDir: join(dir, 'tls') }, shutdownGraceMs: 3000 },
    upstream,
    store: { kind: 'embedded', path: join(dir, 'store') },
    keys: { masterKeyFile: join(dir, 'master.key') },
    tenants: [
      { id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test', 'bücher.example'] },
      { id: 'globex', username: 'globex', password: GLOBEX_HASH, domains: ['globex.test'] },
    ],
    metrics: { port: 0 },
    feedback: { port: 0 },
    admin: { port: 0, auditLog: join(dir, 'audit.log') },
    accounting: { dir: join(dir, 'accounting'), minFreeBytes: 1024 * 1024 },
    log: { level: 'debug' },
  };
  return configSchema.parse(merge(base, overrides));
}

/**
 * `initStore` (the default): a store without an identity is initialised first, as an operator
 * does once with `mailwarden store init --empty --yes`; false starts the relay on it as it is.
 */
export async function startTestRelay(config: Config, options: { now?: () => number; initStore?: boolean } = {}): Promise<TestRelay> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger(config.log.level, sink);
  const store = await openStore(config.store);
  if ((options.initStore ?? true) && !store.fresh && (await store.getIdentity()) === null) await store.createIdentity(newIdentity(Date.now()));
  const app = await start(config, { log, store, now: options.now });
  const admin = new AdminService(store, loadMasterKey(config.keys, {}).key, options.now);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await app.close();
      await store.close();
    })());
  return { ...app, port: app.smtp.port, logs, config, close, admin, store };
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? merge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
