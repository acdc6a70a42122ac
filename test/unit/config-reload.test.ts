// Which changed keys a reload takes up, and which wait for a restart.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { planReload } from '../../src/config/reload.js';
import { ACME_HASH, GLOBEX_HASH } from '../helpers/relay.js';

const base = { upstream: { dev: 'outbox' }, tenants: [{ id: 'acme', username: 'acme', password: ACME_HASH, domains: ['acme.test'] }] };
const parse = (extra: Record<string, unknown>) => configSchema.parse({ ...base, ...extra });

describe('planReload', () => {
  it.each([
    ['nothing changed', {}, [], []],
    ['the log level', { log: { level: 'debug' } }, ['log.level'], []],
    ['a transaction limit', { smtp: { limits: { maxRecipients: 5 } } }, ['smtp.limits.maxRecipients'], []],
    ['a connection limit', { smtp: { limits: { maxConnectionsPerIp: 5 } } }, [], ['smtp.limits.maxConnectionsPerIp']],
    ['default rate limits', { limits: { messages: [{ limit: 5, per: 'minute' }] } }, ['limits'], []],
    ['a tenant added', { tenants: [...base.tenants, { id: 'globex', username: 'g', password: GLOBEX_HASH, domains: ['globex.test'] }] }, ['tenants'], []],
    ['the feedback rules file', { feedback: { rulesFile: '/etc/mailwarden/rules.yaml' } }, ['feedback.rulesFile'], []],
    ['the port and the store', { smtp: { port: 2600 }, store: { kind: 'embedded', path: '/var/lib/x' } }, [], ['smtp.port', 'store.path']],
    ['both kinds at once', { log: { level: 'warn' }, accounting: { flushMs: 500 } }, ['log.level'], ['accounting.flushMs']],
  ])('%s', (_name, change, apply, restart) => {
    expect(planReload(parse({}), parse(change))).toEqual({ apply, restart });
  });
});
