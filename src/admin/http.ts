// The admin HTTP API (default port 8025, /api/v1): the abuse desk's and the operators' view
// of tenants, suspensions with their evidence, suppression lists and feedback reports, and
// tenants' own view of their suppression list. Every request needs a bearer token; its role
// decides what it may do: operator and abuse-desk everything here, tenant tokens only their
// own tenant's data (another tenant's resources answer 404, as if they did not exist) and
// never suspensions or feedback (403). Bad input gets 400 naming the field and changes
// nothing. Every request, allowed or not, goes to the audit log.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { REVIEW, type FeedbackScope } from '../domain/feedback.js';
import type { Store } from '../store/ports.js';
import { StoreUnavailableError } from '../store/ports.js';
import { OffboardError } from '../tenants/offboard.js';
import type { FeedbackIntake } from '../feedback/intake.js';
import { windowName } from '../feedback/rates.js';
import type { AuditLog, AuditEntry } from './audit.js';
import { AdminError, type AdminService } from './service.js';
import { catalog, type ErrorId } from '../domain/catalog.js';
import { checkToken, newToken, tokenExpiry, type ApiToken } from './tokens.js';
import { tenantSchema, type Config } from '../config/schema.js';
import { hashPassword } from '../tenants/password.js';
import { accountingQueryRequest, tokenCreateRequest, liftRequest, offboardRequest, problemsOf, subjectRequest, suppressionLookupRequest, suppressRequest, suspendRequest, unsuppressRequest, type Role } from './schemas.js';
import type { AccountingStore } from '../accounting/port.js';
import type { AccountingRecord } from '../accounting/records.js';
import { rangeBound } from '../accounting/query.js';
import { CSV_HEADER, csvRow } from '../accounting/csv.js';
import { openApiDocument } from './openapi.js';
import { consoleDir, consoleFile } from './console.js';
import { listenHttp, type RunningHttpServer } from '../observability/listen.js';
import { feedbackJson, iso, suppressionJson, suspensionJson, tenantFeedbackJson, tokenJson } from './views.js';

export interface AdminApiDeps {
  readonly admin: AdminService;
  readonly store: Store;
  readonly intake: FeedbackIntake;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly now: () => number;
  readonly rates: {
    readonly minVolume: number;
    readonly windowsHours: readonly number[];
    readonly complaints: { readonly warn: number; readonly suspend: number };
    readonly hardBounces: { readonly warn: number; readonly suspend: number };
  };
  readonly maxReportBytes: number;
  /** data-subject requests, run by the relay beside its accounting writer */
  readonly subjects: {
    export(tenant: string, address: string): Promise<unknown>;
    erase(tenant: string, address: string): Promise<{ segmentsRewritten: number; recordsRemoved: number; reportsErased: number; stillSuppressed: boolean }>;
  };
  /** the accounting records (the port every replica shares), and how to have this relay's latest in them */
  readonly accounting: { readonly records: AccountingStore; settle(): Promise<void> };
  /** the configuration's default rate limits, for a tenant made through the API */
  readonly tenantDefaults: Config['limits'];
  /** a tenant's login changed: this relay (and its workers) read the tenants again now */
  readonly tenantsChanged?: () => Promise<void>;
  /** the end of a contract: return everything to a directory on this host, delete it all, certify */
  readonly offboard: (tenant: string, returnDir: string, actor: string) => Promise<unknown>;
  /** null while the store is the store this relay knows; else why not: every request then gets 503, tokens included */
  readonly storeLost?: () => string | null;
}

const JSON_LIMIT = 1024 * 1024;

type Reply = { status: number; body: unknown; contentType?: string; headers?: Record<string, string> };

interface Ctx {
  readonly token: ApiToken;
  readonly tenant: string | null;
  /** the path's other parameters, after the tenant */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: () => Promise<Buffer>;
  readonly requestId: string;
  /** what the audit entry says beyond who and what */
  readonly note: { reason?: string; detail?: Record<string, string | number | boolean> };
}

interface Route {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly pattern: RegExp;
  readonly action: string;
  readonly roles: readonly Role[];
  readonly handle: (ctx: Ctx) => Promise<Reply>;
}

