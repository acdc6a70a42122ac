// Notices are retried on server errors and timeouts, not on a refusal; close() stops waiting,
// and a delivery waiting for its retry is kept in the store for a process to take over.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Notifier, signature, type Notice } from '../../src/notify/notifier.js';
import { EmbeddedStore } from '../../src/store/embedded/store.js';

const notice: Notice = { event: 'rate.warning', tenant: 'acme', at: Date.UTC(2026, 10, 21), summary: 'acme: complaint rate high', details: { rate: 0.002 } };

describe('notifier', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function receiver(statuses: number[]): Promise<{ url: string; hits: Array<{ signature: string; delivery: string; body: string }> }> {
    const hits: Array<{ signature: string; delivery: string; body: string }> = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        hits.push({ signature: String(req.headers['x-mailwarden-signature']), delivery: String(req.headers['x-mailwarden-delivery']), body });
        res.writeHead(statuses[Math.min(hits.length - 1, statuses.length - 1)]!).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`, hits };
  }

  function notifier(url: string, outcomes: string[], secret: string | null = 'a-secret-of-some-length') {
    return new Notifier({
      contactOf: async () => null,
      abuseDesk: { webhook: url },
      secret,
      from: 'mailwarden@relay.test',
      sendMail: async () => undefined,
      retryDelaysMs: [10, 10, 10],
      timeoutMs: 1000,
      log: pino({ level: 'silent' }),
      onOutcome: (channel, ok) => outcomes.push(`${channel}:${ok}`),
    });
  }

  it('retries a 500 and a 503 with the same delivery id, then succeeds; the signature verifies', async () => {
    const { url, hits } = await receiver([500, 503, 204]);
    const outcomes: string[] = [];
    const n = notifier(url, outcomes);
    n.notify(notice);
    await n.idle();
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.delivery)).size).toBe(1);
    const t = Number(/^t=(\d+),/.exec(hits[2]!.signature)![1]);
    expect(hits[2]!.signature).toBe(signature('a-secret-of-some-length', t, hits[2]!.body));
    expect(JSON.parse(hits[2]!.body)).toMatchObject({ event: 'rate.warning', tenant: 'acme', at: '2026-11-21T00:00:00.000Z' });
    expect(outcomes).toEqual(['webhook:true']);
  });

  it('gives up at once on a 400, and after the last retry on persistent 500s', async () => {
    const refused = await receiver([400]);
    const outcomes: string[] = [];
    const a = notifier(refused.url, outcomes);
    a.notify(notice);
    await a.idle();
    expect(refused.hits).toHaveLength(1);
    server!.close();
    const failing = await receiver([500]);
    const b = notifier(failing.url, outcomes);
    b.notify(notice);
    await b.idle();
    expect(failing.hits).toHaveLength(4);
    expect(outcomes).toEqual(['webhook:false', 'webhook:false']);
  });

  it('sends no unsigned webhook', async () => {
    const { url, hits } = await receiver([204]);
    const outcomes: string[] = [];
    const n = notifier(url, outcomes, null);
    n.notify(notice);
    await n.idle();
    expect(hits).toHaveLength(0);
    expect(outcomes).toEqual(['webhook:false']);
  });

  it('keeps a delivery waiting for its retry in the store: after a restart one process takes it over and delivers it', async () => {
    const { url, hits } = await receiver([503, 204]);
    const store = new EmbeddedStore(join(mkdtempSync(join(tmpdir(), 'mw-notices-')), 'store'));
    const make = (clock: () => number, outcomes: string[]) =>
      new Notifier({
        contactOf: async () => null,
        abuseDesk: { webhook: url },
        secret: 'a-secret-of-some-length',
        from: 'mailwarden@relay.test',
        sendMail: async () => undefined,
        retryDelaysMs: [60_000],
        timeoutMs: 1000,
        log: pino({ level: 'silent' }),
        onOutcome: (channel, ok) => outcomes.push(`${channel}:${ok}`),
        outbox: store,
        now: clock,
      });
    const before: string[] = [];
    const a = make(Date.now, before);
    a.notify(notice);
    // the first attempt got 503; the retry is a minute away
    for (let i = 0; i < 100 && (await store.listPendingNotices())[0]?.attempts !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(hits).toHaveLength(1);
    // while its process waits for the retry, nobody else takes it
    expect(await make(Date.now, []).sweep()).toBe(0);
    a.close();
    await a.idle();
    expect(before).toEqual([]);
    const [kept] = await store.listPendingNotices();
    expect(kept).toMatchObject({ tenant: 'acme', channel: 'webhook', who: 'abuse-desk', attempts: 1, notice });

    // after the lease: two processes sweep at once, one takes it over
    const later = () => Date.now() + 3 * 3_600_000;
    const after: string[] = [];
    const [b, c] = [make(later, after), make(later, after)];
    expect((await Promise.all([b.sweep(), c.sweep()])).reduce((x, y) => x + y)).toBe(1);
    await Promise.all([b.idle(), c.idle()]);
    expect(hits).toHaveLength(2);
    expect(hits[1]!.delivery).toBe(hits[0]!.delivery);
    expect(after).toEqual(['webhook:true']);
    expect(await store.listPendingNotices()).toEqual([]);
    await store.close();
  });
});
