// What the abuse desk and tenants do to policy, shared by the CLI and the admin API:
// suspensions and suppression lists. Every input is validated whole before anything is
// written; a bad input changes nothing.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import type { MasterKey, TenantKey } from '../crypto/keys.js';
import { SUPPRESSION_REASONS, type Suspension, type SuppressionEntry, type SuppressionReason } from '../domain/policy.js';
import type { TenantId } from '../domain/tenant.js';
import { parseMailAddress, toAsciiDomain } from '../domain/mailbox.js';
import type { Store, TenantRecord } from '../store/ports.js';
import { tenantSchema, type Config, type TenantConfig } from '../config/schema.js';
import { normalizeDomain, tenantRecord } from '../tenants/bootstrap.js';
import { resolveLimits } from '../tenants/limits.js';
import { CONTROL_CHARACTERS_MESSAGE, hasControlCharacters } from './schemas.js';
import { senderDomainAllowed } from '../policy/sender-domain.js';

/** entries handed to the store at a time by a CSV import */
const IMPORT_BATCH = 5000;

/** who added suppressions: the feedback report for automatic ones, else the admin interface */
function actorOf(source: string | undefined): string {
  return source?.startsWith('feedback:') ? 'mailwarden' : 'admin';
}

export class AdminError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'INVALID_INPUT',
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length ? `${message}\n${problems.map((p) => `  ${p}`).join('\n')}` : message);
    this.name = 'AdminError';
  }
}

/** A suspension as the abuse desk (or an automatic rule) asks for it; id and time are the service's. */
export type SuspendInput = Omit<Suspension, 'id' | 'createdAt' | 'lifted' | 'source'> & {
  readonly source?: Suspension['source'];
  /** a manual suspension of a domain or sender outside the tenant's sender domains: done only when forced (it would suspend nothing the tenant sends) */
  readonly force?: boolean;
};

export interface SuppressInput {
  /** the address; or, when only its pseudonym is known (a report that hid it), `pseudonym` instead */
  readonly address?: string;
  readonly pseudonym?: string;
  readonly reason: SuppressionReason;
  readonly source?: string;
  readonly expiresAt?: number;
}

export class AdminService {
  constructor(
    private readonly store: Store,
    private readonly master: MasterKey,
    private readonly now: () => number = Date.now,
    /** told about every change made, for the accounting log */
    private readonly onChange?: (tenant: TenantId, action: string, actor: string, reason?: string, detail?: Record<string, string | number | boolean>) => void,
  ) {}

  /** A new tenant, validated by the same schema as the configuration's tenants. */
  async addTenant(input: unknown, defaults: Config['limits']): Promise<TenantRecord> {
    const parsed = tenantSchema.safeParse(input);
    if (!parsed.success) {
      throw new AdminError('INVALID_INPUT', 'invalid tenant', parsed.error.issues.map((i) => `${i.path.join('.') || '(tenant)'}: ${i.message}`));
    }
    const t = parsed.data;
    if (t.username === undefined && t.networks.length === 0) throw new AdminError('INVALID_INPUT', 'a tenant needs a username and password, or networks it relays from');
    if ((t.username === undefined) !== (t.password === undefined)) throw new AdminError('INVALID_INPUT', 'username and password go together');
    if (await this.store.getTenant(t.id)) throw new AdminError('INVALID_INPUT', `tenant ${JSON.stringify(t.id)} exists already`);
    const clash = (await this.store.listTenants()).find((o) => t.username !== undefined && o.username === t.username);
    if (clash) throw new AdminError('INVALID_INPUT', `username ${JSON.stringify(t.username)} belongs to tenant ${clash.id}`);
    const record = tenantRecord(t, defaults, this.master.newTenantKey(t.id).wrapped, this.now());
    await this.store.putTenant(record);
    this.onChange?.(record.id, 'tenant.create', 'admin', undefined, { domains: record.domains.join(' ') });
    return record;
  }

