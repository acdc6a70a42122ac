// The composition root: configuration → adapters → servers. The only module that knows
// every concrete implementation; everything below it gets what it needs passed in.
import { hostname as osHostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { createLogger } from './observability/logger.js';
import { TenantRegistry } from './tenants/registry.js';
import { defaultMailStages } from './policy/pipeline.js';
import { SmtpFront } from './smtp/front.js';
import { SmtpUpstream } from './forward/smtp-upstream.js';
import { DevOutbox } from './forward/dev-outbox.js';
import { DsnSender } from './forward/dsn.js';
import type { Upstream } from './forward/upstream.js';
import { loadTls } from './tls/certificates.js';

export interface Mailwarden {
  readonly smtp: AddressInfo;
  readonly log: Logger;
  /** graceful stop: 421 to newcomers, transactions in flight finish within smtp.shutdownGraceMs */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log?: Logger;
}

export async function start(config: Config, options: StartOptions = {}): Promise<Mailwarden> {
  const log = options.log ?? createLogger(config.log.level);
  const hostname = config.smtp.hostname ?? osHostname();
  const tls = await loadTls(config.smtp.tls, hostname, log);
  const tenants = new TenantRegistry(config.tenants);

  let upstream: Upstream;
  let upstreamName: string;
  if (config.upstream.dev === 'outbox') {
    upstream = new DevOutbox(config.upstream.outboxDir);
    upstreamName = 'development-outbox';
    log.warn({ dir: config.upstream.outboxDir }, 'DEVELOPMENT OUTBOX: accepted mail is written to disk as .eml files and goes nowhere else; configure upstream.host for real use');
  } else {
    upstream = new SmtpUpstream(config.upstream, hostname, log.child({ component: 'upstream' }));
    upstreamName = config.upstream.host;
  }
  const dsn = new DsnSender({ upstream, log: log.child({ component: 'dsn' }) });

  const front = new SmtpFront({
    config,
    hostname,
    tls,
    tenants,
    mailStages: defaultMailStages,
    upstream,
    upstreamName,
    dsn,
    log: log.child({ component: 'smtp' }),
  });
  const smtp = await front.listen();
  log.info({ host: smtp.address, port: smtp.port, tenants: tenants.size, devCertificate: tls.development }, 'smtp listening');

  return {
    smtp,
    log,
    async close() {
      await front.close();
      await dsn.idle();
      await upstream.close();
      log.info('stopped');
    },
  };
}