/** An error answer: its code is a catalog entry, which gives the HTTP status. */
class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorId,
    message: string,
    readonly problems?: Array<{ field: string; message: string }>,
  ) {
    super(message);
    this.status = catalog[code].http;
  }
}

function parseWith<S extends z.ZodType>(schema: S, raw: Buffer): z.output<S> {
  let data: unknown;
  try {
    data = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError('INVALID_INPUT', 'the body is not JSON', [{ field: '(body)', message: 'not valid JSON' }]);
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const problems = problemsOf(result.error);
    throw new HttpError('INVALID_INPUT', `invalid request: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
  }
  return result.data;
}

const STAFF: readonly Role[] = ['operator', 'abuse-desk'];
const EVERYONE: readonly Role[] = ['operator', 'abuse-desk', 'tenant'];

export function adminRoutes(deps: AdminApiDeps): Route[] {
  const { admin, store } = deps;
  const tenantView = async (id: string) => {
    const record = (await store.getTenant(id))!;
    const now = deps.now();
    // deliveries, complaints and hard bounces with their rates per window: the tenant's, and each sender domain's
    const volumeOf = async (domain: string | null) => {
      const out: Record<string, unknown> = {};
      for (const hours of deps.rates.windowsHours) {
        const v = await store.volumeTotals(id, domain, hours, now);
        const judged = v.delivered >= deps.rates.minVolume;
        out[windowName(hours)] = { ...v, complaintRate: judged ? v.complaints / v.delivered : null, hardBounceRate: judged ? v.hardBounces / v.delivered : null };
      }
      return out;
    };
    const volume = await volumeOf(null);
    const domainVolume: Record<string, unknown> = {};
    for (const domain of record.domains) domainVolume[domain] = await volumeOf(domain);
    return {
      id: record.id,
      domains: record.domains,
      networks: record.networks,
      ...(record.username ? { username: record.username } : {}),
      createdAt: iso(record.createdAt)!,
      activeSuspensions: (await store.listSuspensions(id, { now })).length,
      suppressions: await store.countSuppressions(id),
      volume,
      domainVolume,
    };
  };
  /** a page of kept reports, newest first: `limit`, and `before` the next cursor of the page before */
  const feedbackPage = async (scope: FeedbackScope, query: URLSearchParams) => {
    const limit = limitParam(query, 100, 1000);
    const before = query.get('before');
    if (before !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(before)) throw new HttpError('INVALID_INPUT', 'before must be the next cursor of an earlier page', [{ field: 'before', message: 'a report id' }]);
    const list = await store.listFeedbackReports(scope, { limit, ...(before !== null ? { before } : {}) });
    return { list, next: list.length === limit ? list.at(-1)!.id : null };
  };
  const T = '([a-z0-9][a-z0-9_-]{0,62})';
  return [
    {
      method: 'GET',
      pattern: /^\/api\/v1\/tenants$/,
      action: 'tenant.list',
      roles: EVERYONE,
      handle: async (ctx) => {
        const limit = limitParam(ctx.query, 1000, 1000);
        const after = ctx.query.get('after');
        const ids = ctx.token.role === 'tenant' ? [ctx.token.tenant!] : (await store.listTenants()).map((t) => t.id).sort();
        const page = ids.filter((id) => after === null || id > after).slice(0, limit);
        return { status: 200, body: { tenants: await Promise.all(page.map(tenantView)), next: page.length === limit && ids.at(-1) !== page.at(-1) ? page.at(-1)! : null } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/v1\/tenants$/,
      action: 'tenant.add',
      roles: ['operator'],
      handle: async (ctx) => {
        // the configuration's tenant schema; a login gets a password made here, shown once
        const input = parseWith(tenantSchema.omit({ password: true }), await ctx.body());
        const login = input.username ? await newPassword() : null;
        const record = await admin.addTenant({ ...input, ...(login ? { password: login.hash } : {}) }, deps.tenantDefaults);
        await deps.tenantsChanged?.();
        ctx.note.detail = { tenant: record.id };
        return { status: 201, body: { ...(await tenantView(record.id)), ...(login ? { password: login.password } : {}) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/tokens$/,
      action: 'token.list',
      roles: ['operator'],
      handle: async () => ({ status: 200, body: { tokens: (await store.listApiTokens()).map(tokenJson) } }),
    },
    {
      method: 'POST',
      pattern: /^\/api\/v1\/tokens$/,
      action: 'token.create',
      roles: ['operator'],
      handle: async (ctx) => {
        const req = parseWith(tokenCreateRequest, await ctx.body());
        if (req.tenant !== undefined && !(await store.getTenant(req.tenant))) throw new HttpError('INVALID_INPUT', `no tenant ${req.tenant}`, [{ field: 'tenant', message: 'no such tenant' }]);
        const now = deps.now();
        const expiresAt = tokenExpiry(req.expires, now);
        const { record, token } = newToken({
          role: req.role,
          ...(req.tenant ? { tenant: req.tenant } : {}),
          ...(req.name ? { name: req.name } : {}),
          createdAt: now,
          createdBy: actorOf(ctx.token),
          ...(expiresAt ? { expiresAt } : {}),
        });
        await store.putApiToken(record);
        ctx.note.detail = { token: record.id, role: record.role };
        return { status: 201, body: { ...tokenJson(record), token } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/v1\/tokens\/([0-9a-f]{10})\/revoke$/,
      action: 'token.revoke',
      roles: ['operator'],
      handle: async (ctx) => {
        const id = ctx.params[0]!;
        const t = await store.getApiToken(id);
        if (!t) throw new HttpError('NOT_FOUND', `no token ${id}`);
        const revoked = t.revokedAt !== undefined ? t : { ...t, revokedAt: deps.now() };
        if (t.revokedAt === undefined) await store.putApiToken(revoked);
        ctx.note.detail = { token: id };
        return { status: 200, body: tokenJson(revoked) };
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^/api/v1/tenants/${T}$`),
      action: 'tenant.update',
      roles: ['operator'],
      handle: async (ctx) => {
        const changes = parseWith(tenantSchema.pick({ domains: true, networks: true, limits: true, abuseContact: true }).partial(), await ctx.body());
        await admin.updateTenant(ctx.tenant!, changes, deps.tenantDefaults);
        await deps.tenantsChanged?.();
        ctx.note.detail = { fields: Object.keys(changes).join(' ') };
        return { status: 200, body: await tenantView(ctx.tenant!) };
      },
    },
    { method: 'GET', pattern: new RegExp(`^/api/v1/tenants/${T}$`), action: 'tenant.read', roles: EVERYONE, handle: async (ctx) => ({ status: 200, body: await tenantView(ctx.tenant!) }) },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/session$/,
      action: 'session.read',
      roles: EVERYONE,
      // who the token is: what a client (the console) may show and offer
      handle: async (ctx) => {
        const { minVolume, windowsHours, complaints, hardBounces } = deps.rates;
        const t = ctx.token;
        return {
          status: 200,
          body: { token: t.id, role: t.role, ...(t.tenant ? { tenant: t.tenant } : {}), ...(t.name ? { name: t.name } : {}), expiresAt: iso(t.expiresAt) ?? null, rates: { minVolume, windows: windowsHours.map(windowName), thresholds: { complaintRate: complaints, hardBounceRate: hardBounces } } },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/v1/tenants/${T}/rates$`),
      action: 'tenant.rates',
      roles: EVERYONE,
      handle: async (ctx) => {
        // the rolling 24 h rates every 6 h over the last days up to now (volume is kept 8 days), against the warn and suspend lines
        const days = limitParam(ctx.query, 7, 7, 'days');
        const domain = ctx.query.get('domain');
        const record = (await store.getTenant(ctx.tenant!))!;
        if (domain !== null && !record.domains.includes(domain)) throw new HttpError('INVALID_INPUT', `${domain} is not one of ${ctx.tenant}'s sender domains`, [{ field: 'domain', message: 'one of the tenant\'s domains' }]);
        const step = 6 * 3_600_000;
        const end = deps.now();
        const points = [];
        for (let at = end - days * 24 * 3_600_000; at <= end; at += step) {
          const v = await store.volumeTotals(ctx.tenant!, domain, 24, at);
          const judged = v.delivered >= deps.rates.minVolume;
          points.push({ at: iso(at)!, ...v, complaintRate: v.delivered > 0 ? v.complaints / v.delivered : null, hardBounceRate: v.delivered > 0 ? v.hardBounces / v.delivered : null, judged });
        }
        const { minVolume, complaints, hardBounces } = deps.rates;
        return { status: 200, body: { tenant: ctx.tenant, domain, window: '24h', minVolume, thresholds: { complaintRate: complaints, hardBounceRate: hardBounces }, points } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/v1/tenants/${T}/feedback/(F[0-9A-Z]{4,40})$`),
      action: 'feedback.read',
      roles: EVERYONE,
      handle: async (ctx) => {
        const record = await store.getFeedbackReport(ctx.tenant!, ctx.params[0]!);
        if (!record) throw new HttpError('NOT_FOUND', `no report ${ctx.params[0]} for tenant ${ctx.tenant}`);
        // what the report says, never the report itself (it names recipients)
        return { status: 200, body: ctx.token.role === 'tenant' ? tenantFeedbackJson(record) : feedbackJson(record) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suspensions$`),
      action: 'suspension.list',
      roles: EVERYONE,
      handle: async (ctx) => ({ status: 200, body: { suspensions: (await admin.suspensions(ctx.tenant!, booleanParam(ctx.query, 'all'))).map(suspensionJson) } }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suspensions$`),
      action: 'suspension.create',
      roles: STAFF,
      handle: async (ctx) => {
        const req = parseWith(suspendRequest, await ctx.body());
        ctx.note.reason = req.reason;
        const s = await admin.suspend({
          tenant: ctx.tenant!,
          scope: req.scope,
          ...(req.value !== undefined ? { value: req.value } : {}),
          reason: req.reason,
          ...(req.ticket ? { ticket: req.ticket } : {}),
          ...(req.expiresAt ? { expiresAt: Date.parse(req.expiresAt) } : {}),
          ...(req.force ? { force: true } : {}),
          actor: actorOf(ctx.token),
        });
        ctx.note.detail = { suspension: s.id, scope: s.scope };
        return { status: 201, body: suspensionJson(s) };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suspensions/(S[0-9A-F]{10})/lift$`),
      action: 'suspension.lift',
      roles: STAFF,
      handle: async (ctx) => {
        const req = parseWith(liftRequest, await ctx.body());
        ctx.note.reason = req.reason;
        const id = ctx.params[0]!;
        ctx.note.detail = { suspension: id, ...(req.ticket ? { ticket: req.ticket } : {}) };
        await admin.unsuspend(ctx.tenant!, id, actorOf(ctx.token), req.ticket ? `${req.reason} [${req.ticket}]` : req.reason);
        const lifted = (await admin.suspensions(ctx.tenant!, true)).find((s) => s.id === id)!;
        return { status: 200, body: suspensionJson(lifted) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suppressions$`),
      action: 'suppression.list',
      roles: EVERYONE,
      handle: async (ctx) => {
        const limit = limitParam(ctx.query, 1000, 10_000);
        const after = ctx.query.get('after');
        const entries = [];
        let skipping = after !== null;
        for await (const e of admin.suppressionEntries(ctx.tenant!)) {
          if (skipping) {
            if (e.pseudonym === after) skipping = false;
            continue;
          }
          entries.push(suppressionJson(e));
          if (entries.length >= limit) break;
        }
        return { status: 200, body: { entries, next: entries.length === limit ? entries.at(-1)!.pseudonym : null } };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suppressions$`),
      action: 'suppression.add',
      roles: EVERYONE,
      handle: async (ctx) => {
        const req = parseWith(suppressRequest, await ctx.body());
        const added = await admin.suppress(
          ctx.tenant!,
          req.entries.map((e) => ({ address: e.address, reason: e.reason, ...(e.source ? { source: e.source } : {}), ...(e.expiresAt ? { expiresAt: Date.parse(e.expiresAt) } : {}) })),
        );
        ctx.note.detail = { entries: added };
        return { status: 201, body: { added } };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suppressions/remove$`),
      action: 'suppression.remove',
      roles: EVERYONE,
      handle: async (ctx) => {
        const req = parseWith(unsuppressRequest, await ctx.body());
        const removed = await admin.unsuppress(ctx.tenant!, req.address);
        ctx.note.detail = { removed };
        return { status: 200, body: { removed } };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suppressions/lookup$`),
      action: 'suppression.lookup',
      roles: EVERYONE,
      handle: async (ctx) => {
        const req = parseWith(suppressionLookupRequest, await ctx.body());
        return { status: 200, body: await admin.lookupSuppression(ctx.tenant!, req.address, deps.now()) };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/accounting/query$`),
      action: 'accounting.query',
      roles: EVERYONE,
      handle: async (ctx) => {
        const req = parseWith(accountingQueryRequest, await ctx.body());
        const page = await accountingPage(deps, ctx.tenant!, req);
        ctx.note.detail = { records: page.records.length };
        if (req.format === 'csv') {
          const rows = page.records.map(csvRow).filter((r): r is string => r !== null);
          const headers: Record<string, string> = page.next ? { 'mailwarden-next-cursor': page.next } : {};
          return { status: 200, body: `${[CSV_HEADER, ...rows].join('\n')}\n`, contentType: 'text/csv; charset=utf-8', headers };
        }
        return { status: 200, body: page };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/v1/tenants/${T}/suppressions/export$`),
      action: 'suppression.export',
      roles: EVERYONE,
      handle: async (ctx) => ({ status: 200, body: await admin.exportCsv(ctx.tenant!), contentType: 'text/csv; charset=utf-8' }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/subjects/export$`),
      action: 'subject.export',
      roles: EVERYONE,
      handle: async (ctx) => {
        const req = parseWith(subjectRequest, await ctx.body());
        return { status: 200, body: await deps.subjects.export(ctx.tenant!, req.address) };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/subjects/erase$`),
      action: 'subject.erase',
      roles: EVERYONE,
      handle: async (ctx) => {
        const req = parseWith(subjectRequest, await ctx.body());
        const result = await deps.subjects.erase(ctx.tenant!, req.address);
        ctx.note.detail = { records: result.recordsRemoved, segments: result.segmentsRewritten, reports: result.reportsErased, stillSuppressed: result.stillSuppressed };
        return { status: 200, body: result };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/offboard$`),
      action: 'tenant.offboard',
      roles: ['operator'],
      handle: async (ctx) => {
        const req = parseWith(offboardRequest, await ctx.body());
        ctx.note.detail = { returnDir: req.returnDir };
        return { status: 200, body: await deps.offboard(ctx.tenant!, req.returnDir, actorOf(ctx.token)) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/v1/tenants/${T}/feedback$`),
      action: 'feedback.list',
      roles: EVERYONE,
      handle: async (ctx) => {
        const reports = await feedbackPage(ctx.tenant!, ctx.query);
        // the tenant's view: what each report says about its mail; the provider's notes are staff's
        return { status: 200, body: { reports: reports.list.map((r) => (ctx.token.role === 'tenant' ? tenantFeedbackJson(r) : feedbackJson(r))), next: reports.next } };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/v1/tenants/${T}/password/rotate$`),
      action: 'tenant.password',
      roles: EVERYONE,
      handle: async (ctx) => {
        const record = await store.getTenant(ctx.tenant!);
        if (!record?.username) throw new HttpError('INVALID_INPUT', `tenant ${ctx.tenant} relays by network and has no login`, [{ field: 'tenant', message: 'has no login' }]);
        const login = await newPassword();
        await admin.setPassword(ctx.tenant!, login.hash);
        await deps.tenantsChanged?.();
        return { status: 200, body: { username: record.username, password: login.password } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/v1\/tokens\/rotate$/,
      action: 'token.rotate',
      roles: EVERYONE,
      handle: async (ctx) => {
        // the token that asks is replaced by one of the same role, tenant, name and lifetime, and revoked
        const old = ctx.token;
        const now = deps.now();
        const lifetime = old.expiresAt !== undefined ? old.expiresAt - old.createdAt : undefined;
        const { record, token } = newToken({
          role: old.role,
          ...(old.tenant ? { tenant: old.tenant } : {}),
          ...(old.name ? { name: old.name } : {}),
          createdAt: now,
          createdBy: actorOf(old),
          ...(lifetime !== undefined ? { expiresAt: now + lifetime } : {}),
        });
        await store.putApiToken(record);
        await store.putApiToken({ ...old, revokedAt: now });
        ctx.note.detail = { token: old.id, replacedBy: record.id };
        return { status: 201, body: { id: record.id, token, ...(record.expiresAt !== undefined ? { expiresAt: iso(record.expiresAt)! } : {}) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/audit$/,
      action: 'audit.read',
      roles: STAFF,
      handle: async (ctx) => {
        const limit = limitParam(ctx.query, 100, 1000);
        const before = ctx.query.get('before');
        if (before !== null && !/^\d{1,12}$/.test(before)) throw new HttpError('INVALID_INPUT', 'before must be the next cursor of an earlier page', [{ field: 'before', message: 'a line number' }]);
        const filter = Object.fromEntries((['tenant', 'actor', 'action'] as const).flatMap((k) => (ctx.query.get(k) !== null ? [[k, ctx.query.get(k)!]] : [])));
        const page = await deps.audit.read(filter, { limit, ...(before !== null ? { before: Number(before) } : {}) });
        return { status: 200, body: { entries: page.entries, next: page.next === null ? null : String(page.next) } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/v1\/feedback$/,
      action: 'feedback.ingest',
      roles: STAFF,
      handle: async (ctx) => {
        const result = await deps.intake.ingest(await ctx.body(), 'http');
        if (result.plan.kind === 'rejected') throw new HttpError('NOT_A_REPORT', `not a complaint (ARF) or bounce (DSN) report: ${result.plan.reason}`);
        ctx.note.detail = { records: result.records.map((r) => `${r.record.id}:${r.duplicate ? 'duplicate' : r.record.outcome}`).join(' ') };
        return { status: 200, body: { records: result.records.map((r) => feedbackJson(r.record, r.duplicate)) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/feedback$/,
      action: 'feedback.list',
      roles: STAFF,
      handle: async (ctx) => {
        const scope = ctx.query.get('tenant') ?? (booleanParam(ctx.query, 'review') ? REVIEW : null);
        if (scope === null) throw new HttpError('INVALID_INPUT', 'give tenant=T or review=true', [{ field: 'tenant', message: 'required unless review=true' }]);
        const reports = await feedbackPage(scope, ctx.query);
        return { status: 200, body: { reports: reports.list.map((r) => feedbackJson(r)), next: reports.next } };
      },
    },
  ];
}

/** an SMTP password made by the relay: shown once in the answer, kept only as its scrypt hash */
async function newPassword(): Promise<{ password: string; hash: string }> {
  const password = randomBytes(24).toString('base64url');
  return { password, hash: await hashPassword(password) };
}

function actorOf(token: ApiToken): string {
  return `token:${token.id}${token.name ? ` (${token.name})` : ''}`;
}

export type AdminApiServer = RunningHttpServer;

export async function listenAdminApi(host: string, port: number, deps: AdminApiDeps): Promise<AdminApiServer> {
  const routes = adminRoutes(deps);
  const openapi = JSON.stringify(openApiDocument(), null, 2);
  const consoleRoot = consoleDir();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.log.error({ err: (err as Error).message }, 'admin API request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"INTERNAL","message":"internal error"}}');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://admin');
    const send = (r: Reply) => {
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      res.writeHead(r.status, { ...r.headers, 'content-type': r.contentType ?? 'application/json', 'x-request-id': requestId, 'cache-control': 'no-store' }).end(text);
    };
    const fail = (e: HttpError) => send({ status: e.status, body: { error: { code: e.code, message: e.message, ...(e.problems ? { problems: e.problems } : {}) }, requestId } });

    if (req.method === 'GET' && url.pathname === '/api/v1/openapi.json') return send({ status: 200, body: openapi });
    if ((req.method === 'GET' || req.method === 'HEAD') && (url.pathname === '/' || url.pathname === '/console' || url.pathname.startsWith('/console/'))) {
      const file = url.pathname === '/' ? { status: 308, body: '', headers: { location: '/console/' } } : consoleRoot ? await consoleFile(consoleRoot, url.pathname) : null;
      if (!file) return fail(new HttpError('NOT_FOUND', consoleRoot ? `no such file: ${url.pathname}` : 'the console is not built (npm run build)'));
      res.writeHead(file.status, { ...file.headers, 'x-request-id': requestId }).end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    if (candidates.length === 0) return fail(new HttpError('NOT_FOUND', `no such resource: ${url.pathname}`));
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      res.setHeader('allow', candidates.map((r) => r.method).join(', '));
      return fail(new HttpError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here`));
    }
    const match = route.pattern.exec(url.pathname)!;
    const tenant = /^\/api\/v1\/tenants\/([^/]+)/.exec(url.pathname)?.[1] ?? null;

    const audit = (entry: Omit<AuditEntry, 'requestId' | 'via' | 'action'>) => deps.audit.record({ ...entry, action: route.action, requestId, via: 'http' }, deps.now());
    // a lost store's tokens, tenants and lists are no answer, and nothing is written into it
    const lost = deps.storeLost?.() ?? null;
    if (lost !== null) {
      await audit({ actor: 'anonymous', role: 'none', ...(tenant ? { tenant } : {}), outcome: 'error', detail: { why: 'STORE_LOST' } });
      return fail(new HttpError('STORE_LOST', lost));
    }
    const check = await checkToken(req.headers.authorization, deps.store, deps.now());
    if (!check.ok) {
      await audit({ actor: 'anonymous', role: 'none', ...(tenant ? { tenant } : {}), outcome: 'denied', detail: { why: `token ${check.why}` } });
      res.setHeader('www-authenticate', 'Bearer realm="mailwarden"');
      return fail(new HttpError('UNAUTHENTICATED', check.why === 'missing' ? 'a bearer token is required' : `the token is ${check.why === 'unknown' || check.why === 'malformed' ? 'not valid' : check.why}`));
    }
    const token = check.token;
    const who = { actor: actorOf(token), role: token.role };
    // a tenant token sees nothing of other tenants, not even whether they exist
    if (tenant !== null && ((token.role === 'tenant' && token.tenant !== tenant) || !(await deps.store.getTenant(tenant)))) {
      await audit({ ...who, tenant, outcome: token.role === 'tenant' && token.tenant !== tenant ? 'denied' : 'not-found', detail: { why: 'no such tenant for this token' } });
      return fail(new HttpError('NOT_FOUND', `no tenant ${tenant}`));
    }
    if (!route.roles.includes(token.role)) {
      await audit({ ...who, ...(tenant ? { tenant } : {}), outcome: 'denied', detail: { why: `role ${token.role} may not ${route.action}` } });
      return fail(new HttpError('FORBIDDEN', `a ${token.role} token may not do ${route.action}`));
    }

    const limit = route.action === 'feedback.ingest' ? deps.maxReportBytes : JSON_LIMIT;
    const ctx: Ctx = { token, tenant, params: match.slice(tenant === null ? 1 : 2), query: url.searchParams, requestId, note: {}, body: () => readBody(req, limit) };
    try {
      const reply = await route.handle(ctx);
      await audit({ ...who, ...(tenant ? { tenant } : {}), outcome: 'ok', ...(ctx.note.reason ? { reason: ctx.note.reason } : {}), ...(ctx.note.detail ? { detail: ctx.note.detail } : {}) });
      send(reply);
    } catch (err) {
      const e = toHttpError(err);
      await audit({ ...who, ...(tenant ? { tenant } : {}), outcome: e.status === 404 ? 'not-found' : e.status >= 500 ? 'error' : 'invalid', ...(ctx.note.reason ? { reason: ctx.note.reason } : {}), detail: { status: e.status, code: e.code } });
      if (e.status >= 500) deps.log.warn({ requestId, action: route.action, err: (err as Error).message }, 'admin API request failed');
      fail(e);
    }
  }

  return listenHttp(server, host, port, 'admin.port');
}

