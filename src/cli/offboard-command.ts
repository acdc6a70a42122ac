// mailwarden tenant offboard T --return DIR: the end of a contract.
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import type { Config } from '../config/schema.js';
import { offboardTenant, type DeletionCertificate } from '../tenants/offboard.js';
import { audited, UsageError, withService, type Io } from './policy-commands.js';
import { askRelay, relayOf } from './relay-call.js';

export async function tenantOffboard(config: Config, tenant: string, values: { return: string; yes?: boolean }, io: Io): Promise<number> {
  if (!values.yes) throw new UsageError(`this deletes everything of tenant ${tenant} after returning it to ${values.return}, and cannot be undone: add --yes`);
  const returnDir = resolve(values.return);
  const actor = process.env.MAILWARDEN_ACTOR ?? userInfo().username;
  const relay = await relayOf(config);
  const certificate = await audited(config, { action: 'tenant.offboard', tenant }, () =>
    withService(config, async (svc, store, _accountant, records) => {
      if (relay) {
        io.err(`a relay (pid ${relay.pid}) serves this tenant: asking it to offboard ${tenant}`);
        return askRelay<DeletionCertificate>(relay, store, `/tenants/${tenant}/offboard`, { returnDir }, 'tenant offboard');
      }
      return offboardTenant({ tenant, returnDir, store, admin: svc, records, actor, now: Date.now, onProgress: (step) => io.err(`  ${step}`) });
    }),
  (c) => ({ returned: c.returned.length, records: c.deleted.accountingRecords }));
  io.out(`tenant ${tenant} offboarded: ${certificate.returned.length} file(s) returned to ${returnDir}; deleted ${Object.entries(certificate.deleted.store).map(([k, n]) => `${n} ${k}`).join(', ')}, ${certificate.deleted.accountingRecords} accounting record(s); tenant key destroyed`);
  io.out(`deletion certificate: ${resolve(returnDir, 'deletion-certificate.json')}`);
  return 0;
}