  /**
   * Changes a tenant's sender domains, networks, rate limits (on top of the configuration's
   * defaults) or abuse contact, checked by the configuration's tenant schema; the rest stays.
   */
  async updateTenant(tenant: TenantId, changes: Partial<Pick<TenantConfig, 'domains' | 'networks' | 'limits' | 'abuseContact'>>, defaults: Config['limits']): Promise<TenantRecord> {
    const record = await this.store.getTenant(tenant);
    if (!record) throw new AdminError('NOT_FOUND', `no tenant ${JSON.stringify(tenant)}`);
    const next: TenantRecord = {
      ...record,
      ...(changes.domains ? { domains: changes.domains.map(normalizeDomain) } : {}),
      ...(changes.networks ? { networks: [...changes.networks] } : {}),
      ...(changes.limits ? { limits: resolveLimits(defaults, changes.limits) } : {}),
      ...(changes.abuseContact ? { abuseContact: { ...changes.abuseContact } } : {}),
    };
    if (next.username === undefined && next.networks.length === 0) throw new AdminError('INVALID_INPUT', 'a tenant needs a username and password, or networks it relays from', ['networks: required for a tenant without a login']);
    await this.store.putTenant(next);
    this.onChange?.(tenant, 'tenant.update', 'admin', undefined, { fields: Object.keys(changes).join(' ') });
    return next;
  }

  /** A new password (its scrypt hash) for a tenant that logs in: logins cached under the old one end at the relays' next tenant refresh. */
  async setPassword(tenant: TenantId, passwordHash: string): Promise<void> {
    const record = await this.store.getTenant(tenant);
    if (!record) throw new AdminError('NOT_FOUND', `no tenant ${JSON.stringify(tenant)}`);
    if (!record.username) throw new AdminError('INVALID_INPUT', `tenant ${JSON.stringify(tenant)} relays by network and has no login`);
    await this.store.putTenant({ ...record, passwordHash });
    this.onChange?.(tenant, 'tenant.password', 'admin');
  }

  async suspend(input: SuspendInput): Promise<Suspension> {
    await this.#tenantKey(input.tenant);
    const problems = freeTextProblems({ reason: input.reason, ticket: input.ticket, value: input.value });
    if (!input.reason.trim()) problems.push('reason: a suspension needs a reason');
    let value: string | undefined;
    if (input.scope === 'domain') {
      value = toAsciiDomain(input.value ?? '') ?? undefined;
      if (!value) problems.push('value: not a domain name');
    } else if (input.scope === 'sender') {
      value = parseMailAddress(input.value ?? '')?.matchForm;
      if (!value) problems.push('value: not a sender address');
    }
    if (value !== undefined && input.source !== 'automatic' && !input.force) {
      const domain = input.scope === 'domain' ? value : value.slice(value.lastIndexOf('@') + 1);
      const record = await this.store.getTenant(input.tenant);
      const own = (record?.domains ?? []).map((d) => (d.startsWith('*.') ? `*.${toAsciiDomain(d.slice(2)) ?? d.slice(2)}` : (toAsciiDomain(d) ?? d)));
      if (!senderDomainAllowed({ domains: own }, domain)) problems.push(`value: ${domain} is not one of ${input.tenant}'s sender domains (${own.join(', ')}), so the suspension would stop nothing; force it to suspend it anyway`);
    }
    const now = this.now();
    if (input.expiresAt !== undefined && input.expiresAt <= now) problems.push('expiresAt: the expiry is in the past');
    if (problems.length > 0) throw new AdminError('INVALID_INPUT', problems.join('; '), problems);
    const suspension: Suspension = {
      id: `S${randomBytes(5).toString('hex').toUpperCase()}`,
      tenant: input.tenant,
      scope: input.scope,
      ...(value !== undefined && { value }),
      reason: input.reason.trim(),
      actor: input.actor,
      ...(input.ticket && { ticket: input.ticket }),
      source: input.source ?? 'manual',
      createdAt: now,
      ...(input.expiresAt !== undefined && { expiresAt: input.expiresAt }),
      ...(input.evidence && { evidence: input.evidence }),
    };
    await this.store.addSuspension(suspension);
    this.onChange?.(suspension.tenant, 'suspension.create', suspension.actor, suspension.reason, { suspension: suspension.id, scope: suspension.scope, source: suspension.source });
    return suspension;
  }

  async unsuspend(tenant: TenantId, id: string, actor: string, reason: string): Promise<void> {
    if (!reason.trim()) throw new AdminError('INVALID_INPUT', 'lifting a suspension needs a reason', ['reason: lifting a suspension needs a reason']);
    const controls = freeTextProblems({ reason });
    if (controls.length > 0) throw new AdminError('INVALID_INPUT', controls.join('; '), controls);
    const lifted = await this.store.liftSuspension(tenant, id, { at: this.now(), by: actor, reason: reason.trim() });
    if (!lifted) throw new AdminError('NOT_FOUND', `no active suspension ${id} for tenant ${tenant}`);
    this.onChange?.(tenant, 'suspension.lift', actor, reason.trim(), { suspension: id });
  }