/** a `limit` (or `name`) query parameter: a whole number from 1 to `max`, `fallback` when absent */
function limitParam(query: URLSearchParams, fallback: number, max: number, name = 'limit'): number {
  const limit = Number(query.get(name) ?? fallback);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new HttpError('INVALID_INPUT', `${name} must be a whole number from 1 to ${max}`, [{ field: name, message: `from 1 to ${max}` }]);
  return limit;
}

/** a boolean query parameter: true, false or absent (false); anything else is refused by name */
function booleanParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null || value === 'false') return false;
  if (value === 'true') return true;
  throw new HttpError('INVALID_INPUT', `${name} must be true or false`, [{ field: name, message: 'true or false' }]);
}

/** where a page of an accounting query stopped: the time of its last record, and how many records of that time it gave */
interface Cursor {
  readonly t: number;
  readonly n: number;
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (Number.isFinite(c.t) && Number.isInteger(c.n) && c.n >= 0) return c;
  } catch {
    // named below
  }
  throw new HttpError('INVALID_INPUT', 'the cursor is not one this API gave', [{ field: 'cursor', message: 'not a next cursor of an earlier answer' }]);
}

/**
 * One page of a tenant's accounting records, oldest first, the same query as the CLI's; the
 * next cursor when there are more. A first page (no cursor) first has this relay's latest
 * records written where every replica reads them.
 */
