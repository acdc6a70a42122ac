// mailwarden as a process: SIGKILL in the middle of DATA loses nothing the client was told
// was accepted and delivers nothing incomplete; SIGTERM drains gracefully.
import { afterEach, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { spawnRelay, type RelayProcess } from '../helpers/process.js';
import { RawSession, sessionInData } from '../helpers/client.js';
import { ACME_PASSWORD } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';

const ACME_HASH = '$scrypt$ln=10,r=8,p=1$2RQHH+d4F8CHhq4XXokSfQ==$UdcdWwlt3QggFsVMNi/Hy2af1qQpeNNaQIPoHMdU4cQ=';

function yaml(upstreamPort: number, extra = ''): string {
  return `smtp:
  host: 127.0.0.1
  port: 0
  hostname: relay.test
  shutdownGraceMs: 5000
upstream:
  host: 127.0.0.1
  port: ${upstreamPort}
  starttls: off
tenants:
  - id: acme
    username: acme
    password: "${ACME_HASH}"
    domains: [acme.test]
metrics:
  port: 0
feedback:
  port: 0
admin:
  port: 0
log:
  level: info
${extra}`;
}

describe('the relay process', () => {
  let upstream: CaptureUpstream | undefined;
  let proc: RelayProcess | undefined;
  afterEach(async () => {
    proc?.child.kill('SIGKILL');
    await upstream?.close();
  });

  it('killed with SIGKILL mid-DATA: the client never saw 250 and the upstream holds no complete copy', async () => {
    upstream = await startCaptureUpstream();
    proc = await spawnRelay(yaml(upstream.port));
    const s = await sessionInData(proc.port, 'acme', ACME_PASSWORD, `Subject: interrupted\r\n\r\n${'some text\r\n'.repeat(2000)}`);
    await waitFor(() => upstream!.started === 1);
    proc.child.kill('SIGKILL');
    await proc.exited;
    // the client's socket closes without a reply to the message
    expect(await s.reply(3000)).toBe('');
    await new Promise((r) => setTimeout(r, 200));
    expect(upstream.messages).toHaveLength(0);
  });

  it('on SIGTERM: 421 to new connections, the transaction in flight finishes with 250, then a clean exit', async () => {
    upstream = await startCaptureUpstream();
    proc = await spawnRelay(yaml(upstream.port));
    const s = await sessionInData(proc.port, 'acme', ACME_PASSWORD, 'Subject: in flight\r\n\r\nfirst half\r\n');
    await waitFor(() => upstream!.started === 1);

    proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const late = await RawSession.open(proc.port);
    expect(await late.reply()).toMatch(/^421 4\.3\.2 /);
    late.destroy();

    s.write('second half\r\n.\r\n');
    expect(await s.reply()).toMatch(/^250 2\.0\.0 /);
    expect(await proc.exited).toBe(0);
    expect(upstream.messages).toHaveLength(1);
    expect(upstream.messages[0]!.raw.toString()).toContain('first half\r\nsecond half\r\n');
  });

  it('npm start out of the box: relays to the development outbox and serves the console', async () => {
    const { mkdtempSync, readdirSync, readFileSync, cpSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join, resolve } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'mw-dev-'));
    cpSync(resolve(import.meta.dirname, '../../config/default.yaml'), join(dir, 'default.yaml'));
    // the shipped default file, on a free port
    const text = readFileSync(join(dir, 'default.yaml'), 'utf8').replace('port: 2525 ', 'port: 0 ').replace('port: 9464', 'port: 0').replace('port: 2526', 'port: 0').replace('port: 8025', 'port: 0');
    proc = await spawnRelay(text, dir);
    expect(proc.output()).toContain('DEVELOPMENT OUTBOX');
    // the README's first message, with swaks as the client
    const { execFileSync } = await import('node:child_process');
    const dialogue = execFileSync('swaks', ['--server', `127.0.0.1:${proc.port}`, '--tls', '--auth-user', 'demo', '--auth-password', 'demo-password', '--from', 'alice@example.com', '--to', 'bob@example.org'], { encoding: 'utf8' });
    expect(dialogue).toMatch(/<~ {2}250 2\.0\.0 Ok: queued as /);
    const files = readdirSync(join(dir, 'data/outbox'));
    expect(files.filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    // and the web console, built with it, on the admin listener
    const admin = Number(/"port":(\d+)[^\n]*"msg":"admin API listening"/.exec(proc.output())![1]);
    const page = await fetch(`http://127.0.0.1:${admin}/console/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    expect((await fetch(`http://127.0.0.1:${admin}${script}`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });
});
