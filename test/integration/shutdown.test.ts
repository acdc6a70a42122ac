// A shutdown whose grace period is shorter than the upstream's final reply: the transaction
// whose DATA had ended is awaited, and its relayed record and delivery count are written
// before accounting closes; the one still in DATA is aborted upstream and delivers nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { ACME_PASSWORD, startTestRelay, testConfig, type TestRelay } from '../helpers/relay.js';
import { sendMail, sessionInData } from '../helpers/client.js';
import { waitFor } from '../helpers/wait.js';
import { openStore } from '../../src/store/open.js';

describe('shutdown with transactions in flight', () => {
  let upstream: CaptureUpstream;
  let relay: TestRelay;

  beforeAll(async () => {
    upstream = await startCaptureUpstream({ finalReplyDelayMs: 1500 });
    relay = await startTestRelay(testConfig(upstream.port, { smtp: { shutdownGraceMs: 300 }, upstream: { timeouts: { finalReplyMs: 5000 } } }));
  });
  afterAll(async () => {
    await relay?.close();
    await upstream?.close();
  });

  it('waits for the upstream\'s late final reply and writes its records; aborts what is still in DATA', async () => {
    const complete = sendMail({ port: relay.port, user: 'acme', pass: ACME_PASSWORD, from: 'alice@acme.test', to: ['bob@example.org'], message: 'Subject: complete\r\n\r\nbody\r\n' });
    const partial = await sessionInData(relay.port, 'acme', ACME_PASSWORD, 'Subject: partial\r\n\r\nthe first half of the body\r\n');
    // the complete one waits for the upstream's final reply; the partial one is in DATA
    await waitFor(() => upstream.started === 2);
    const closing = relay.close();
    expect(await complete).toMatchObject({ ok: true, code: 250 });
    expect(await partial.reply(5000)).toMatch(/^421 4\.3\.2 /);
    await closing;

    expect(upstream.messages.map((m) => m.raw.toString('latin1'))).toEqual([expect.stringContaining('Subject: complete')]);
    const dir = join(relay.config.accounting.dir, 'active', 'acme');
    const records = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; reason?: string; code?: number }));
    expect(records.filter((r) => r.type === 'relayed')).toHaveLength(1);
    expect(records.filter((r) => r.type === 'deferred')).toEqual([expect.objectContaining({ reason: 'SHUTTING_DOWN', code: 421 })]);
    expect(relay.logs.join('\n')).not.toContain('arrived after the log was closed');

    // the complaint-rate denominator counted the delivery before the store closed
    const store = await openStore(relay.config.store);
    try {
      expect((await store.volumeTotals('acme', null, 1, Date.now())).delivered).toBe(1);
    } finally {
      await store.close();
    }
  });
});