  async suspensions(tenant?: TenantId, includeLifted = false): Promise<Suspension[]> {
    return this.store.listSuspensions(tenant, { includeLifted, now: this.now() });
  }

  /** Adds all entries or none. */
  async suppress(tenant: TenantId, inputs: readonly SuppressInput[]): Promise<number> {
    const key = await this.#tenantKey(tenant);
    const problems: string[] = [];
    const entries = inputs.map((input, i) => {
      const entry = this.#entry(key, input);
      if (typeof entry === 'string') problems.push(`entry ${i + 1}: ${entry}`);
      return entry;
    });
    if (problems.length) throw new AdminError('INVALID_INPUT', 'nothing was added', problems);
    await this.store.addSuppressions(tenant, entries as SuppressionEntry[]);
    this.onChange?.(tenant, 'suppression.add', actorOf(inputs[0]?.source), undefined, { entries: entries.length });
    return entries.length;
  }

  async unsuppress(tenant: TenantId, address: string): Promise<boolean> {
    const removed = await this.store.removeSuppression(tenant, await this.pseudonymOf(tenant, address));
    if (removed) this.onChange?.(tenant, 'suppression.remove', 'admin', undefined, { entries: 1 });
    return removed;
  }

  /**
   * Whether one address is on the tenant's suppression list, and why: what the tenant may
   * know about its own list. An address that is not (or no longer) suppressed answers only that.
   */
  async lookupSuppression(tenant: TenantId, address: string, now: number): Promise<{ suppressed: false } | { suppressed: true; reason: string; source?: string; since: string; expiresAt?: string }> {
    const entry = await this.store.getSuppression(tenant, await this.pseudonymOf(tenant, address));
    if (!entry || (entry.expiresAt !== undefined && entry.expiresAt <= now)) return { suppressed: false };
    return {
      suppressed: true,
      reason: entry.reason,
      ...(entry.source ? { source: entry.source } : {}),
      since: new Date(entry.createdAt).toISOString(),
      ...(entry.expiresAt !== undefined ? { expiresAt: new Date(entry.expiresAt).toISOString() } : {}),
    };
  }

  /** The tenant's keyed pseudonym of an address, in its matching form; the address is not kept. */
  async pseudonymOf(tenant: TenantId, address: string): Promise<string> {
    const key = await this.#tenantKey(tenant);
    const parsed = parseMailAddress(address.trim());
    if (!parsed) throw new AdminError('INVALID_INPUT', 'not an email address', ['address: not an email address']);
    return key.pseudonym(parsed.matchForm);
  }

  /** Entries without addresses: what any listing may show. */
  async *suppressionEntries(tenant: TenantId): AsyncIterable<SuppressionEntry> {
    await this.#tenantKey(tenant);
    yield* this.store.listSuppressions(tenant);
  }