async function accountingPage(deps: AdminApiDeps, tenant: string, req: z.output<typeof accountingQueryRequest>): Promise<{ records: AccountingRecord[]; next: string | null }> {
  const cursor = req.cursor ? decodeCursor(req.cursor) : null;
  if (!cursor) await deps.accounting.settle();
  const pseudonym = req.address ? await deps.admin.pseudonymOf(tenant, req.address) : undefined;
  const from = req.from !== undefined ? rangeBound(req.from, false) : undefined;
  const query = deps.accounting.records.query({
    tenant,
    from: cursor ? Math.max(cursor.t, from ?? -Infinity) : from,
    ...(req.to !== undefined ? { to: rangeBound(req.to, true) } : {}),
    ...(pseudonym ? { pseudonym } : {}),
    ...(req.messageId ? { messageId: req.messageId } : {}),
    archived: req.archived,
  });
  const records: AccountingRecord[] = [];
  let skip = cursor?.n ?? 0;
  let last = cursor ?? { t: -Infinity, n: 0 };
  for await (const r of query) {
    const t = Date.parse(r.time);
    if (cursor && t === cursor.t && skip > 0) {
      skip--;
      continue;
    }
    if (records.length === req.limit) return { records, next: Buffer.from(JSON.stringify(last)).toString('base64url') };
    records.push(r);
    last = t === last.t ? { t, n: last.n + 1 } : { t, n: 1 };
  }
  return { records, next: null };
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof AdminError) {
    if (err.code === 'NOT_FOUND') return new HttpError('NOT_FOUND', err.message);
    return new HttpError('INVALID_INPUT', err.message, err.problems.length ? err.problems.map((p) => ({ field: fieldOf(p), message: p })) : undefined);
  }
  if (err instanceof StoreUnavailableError) return new HttpError('UNAVAILABLE', 'the store did not answer; nothing was changed, try again');
  // says how far it got and why: paths and the tenant id, never an address
  if (err instanceof OffboardError) return new HttpError('OFFBOARD_FAILED', err.message);
  return new HttpError('INTERNAL', 'internal error');
}

/** "entry 3: not an email address" → entries.2.address */
/** the field a service problem names: "entry 2: …" is entries.1, "value: …" is value */
function fieldOf(problem: string): string {
  const entry = /^entry (\d+):/.exec(problem);
  if (entry) return `entries.${Number(entry[1]) - 1}`;
  return /^([A-Za-z][\w.]*): /.exec(problem)?.[1] ?? '(body)';
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // keep reading to the end so the refusal can still be sent; keep nothing
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => (size > limit ? reject(new HttpError('TOO_LARGE', `the body is larger than ${limit} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}
