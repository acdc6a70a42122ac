// A DSN is kept in the store until it is delivered: a relay killed while its DSN waits for a
// retry, and started again, delivers it exactly once, and the store never holds the refused
// recipient's address in clear text.
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { spawnRelay, type RelayProcess } from '../helpers/process.js';
import { sendMail } from '../helpers/client.js';
import { ACME_HASH, ACME_PASSWORD } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('DSNs kept in the store', () => {
  let upstream: CaptureUpstream;
  let relay: RelayProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mw-dsn-'));
  const yaml = (port: number) => `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test, dsn: { retryDelaysMs: [1500], takeOverAfterMs: 300 } }
upstream: { host: 127.0.0.1, port: ${port}, starttls: off }
store: { kind: embedded, path: ./data/store }
metrics: { port: 0 }
feedback: { enabled: false }
admin: { enabled: false }
tenants:
  - { id: acme, username: acme, password: "${ACME_HASH}", domains: [acme.test] }
log: { level: info }
`;

  beforeAll(async () => {
    upstream = await startCaptureUpstream({ refuseRcpt: { 'gone@example.org': [550, '5.1.1 user unknown'] } });
  });
  afterAll(async () => {
    relay?.child.kill('SIGKILL');
    await upstream?.close();
  });

  it('a relay killed while its DSN waits for a retry delivers it after its restart, once', async () => {
    upstream.deferNullSender = true;
    relay = await spawnRelay(yaml(upstream.port), dir);
    const sent = await sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['bob@example.org', 'gone@example.org'], message: 'Subject: hi\r\n\r\nbody\r\n' });
    expect(sent.response).toMatch(/the sender will be notified$/);
    // the first attempt was deferred: the DSN now waits for its retry, kept in the store
    await waitFor(() => /"msg":"delivery status notification not sent"/.test(relay!.output()));
    relay.child.kill('SIGKILL');
    await relay.exited;
    for (const f of filesUnder(join(dir, 'data/store'))) expect(readFileSync(f).includes('gone@example.org')).toBe(false);

    upstream.deferNullSender = false;
    relay = await spawnRelay(yaml(upstream.port), dir);
    await waitFor(() => upstream.messages.some((m) => m.from === ''), 10_000);
    expect(relay.output()).toContain('delivery status notification taken over');
    // exactly once, also after the next sweeps
    await new Promise((r) => setTimeout(r, 1500));
    const dsns = upstream.messages.filter((m) => m.from === '');
    expect(dsns).toHaveLength(1);
    expect(dsns[0]!.to).toEqual(['alice@acme.test']);
    expect(dsns[0]!.raw.toString('utf8')).toMatch(/Final-Recipient: rfc822; gone@example\.org/);
    expect(upstream.messages.filter((m) => m.from !== '')).toHaveLength(1);
  });
});
