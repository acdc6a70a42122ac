// One identity per mailbox, through real SMTP sessions on each store adapter: every legal form
// of a suppressed address is refused and nothing reaches the upstream; a bounce that names
// the recipient in another form than the one relayed suppresses the one canonical mailbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaptureUpstream, type CaptureUpstream } from '../helpers/capture-upstream.js';
import { startTestRelay, testConfig, ACME_PASSWORD, type TestRelay } from '../helpers/relay.js';
import { authedSession } from '../helpers/client.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { dsn } from '../helpers/reports.js';
import { sendMail } from '../helpers/client.js';

const NFC = 'j\u00f6rg';
const NFD = 'jo\u0308rg';

/** every form of Bob@Dest.Example and of jörg@bücher.example that RFC 5321 makes the same mailbox */
const FORMS: Array<[string, string]> = [
  ['plain', 'bob@dest.example'],
  ['as suppressed', 'Bob@Dest.Example'],
  ['upper case', 'BOB@DEST.EXAMPLE'],
  ['mixed case', 'bOB@dEsT.eXaMpLe'],
  ['quoted', '"bob"@dest.example'],
  ['quoted upper case', '"BOB"@dest.example'],
  ['quoted-pair', '"b\\ob"@dest.example'],
  ['every character a quoted-pair', '"\\b\\o\\b"@Dest.Example'],
  ['NFC', `${NFC}@b\u00fccher.example`],
  ['NFD', `${NFD}@b\u00fccher.example`],
  ['NFD quoted', `"${NFD}"@b\u00fccher.example`],
  ['upper case non-ASCII', `J\u00d6RG@B\u00dcCHER.example`],
  ['A-label domain', `${NFC}@xn--bcher-kva.example`],
  ['A-label domain, NFD local part', `${NFD}@XN--BCHER-KVA.example`],
];

async function dataWith(port: number, rcpts: string[]): Promise<string[]> {
  const s = await authedSession(port, 'acme', ACME_PASSWORD);
  const replies = [await s.command('MAIL FROM:<alice@acme.test> SMTPUTF8')];
  for (const r of rcpts) replies.push(await s.command(`RCPT TO:<${r}>`));
  replies.push(await s.command('DATA'));
  s.write('From: alice@acme.test\r\nSubject: forms\r\n\r\nHello.\r\n.\r\n');
  replies.push(await s.reply());
  s.destroy();
  return replies;
}

for (const adapter of ['embedded', 'redis'] as const) {
  describe(`one identity per mailbox (${adapter} store)`, () => {
    let upstream: CaptureUpstream;
    let relay: TestRelay;
    let redis: RedisProcess | undefined;

    beforeAll(async () => {
      upstream = await startCaptureUpstream();
      redis = adapter === 'redis' ? await startRedis() : undefined;
      relay = await startTestRelay(testConfig(upstream.port, redis ? { store: { kind: 'redis', url: redis.url } } : {}));
      await relay.admin.suppress('acme', [
        { address: 'Bob@Dest.Example', reason: 'complaint' },
        { address: `${NFC}@b\u00fccher.example`, reason: 'complaint' },
      ]);
    });
    afterAll(async () => {
      await relay?.close();
      await redis?.stop();
      await upstream?.close();
    });

    it.each(FORMS)('%s (%s): 550 5.7.1, and the message goes to the other recipient only', async (_name, form) => {
      const before = upstream.messages.length;
      const replies = await dataWith(relay.port, [form, 'other@dest.example']);
      expect(replies[1]).toBe('550 5.7.1 Recipient is on your suppression list');
      expect(replies[2]).toMatch(/^250 /);
      expect(replies.at(-1)).toMatch(/^250 /);
      expect(upstream.messages.length).toBe(before + 1);
      expect(upstream.messages.at(-1)!.to).toEqual(['other@dest.example']);
    });

    it('a quoted local part that is no dot-atom is a mailbox of its own', async () => {
      const replies = await dataWith(relay.port, ['"bob."@dest.example']);
      expect(replies[1]).toMatch(/^250 /);
    });

    it('a bounce naming the recipient in another form suppresses the one canonical mailbox', async () => {
      const forms = [(l: string) => `"${l}"@dest.example`, (l: string) => `${l.toUpperCase()}@DEST.example`, (l: string) => `"\\${l}"@dest.example`, (l: string) => `${l}@Dest.Example`, (l: string) => `"${l.toUpperCase()}"@DEST.EXAMPLE`];
      for (let i = 0; i < forms.length; i++) {
        const local = `carol${i}`;
        const sentTo = forms[i]!(local);
        const named = forms[(i + 1) % forms.length]!(local);
        const before = await relay.store.countSuppressions('acme');
        const n = upstream.messages.length;
        const replies = await dataWith(relay.port, [sentTo]);
        expect(replies, sentTo).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), expect.stringMatching(/^354 /), expect.stringMatching(/^250 /)]);
        const copy = upstream.messages[n]!.raw;
        const reply = await sendMail({ port: relay.feedback!.port, from: 'mailer-daemon@mx.example', to: ['bounces@relay.test'], message: dsn(copy, named, '5.1.1', '550 5.1.1 no such user'), tls: false });
        expect(reply.response, `${sentTo} reported as ${named}`).toMatch(/ applied$/);
        // one entry for the mailbox, and every form of it refused
        expect(await relay.store.countSuppressions('acme')).toBe(before + 1);
        for (const form of forms) expect((await dataWith(relay.port, [form(local), 'other@dest.example']))[1], form(local)).toMatch(/^550 5\.7\.1 /);
      }
    });
  });
}
