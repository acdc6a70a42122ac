// FOR TRYING MAILWARDEN OUT ONLY. An upstream that accepts every message and writes it as an
// .eml file under the outbox directory, so a newcomer can relay a first message with no MTA.
// It keeps message content and recipient addresses on disk: never use it in production.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { MessageBody } from './message-body.js';
import { UpstreamError, type DeliveryOutcome, type Upstream, type UpstreamEnvelope, type UpstreamTransaction } from './upstream.js';

export class DevOutbox implements Upstream {
  constructor(readonly dir: string) {}

  begin(envelope: UpstreamEnvelope): UpstreamTransaction {
    const body = new MessageBody(64 * 1024);
    const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const final = join(this.dir, `${id}.eml`);
    const partial = `${final}.partial`;
    let aborted = false;
    const result = (async (): Promise<DeliveryOutcome> => {
      await mkdir(this.dir, { recursive: true });
      const out = createWriteStream(partial, { flags: 'wx' });
      const envelopeHeader =
        `X-Mailwarden-Dev-Envelope-From: <${envelope.from}>\r\n` +
        envelope.to.map((to) => `X-Mailwarden-Dev-Envelope-To: <${to}>\r\n`).join('');
      out.write(envelopeHeader);
      try {
        await pipeline(body, out);
      } catch {
        await rm(partial, { force: true });
        throw new UpstreamError(aborted ? 'aborted' : 'unavailable', 'outbox write failed');
      }
      if (aborted) {
        await rm(partial, { force: true });
        throw new UpstreamError('aborted', 'transaction aborted');
      }
      await rename(partial, final);
      return { accepted: [...envelope.to], rejected: [], response: `250 2.0.0 Ok: written to the development outbox as ${id}.eml` };
    })();
    result.catch(() => {});
    return {
      body,
      result,
      abort: () => {
        aborted = true;
        body.destroy(new Error('aborted'));
      },
    };
  }

  async close(): Promise<void> {}
}
