// A master key that is not the one the store's tenant keys were wrapped with: `serve` refuses
// with one line before it writes anything; tenant keys that stop unwrapping under a running
// relay make /readyz answer 503 with the cause.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, spawnRelay } from '../helpers/process.js';
import { startCaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_HASH, ACME_PASSWORD } from '../helpers/relay.js';
import { MasterKey } from '../../src/crypto/keys.js';
import { authedSession, tlsSession } from '../helpers/client.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

describe('the master key', () => {
  it('serve refuses a master key that unwraps none of the store\'s tenant keys, with one line, and changes nothing', async () => {
    const upstream = await startCaptureUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'mw-mkey-'));
    const yaml = `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { kind: embedded, path: ${join(dir, 'store')} }
keys: { generateMasterKey: false }
metrics: { port: 0 }
feedback: { enabled: false }
admin: { enabled: false }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test] }
log: { level: info }
`;
    const right = randomBytes(32).toString('base64');
    const relay = await spawnRelay(yaml, dir, { MAILWARDEN_MASTER_KEY: right });
    relay.child.kill('SIGTERM');
    await relay.exited;
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml);
    const wrong = randomBytes(32).toString('base64');
    const failed = await run(process.execPath, [CLI, 'serve'], { env: { ...process.env, MAILWARDEN_CONFIG: file, MAILWARDEN_MASTER_KEY: wrong } }).then(
      () => null,
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    expect(failed).not.toBeNull();
    expect(failed!.code).toBe(78);
    expect(failed!.stderr).toBe('mailwarden: the master key (MAILWARDEN_MASTER_KEY or keys.masterKeyFile) unwraps none of the 1 tenant keys in the store: it is not the key this store was set up with\n');
    expect(failed!.stdout).not.toContain('smtp listening');
    // the right key still serves: nothing was re-keyed by the refused start
    const again = await spawnRelay(yaml, dir, { MAILWARDEN_MASTER_KEY: right });
    const s = await authedSession(again.port, 'acme', ACME_PASSWORD);
    expect(await s.command('MAIL FROM:<a@acme.test>')).toMatch(/^250 /);
    s.destroy();
    again.child.kill('SIGKILL');
    await upstream.close();
  }, 30_000);

  it('a relay whose tenant keys stop unwrapping answers 503 on /readyz and names the cause', async () => {
    const upstream = await startCaptureUpstream();
    const relay = await startTestRelay(testConfig(upstream.port, { store: { tenantRefreshMs: 100 } }));
    try {
      expect((await fetch(`http://127.0.0.1:${relay.metrics!.port}/readyz`)).status).toBe(200);
      // the store's tenant records now carry keys wrapped under another master key (a restore from another installation's backup)
      const other = new MasterKey(randomBytes(32));
      for (const t of await relay.store.listTenants()) await relay.store.putTenant({ ...t, wrappedKey: other.newTenantKey(t.id).wrapped });
      await waitFor(() => relay.tenants.size === 0, 5000);
      const res = await fetch(`http://127.0.0.1:${relay.metrics!.port}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ready: false, store: 'ok', tenants: 'unservable', causes: ['none of the 2 tenant keys in the store unwraps with the configured master key'] });
      const s = await tlsSession(relay.port);
      expect(await s.login('acme', ACME_PASSWORD)).toMatch(/^535 /);
      s.destroy();
    } finally {
      await relay.close();
      await upstream.close();
    }
  });
});
