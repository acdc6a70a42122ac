// Where accepted mail goes next, as the configuration says: the SMTP upstream, or the
// development outbox. Used by the relay and by CLI commands that send notices.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { isAscii } from '../domain/mailbox.js';
import { DevOutbox } from './dev-outbox.js';
import { SmtpUpstream } from './smtp-upstream.js';
import type { Upstream, UpstreamTimings } from './upstream.js';

export function openUpstream(config: Config, hostname: string, log: Logger, timings?: UpstreamTimings): { upstream: Upstream; name: string } {
  if (config.upstream.dev === 'outbox') {
    log.warn({ dir: config.upstream.outboxDir }, 'DEVELOPMENT OUTBOX: accepted mail is written to disk as .eml files and goes nowhere else; configure upstream.host for real use');
    return { upstream: new DevOutbox(config.upstream.outboxDir), name: 'development-outbox' };
  }
  return { upstream: new SmtpUpstream(config.upstream, hostname, log.child({ component: 'upstream' }), timings), name: config.upstream.host };
}

/** One message mailwarden itself sends (a notice), with the null envelope sender. */
export async function sendOwnMessage(upstream: Upstream, to: string, raw: Buffer): Promise<void> {
  const tx = upstream.begin({ from: '', to: [to], eightBitMime: true, smtpUtf8: !isAscii(to) });
  tx.body.end(raw);
  await tx.result;
}
