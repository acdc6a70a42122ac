// SIGHUP: `mailwarden serve` reads its configuration file again and takes up what can change
// without dropping a connection (here the log level and a tenant's rate limit); an invalid
// file changes nothing and is reported; a change that needs a restart is named.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { authedSession, type RawSession } from '../helpers/client.js';
import { spawnRelay, type RelayProcess } from '../helpers/process.js';
import { ACME_HASH, ACME_PASSWORD } from '../helpers/relay.js';

describe('SIGHUP reloads the configuration', () => {
  let upstream: CaptureUpstream;
  let relay: RelayProcess;
  let dir: string;
  const config = (o: { level: string; limit: number; extra?: string; workers?: number }) => `smtp: { host: 127.0.0.1, port: 0, hostname: relay.test, workers: ${o.workers ?? 1} }
upstream: { host: 127.0.0.1, port: ${upstream.port}, starttls: off }
store: { kind: embedded, path: ./data/store }
metrics: { port: 0 }
feedback: { port: 0 }
admin: { enabled: false }
tenants:
  - id: acme
    username: acme
    password: "${ACME_HASH}"
    domains: [acme.test]
    limits: { messages: [{ limit: ${o.limit}, per: hour }] }
log: { level: ${o.level} }
${o.extra ?? ''}`;

  /** the relay's output from `from` on, once it shows `line` */
  async function logged(from: number, line: RegExp): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const out = relay.output().slice(from);
      if (line.test(out)) return out;
      if (Date.now() > deadline) throw new Error(`no ${line} in:\n${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function hup(yaml: string, expected: RegExp): Promise<string> {
    const from = relay.output().length;
    writeFileSync(join(dir, 'config.yaml'), yaml);
    relay.child.kill('SIGHUP');
    return logged(from, expected);
  }

  const mail = async (s: RawSession) => {
    const reply = await s.command('MAIL FROM:<alice@acme.test>');
    await s.command('RSET');
    return reply;
  };

  beforeAll(async () => {
    upstream = await startCaptureUpstream();
    dir = mkdtempSync(join(tmpdir(), 'mw-reload-'));
    relay = await spawnRelay(config({ level: 'info', limit: 100 }), dir);
  });
  afterAll(async () => {
    relay?.child.kill('SIGKILL');
    await upstream?.close();
  });

  it('a new log level and a tenant\'s new limit apply to the next transaction, on a connection that stays open', async () => {
    const open = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    for (let i = 0; i < 3; i++) expect(await mail(open)).toMatch(/^250 /);
    // debug lines (a connection opened) are not written at info
    let from = relay.output().length;
    (await authedSession(relay.port, 'acme', ACME_PASSWORD)).destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(relay.output().slice(from)).not.toContain('"msg":"connection opened"');

    const out = await hup(config({ level: 'debug', limit: 1 }), /"msg":"configuration reloaded"/);
    expect(out).toMatch(/"changed":\["log\.level","tenants"\]/);
    // the connection opened before the reload is still served, under the new limit: 1 an hour,
    // spent by the three messages before (at 100 an hour the next would pass)
    expect(await mail(open)).toMatch(/^451 4\.7\.1 /);
    from = relay.output().length;
    const fresh = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await mail(fresh)).toMatch(/^451 4\.7\.1 /);
    await logged(from, /"msg":"connection opened"/);
    open.destroy();
    fresh.destroy();
  });

  it('an invalid file changes nothing and is reported with the key and line', async () => {
    const before = readFileSync(join(dir, 'config.yaml'), 'utf8');
    const out = await hup(`${config({ level: 'info', limit: 1000 })}smtp_typo: true\n`, /"msg":"configuration not reloaded: the file is not valid; the running configuration is unchanged"/);
    expect(out).toMatch(/smtp_typo \(line \d+\): unknown key/);
    // still debug, still the limit of 1
    const from = relay.output().length;
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await mail(s)).toMatch(/^451 4\.7\.1 /);
    await logged(from, /"msg":"connection opened"/);
    s.destroy();
    writeFileSync(join(dir, 'config.yaml'), before);
  });

  it('a change that needs a restart is named, and the rest is taken up', async () => {
    const out = await hup(config({ level: 'info', limit: 1000, extra: 'accounting: { flushMs: 500 }\n' }), /"msg":"configuration reloaded"/);
    expect(out).toMatch(/"keys":\["accounting\.flushMs"\][^\n]*"msg":"configuration reloaded: these changes wait for a restart"/);
    const s = await authedSession(relay.port, 'acme', ACME_PASSWORD);
    expect(await mail(s)).toMatch(/^250 /);
    s.destroy();
  });

  it('with smtp.workers: 2, the primary passes the reload to every worker', async () => {
    relay.child.kill('SIGTERM');
    await relay.exited;
    dir = mkdtempSync(join(tmpdir(), 'mw-reload-workers-'));
    relay = await spawnRelay(config({ level: 'info', limit: 100, workers: 2 }), dir);
    await logged(0, /"msg":"smtp workers listening"/);
    const sessions = await Promise.all([0, 1, 2, 3].map(() => authedSession(relay.port, 'acme', ACME_PASSWORD)));
    for (const s of sessions) expect(await mail(s)).toMatch(/^250 /);
    const out = await hup(config({ level: 'debug', limit: 1, workers: 2 }), /("msg":"configuration taken up by this worker"[^]*){2}/);
    expect(out).toMatch(/"changed":\["log\.level","tenants"\][^\n]*"msg":"configuration reloaded"/);
    // the sessions are spread over both workers; each takes the new limit on its open connections
    for (const s of sessions) expect(await mail(s)).toMatch(/^451 4\.7\.1 /);
    // and logs at debug: a new connection's line comes from a worker
    const from = relay.output().length;
    (await authedSession(relay.port, 'acme', ACME_PASSWORD)).destroy();
    expect(await logged(from, /"worker":\d+[^\n]*"msg":"connection opened"/)).toBeTruthy();
    for (const s of sessions) s.destroy();
  }, 30_000);
});
