// The end of a contract (GDPR Art. 28(3)(g)): everything mailwarden holds for a tenant is
// returned to a directory, then deleted everywhere (store, accounting records active and
// archived, wherever the accounting port keeps them), and a deletion certificate says what
// was there and what was deleted. The
// tenant's key existed only wrapped in its tenant record, which is deleted: whatever was
// encrypted under it (addresses in suppression entries, kept reports) can no longer be
// read anywhere, backups of the store included.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { AdminService } from '../admin/service.js';
import { AdminError } from '../admin/service.js';
import type { TenantId } from '../domain/tenant.js';
import { StoreUnavailableError, type Store } from '../store/ports.js';
import type { AccountingStore } from '../accounting/port.js';

export interface DeletionCertificate {
  readonly format: 'mailwarden-deletion-certificate';
  readonly version: 1;
  readonly tenant: TenantId;
  readonly deletedAt: string;
  readonly deletedBy: string;
  /** what was returned, each file with its SHA-256 */
  readonly returned: ReadonlyArray<{ readonly file: string; readonly bytes: number; readonly sha256: string }>;
  readonly deleted: {
    readonly store: Readonly<Record<string, number>>;
    /** accounting files returned (segments, or the records of a shared database as one file) */
    readonly accountingSegments: number;
    readonly accountingBytes: number;
    /** accounting records that were there, returned and deleted */
    readonly accountingRecords: number;
    readonly tenantKey: 'destroyed';
  };
  /** checks made after deletion: each must be true */
  readonly verified: { readonly tenantRecordGone: boolean; readonly accountingGone: boolean; readonly suppressionsGone: boolean };
}

/** Offboarding failed part-way; the message says how far it got. */
export class OffboardError extends Error {
  override readonly name = 'OffboardError';
}

export interface OffboardOptions {
  readonly tenant: TenantId;
  readonly returnDir: string;
  readonly store: Store;
  readonly admin: AdminService;
  readonly records: AccountingStore;
  /** resolves once the records this process wrote are in `records` (a running relay) */
  readonly settle?: () => Promise<void>;
  readonly actor: string;
  readonly now: () => number;
  readonly onProgress?: (step: string) => void;
}

export async function offboardTenant(o: OffboardOptions): Promise<DeletionCertificate> {
  const record = await o.store.getTenant(o.tenant);
  if (!record) throw new AdminError('NOT_FOUND', `no tenant "${o.tenant}"`);
  const key = await o.admin.keyOf(o.tenant);
  if (!key) throw new AdminError('NOT_FOUND', `no key for tenant "${o.tenant}"`);
  await mkdir(o.returnDir, { recursive: true, mode: 0o700 });
  if ((await readdir(o.returnDir)).length > 0) throw new AdminError('INVALID_INPUT', `${o.returnDir} is not empty: give a new or empty directory`);

  const progress = o.onProgress ?? (() => undefined);
  const write = (name: string, data: string | Buffer) => writeFile(join(o.returnDir, name), data, { mode: 0o600 });

  // 1. return everything; a failure here stops the offboarding before anything is deleted
  let accounting: { files: number; bytes: number; records: number };
  try {
    progress('returning the tenant record, suspensions and suppression list');
    const { wrappedKey: _key, passwordHash: _hash, ...tenantData } = record;
    await write('tenant.json', `${JSON.stringify(tenantData, null, 2)}\n`);
    await write('suspensions.json', `${JSON.stringify(await o.store.listSuspensions(o.tenant, { includeLifted: true }), null, 2)}\n`);
    await write('suppressions.csv', await o.admin.exportCsv(o.tenant));
    progress('returning feedback reports');
    const reports = await o.store.listFeedbackReports(o.tenant, { limit: 1_000_000 });
    await mkdir(join(o.returnDir, 'feedback'), { mode: 0o700 });
    await write('feedback/records.json', `${JSON.stringify(reports.map(({ sealedReport: _s, ...r }) => r), null, 2)}\n`);
    for (const r of reports) if (r.sealedReport) await write(`feedback/${r.id}.eml`, key.openReport(r.sealedReport));
    progress('returning accounting records');
    await o.settle?.();
    accounting = await o.records.returnTenant(o.tenant, join(o.returnDir, 'accounting'));
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    throw new OffboardError(`offboarding ${o.tenant} stopped before anything was deleted: ${(err as Error).message}`);
  }

  // 2. delete everywhere
  progress('deleting accounting records, active and archived');
  const deleted = await o.records.deleteTenant(o.tenant);
  progress('deleting the tenant from the store, with its key');
  const storeCounts = await o.store.deleteTenantData(o.tenant);

  // 3. check, and certify
  const verified = {
    tenantRecordGone: (await o.store.getTenant(o.tenant)) === null,
    accountingGone: (await o.records.countTenant(o.tenant)) === 0 && deleted.records === accounting.records,
    suppressionsGone: (await o.store.countSuppressions(o.tenant)) === 0,
  };
  const returned = [];
  for (const file of await walk(o.returnDir)) {
    const data = await readFile(file);
    returned.push({ file: relative(o.returnDir, file), bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  const certificate: DeletionCertificate = {
    format: 'mailwarden-deletion-certificate',
    version: 1,
    tenant: o.tenant,
    deletedAt: new Date(o.now()).toISOString(),
    deletedBy: o.actor,
    returned,
    deleted: { store: storeCounts, accountingSegments: accounting.files, accountingBytes: accounting.bytes, accountingRecords: deleted.records, tenantKey: 'destroyed' },
    verified,
  };
  await write('deletion-certificate.json', `${JSON.stringify(certificate, null, 2)}\n`);
  if (!Object.values(verified).every(Boolean)) throw new OffboardError(`offboarding ${o.tenant}: something is left: ${JSON.stringify(verified)}`);
  return certificate;
}


async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out.sort();
}