  /**
   * A CSV import with a header line naming its columns (address,reason,source,expires_at; only
   * address is required), or a bare list of one address per line. Streamed: the file is never held whole. Lines are checked as they come and
   * staged in batches; with any bad line, every bad line is reported (the first 100 named)
   * and nothing is imported.
   */
  async importCsv(tenant: TenantId, csv: string | Readable, onProgress?: (done: number) => void): Promise<number> {
    const key = await this.#tenantKey(tenant);
    const input = typeof csv === 'string' ? Readable.from([csv]) : csv;
    const parser = input.pipe(parse({ info: true, skip_empty_lines: true, trim: true, bom: true }));
    input.once('error', (err) => parser.destroy(err));
    const problems: string[] = [];
    let bad = 0;
    const entry = (record: Record<string, string>): SuppressionEntry | string => {
      const expires = record.expires_at ? Date.parse(record.expires_at) : undefined;
      if (expires !== undefined && Number.isNaN(expires)) return 'expires_at is not a date';
      return this.#entry(key, { address: record.address ?? '', reason: (record.reason || 'import') as SuppressionReason, source: record.source || undefined, expiresAt: expires });
    };
    async function* batches(): AsyncIterable<SuppressionEntry[]> {
      let batch: SuppressionEntry[] = [];
      let rows = 0;
      try {
        let columns: string[] = [];
        for await (const { record: row, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
          if (rows++ === 0) {
            const cells = row.map((c) => c.trim().toLowerCase());
            if (cells.includes('address')) {
              columns = cells;
              continue;
            }
            // a bare list, one address per line: this first line is one of them
            if (row.length !== 1 || !row[0]!.includes('@')) throw new AdminError('INVALID_INPUT', 'the first line must be a header naming an "address" column, or an address (a list of one address per line)');
            columns = ['address'];
          }
          const record: Record<string, string> = Object.fromEntries(columns.map((c, i) => [c, row[i] ?? '']));
          if (rows % 100_000 === 0) onProgress?.(rows);
          const e = entry(record);
          if (typeof e === 'string') {
            if (++bad <= 100) problems.push(`line ${info.lines}: ${e}`);
            batch = [];
          } else if (bad === 0) {
            batch.push(e);
            if (batch.length >= IMPORT_BATCH) {
              yield batch;
              batch = [];
            }
          }
        }
      } catch (err) {
        if (err instanceof AdminError) throw err;
        throw new AdminError('INVALID_INPUT', `not valid CSV: ${(err as Error).message}`);
      }
      if (bad > 0) throw new AdminError('INVALID_INPUT', `${bad} bad line(s); nothing was imported`, problems);
      if (batch.length > 0) yield batch;
    }
    const n = await this.store.importSuppressions(tenant, batches());
    this.onChange?.(tenant, 'suppression.import', 'admin', undefined, { entries: n });
    return n;
  }

  /** The tenant's suppression list with addresses, for the tenant itself. */
  async exportCsv(tenant: TenantId): Promise<string> {
    const key = await this.#tenantKey(tenant);
    const rows: string[][] = [];
    for await (const e of this.store.listSuppressions(tenant)) {
      rows.push([e.sealed ? key.openAddress(e.sealed) : '', e.reason, e.source ?? '', new Date(e.createdAt).toISOString(), e.expiresAt ? new Date(e.expiresAt).toISOString() : '', e.pseudonym]);
    }
    return stringify(rows, { header: true, columns: ['address', 'reason', 'source', 'created_at', 'expires_at', 'pseudonym'] });
  }

  #entry(key: TenantKey, input: SuppressInput): SuppressionEntry | string {
    if (!SUPPRESSION_REASONS.includes(input.reason)) return `reason must be one of ${SUPPRESSION_REASONS.join(', ')}`;
    if (input.source !== undefined && hasControlCharacters(input.source)) return `source ${CONTROL_CHARACTERS_MESSAGE}`;
    if (input.address === undefined && input.pseudonym !== undefined) {
      if (!/^[A-Za-z0-9_-]{22}$/.test(input.pseudonym)) return 'not a pseudonym';
      // suppressed without an address: it matches, and exports show the pseudonym only
      return { pseudonym: input.pseudonym, reason: input.reason, ...(input.source && { source: input.source }), createdAt: this.now(), ...(input.expiresAt !== undefined && { expiresAt: input.expiresAt }) };
    }
    const parsed = parseMailAddress((input.address ?? '').trim());
    if (!parsed) return 'not an email address';
    return {
      pseudonym: key.pseudonym(parsed.matchForm),
      sealed: key.sealAddress(parsed.address),
      reason: input.reason,
      ...(input.source && { source: input.source }),
      createdAt: this.now(),
      ...(input.expiresAt !== undefined && { expiresAt: input.expiresAt }),
    };
  }

  readonly #keys = new Map<TenantId, TenantKey>();

  /** The tenant's key; null for an unknown tenant. */
  async keyOf(tenant: TenantId): Promise<TenantKey | null> {
    const record = await this.store.getTenant(tenant);
    if (!record) return null;
    const key = this.master.unwrap(record.wrappedKey, tenant);
    this.#keys.set(tenant, key);
    return key;
  }

  /** The key keyOf last gave for the tenant, without a store read; null if it has not been asked. */
  knownKey(tenant: TenantId): TenantKey | null {
    return this.#keys.get(tenant) ?? null;
  }

  async #tenantKey(tenant: TenantId): Promise<TenantKey> {
    const key = await this.keyOf(tenant);
    if (!key) throw new AdminError('NOT_FOUND', `no tenant ${JSON.stringify(tenant)}`);
    return key;
  }
}

/** "field: must not contain control characters" for each free-text field that has some */
function freeTextProblems(fields: Record<string, string | undefined>): string[] {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && hasControlCharacters(v))
    .map(([k]) => `${k}: ${CONTROL_CHARACTERS_MESSAGE}`);
}
