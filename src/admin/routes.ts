// The admin API's routes, one definition each: path, method, who may call it, what it is
// called in the OpenAPI document (operationId, tags, summary), the zod schemas that validate
// its query and body (and document them with the answers), and what it does. The server
// (http.ts) checks the token, the tenant and the role before a handler runs, validates the
// input with these schemas, and writes the audit line.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { REVIEW, type FeedbackRecord } from '../domain/feedback.js';
import type { ErrorId } from '../domain/catalog.js';
import { catalog } from '../domain/catalog.js';
import { windowName } from '../feedback/rates.js';
import { tenantSchema } from '../config/schema.js';
import { hashPassword } from '../tenants/password.js';
import { rangeBound } from '../accounting/query.js';
import { CSV_HEADER, csvRow } from '../accounting/csv.js';
import type { AccountingRecord } from '../accounting/records.js';
import { newToken, tokenExpiry, type ApiToken } from './tokens.js';
import { tenantSummary } from './tenant-summary.js';
import { reportsPage } from './reports-page.js';
import { decisionText, feedbackJson, iso, suppressionJson, suspensionJson, tenantFeedbackJson, tokenJson } from './views.js';
import {
  accountingQueryRequest,
  assignRequest,
  dismissRequest,
  errorView,
  feedbackRecordView,
  liftRequest,
  offboardRequest,
  subjectRequest,
  suppressionLookupRequest,
  suppressionView,
  suppressRequest,
  suspendRequest,
  suspensionView,
  tenantView as tenantSchemaView,
  tokenCreateRequest,
  unsuppressRequest,
  type Role,
} from './schemas.js';
import type { AdminApiDeps } from './http.js';

/** An error answer: its code is a catalog entry, which gives the HTTP status. */
export class HttpError extends Error {
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

export type Reply = { status: number; body: unknown; contentType?: string; headers?: Record<string, string> };

export interface Ctx<B, Q> {
  readonly token: ApiToken;
  readonly tenant: string | null;
  /** the path's parameters: tenant, id, report */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Q;
  readonly body: B;
  readonly requestId: string;
  /** what the audit entry says beyond who and what */
  readonly note: { reason?: string; detail?: Record<string, string | number | boolean> };
}

export interface Answer {
  readonly description: string;
  /** JSON by default */
  readonly schema?: z.ZodType;
  readonly contentType?: string;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PATCH';
  /** under /api/v1, with :tenant, :id and :report parameters */
  readonly url: string;
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly action: string;
  readonly roles: readonly Role[];
  readonly params?: z.ZodObject;
  readonly querystring?: z.ZodType;
  readonly body?: z.ZodType;
  /** the body as received (a report), up to this many bytes; `consumes` its media type */
  readonly raw?: { readonly limit: (deps: AdminApiDeps) => number; readonly consumes: string };
  /** the answers besides the error answers every route has */
  readonly answers: Readonly<Record<number, Answer>>;
  readonly handle: (ctx: Ctx<unknown, unknown>) => Promise<Reply>;
}

interface RouteDef<B extends z.ZodType, Q extends z.ZodType> extends Omit<Route, 'handle' | 'body' | 'querystring'> {
  readonly body?: B;
  readonly querystring?: Q;
  readonly handle: (ctx: Ctx<z.output<B>, z.output<Q>>) => Promise<Reply>;
}

/** a route whose handler sees its body and query as its schemas give them */
function route<B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodObject>(def: RouteDef<B, Q>): Route {
  return def as unknown as Route;
}

/** a route's path parameters: the tenant where its path has one, and its own; null for a path without any */
export function paramsOf(route: Route): z.ZodObject | null {
  if (!route.url.includes(':')) return null;
  return z.object({ ...(route.url.includes(':tenant') ? { tenant: PATH_PARAMS.tenant } : {}), ...route.params?.shape });
}

const STAFF: readonly Role[] = ['operator', 'abuse-desk'];
const EVERYONE: readonly Role[] = ['operator', 'abuse-desk', 'tenant'];

export const PATH_PARAMS = {
  tenant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).describe('the tenant\'s id'),
  suspension: z.string().regex(/^S[0-9A-F]{10}$/).describe('a suspension\'s id'),
  token: z.string().regex(/^[0-9a-f]{10}$/).describe('a token\'s id'),
  report: z.string().regex(/^F[0-9A-Z]{4,40}$/).describe('a report\'s id'),
};

/** a page size: a whole number from 1 to `max`, `fallback` when absent */
const limit = (fallback: number, max: number, what = 'how many per page') =>
  z.coerce
    .number({ error: `from 1 to ${max}` })
    .int(`from 1 to ${max}`)
    .min(1, `from 1 to ${max}`)
    .max(max, `from 1 to ${max}`)
    .default(fallback)
    .describe(what);
/** a boolean query parameter: true, false or absent (false); anything else is refused by name */
const flag = (what: string) =>
  z
    .enum(['true', 'false'], { error: 'true or false' })
    .optional()
    .transform((v) => v === 'true')
    .describe(what);
const reportCursor = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a report id').optional().describe('the next cursor of the page before');

const page = (items: Record<string, z.ZodType>) => z.object({ ...items, next: z.string().nullable().describe('the cursor of the next page; null on the last') });
const tokenView = z.object({ id: z.string(), role: z.string(), tenant: z.string().optional(), name: z.string().optional(), createdAt: z.string(), createdBy: z.string(), expiresAt: z.string().optional(), revokedAt: z.string().optional() });
const ratesView = z.object({
  tenant: z.string(),
  domain: z.string().nullable(),
  window: z.literal('24h'),
  minVolume: z.number().int(),
  thresholds: z.object({ complaintRate: z.object({ warn: z.number(), suspend: z.number() }), hardBounceRate: z.object({ warn: z.number(), suspend: z.number() }) }),
  points: z.array(
    z.object({ at: z.string(), delivered: z.number(), complaints: z.number(), hardBounces: z.number(), complaintRate: z.number().nullable(), hardBounceRate: z.number().nullable(), judged: z.boolean().describe('at or above the minimum volume, so a threshold applies') }),
  ),
});
const sessionView = z.object({
  token: z.string(),
  role: z.enum(['operator', 'abuse-desk', 'tenant']),
  tenant: z.string().optional(),
  name: z.string().optional(),
  expiresAt: z.string().nullable(),
  rates: z.object({ minVolume: z.number().int(), windows: z.array(z.string()), thresholds: ratesView.shape.thresholds }),
});

export function adminRoutes(deps: AdminApiDeps): Route[] {
  const { admin, store } = deps;
  const tenantView = (id: string) => tenantSummary(store, id, deps.rates, deps.now());
  return [
    route({
      method: 'GET',
      url: '/tenants',
      operationId: 'listTenants',
      tags: ['tenants'],
      summary: 'Tenants with their volumes and rates (a tenant token: its own), by id, a page at a time',
      action: 'tenant.list',
      roles: EVERYONE,
      querystring: z.object({ limit: limit(1000, 1000), after: z.string().optional().describe('the next cursor of the page before') }),
      answers: { 200: { description: 'a page of tenants', schema: page({ tenants: z.array(tenantSchemaView) }) } },
      handle: async (ctx) => {
        const { limit, after } = ctx.query;
        const ids = ctx.token.role === 'tenant' ? [ctx.token.tenant!] : (await store.listTenants()).map((t) => t.id).sort();
        const chosen = ids.filter((id) => after === undefined || id > after).slice(0, limit);
        return { status: 200, body: { tenants: await Promise.all(chosen.map(tenantView)), next: chosen.length === limit && ids.at(-1) !== chosen.at(-1) ? chosen.at(-1)! : null } };
      },
    }),
    route({
      method: 'POST',
      url: '/tenants',
      operationId: 'createTenant',
      tags: ['tenants'],
      summary: 'A new tenant (operator), as the configuration\'s tenants are written, without a password: a tenant with a username gets one made by the relay, shown once in the answer',
      action: 'tenant.add',
      roles: ['operator'],
      body: tenantSchema.omit({ password: true }).meta({ examples: [{ id: 'initech', domains: ['initech.example'], username: 'initech', abuseContact: { email: 'abuse@initech.example' } }] }),
      answers: { 201: { description: 'the tenant, and its password when it logs in', schema: tenantSchemaView.extend({ password: z.string().optional().describe('shown once') }) } },
      handle: async (ctx) => {
        const input = ctx.body;
        const login = input.username ? await newPassword() : null;
        const record = await admin.addTenant({ ...input, ...(login ? { password: login.hash } : {}) }, deps.tenantDefaults);
        await deps.tenantsChanged?.();
        ctx.note.detail = { tenant: record.id };
        return { status: 201, body: { ...(await tenantView(record.id)), ...(login ? { password: login.password } : {}) } };
      },
    }),
    route({
      method: 'GET',
      url: '/tokens',
      operationId: 'listTokens',
      tags: ['tokens'],
      summary: 'API tokens (operator): id, role, tenant, name, times; never a secret',
      action: 'token.list',
      roles: ['operator'],
      querystring: z.object({ limit: limit(1000, 1000), after: PATH_PARAMS.token.optional().describe('the next cursor of the page before') }),
      answers: { 200: { description: 'a page of tokens, oldest first', schema: page({ tokens: z.array(tokenView) }) } },
      handle: async (ctx) => {
        const all = (await store.listApiTokens()).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
        return { status: 200, body: pageAfter(all, ctx.query, (t) => t.id, tokenJson, 'tokens') };
      },
    }),
    route({
      method: 'POST',
      url: '/tokens',
      operationId: 'createToken',
      tags: ['tokens'],
      summary: 'A new API token (operator), shown once; 90 days unless expires says otherwise',
      action: 'token.create',
      roles: ['operator'],
      body: tokenCreateRequest,
      answers: { 201: { description: 'the token, with its secret shown once', schema: tokenView.extend({ token: z.string() }) } },
      handle: async (ctx) => {
        const req = ctx.body;
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
    }),
    route({
      method: 'POST',
      url: '/tokens/:id/revoke',
      operationId: 'revokeToken',
      tags: ['tokens'],
      summary: 'Revoke a token (operator)',
      action: 'token.revoke',
      roles: ['operator'],
      params: z.object({ id: PATH_PARAMS.token }),
      answers: { 200: { description: 'the token, revoked', schema: tokenView } },
      handle: async (ctx) => {
        const id = ctx.params.id!;
        const t = await store.getApiToken(id);
        if (!t) throw new HttpError('NOT_FOUND', `no token ${id}`);
        const revoked = t.revokedAt !== undefined ? t : { ...t, revokedAt: deps.now() };
        if (t.revokedAt === undefined) await store.putApiToken(revoked);
        ctx.note.detail = { token: id };
        return { status: 200, body: tokenJson(revoked) };
      },
    }),
    route({
      method: 'POST',
      url: '/tokens/rotate',
      operationId: 'rotateToken',
      tags: ['tokens'],
      summary: 'Replace the token that asks: a new one of the same role, tenant, name and lifetime, shown once; the asking token is revoked',
      action: 'token.rotate',
      roles: EVERYONE,
      answers: { 201: { description: 'the new token', schema: z.object({ id: z.string(), token: z.string(), expiresAt: z.string().optional() }) } },
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
    }),
    route({
      method: 'GET',
      url: '/session',
      operationId: 'getSession',
      tags: ['session'],
      summary: 'Who this token is: its id, role, tenant (for a tenant token), name and expiry; and the rate thresholds a client shows',
      action: 'session.read',
      roles: EVERYONE,
      answers: { 200: { description: 'the token\'s session', schema: sessionView } },
      handle: async (ctx) => {
        const { minVolume, windowsHours, complaints, hardBounces } = deps.rates;
        const t = ctx.token;
        return {
          status: 200,
          body: { token: t.id, role: t.role, ...(t.tenant ? { tenant: t.tenant } : {}), ...(t.name ? { name: t.name } : {}), expiresAt: iso(t.expiresAt) ?? null, rates: { minVolume, windows: windowsHours.map(windowName), thresholds: { complaintRate: complaints, hardBounceRate: hardBounces } } },
        };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant',
      operationId: 'getTenant',
      tags: ['tenants'],
      summary: 'One tenant with its volumes and rates, the tenant\'s and per sender domain',
      action: 'tenant.read',
      roles: EVERYONE,
      answers: { 200: { description: 'the tenant', schema: tenantSchemaView } },
      handle: async (ctx) => ({ status: 200, body: await tenantView(ctx.tenant!) }),
    }),
    route({
      method: 'PATCH',
      url: '/tenants/:tenant',
      operationId: 'updateTenant',
      tags: ['tenants'],
      summary: 'Change a tenant\'s sender domains, networks, rate limits or abuse contact (operator); the relay takes them up at once',
      action: 'tenant.update',
      roles: ['operator'],
      body: tenantSchema.pick({ domains: true, networks: true, limits: true, abuseContact: true }).partial().meta({ examples: [{ domains: ['acme.example', 'news.acme.example'] }] }),
      answers: { 200: { description: 'the tenant', schema: tenantSchemaView } },
      handle: async (ctx) => {
        const changes = ctx.body;
        await admin.updateTenant(ctx.tenant!, changes, deps.tenantDefaults);
        await deps.tenantsChanged?.();
        ctx.note.detail = { fields: Object.keys(changes).join(' ') };
        return { status: 200, body: await tenantView(ctx.tenant!) };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/rates',
      operationId: 'getTenantRates',
      tags: ['tenants'],
      summary: 'The tenant\'s (or one sender domain\'s) rolling 24 h complaint and hard-bounce rates every 6 hours over the last days up to now, with the warn and suspend thresholds',
      action: 'tenant.rates',
      roles: EVERYONE,
      querystring: z.object({ days: limit(7, 7, 'how many days back (volume is kept 8 days)'), domain: z.string().optional().describe('one of the tenant\'s sender domains') }),
      answers: { 200: { description: 'the rates over time', schema: ratesView } },
      handle: async (ctx) => {
        const { days, domain } = ctx.query;
        const record = (await store.getTenant(ctx.tenant!))!;
        if (domain !== undefined && !record.domains.includes(domain)) throw new HttpError('INVALID_INPUT', `${domain} is not one of ${ctx.tenant}'s sender domains`, [{ field: 'domain', message: 'one of the tenant\'s domains' }]);
        const step = 6 * 3_600_000;
        const end = deps.now();
        const points = [];
        for (let at = end - days * 24 * 3_600_000; at <= end; at += step) {
          const v = await store.volumeTotals(ctx.tenant!, domain ?? null, 24, at);
          const judged = v.delivered >= deps.rates.minVolume;
          points.push({ at: iso(at)!, ...v, complaintRate: v.delivered > 0 ? v.complaints / v.delivered : null, hardBounceRate: v.delivered > 0 ? v.hardBounces / v.delivered : null, judged });
        }
        const { minVolume, complaints, hardBounces } = deps.rates;
        return { status: 200, body: { tenant: ctx.tenant, domain: domain ?? null, window: '24h', minVolume, thresholds: { complaintRate: complaints, hardBounceRate: hardBounces }, points } };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/suspensions',
      operationId: 'listSuspensions',
      tags: ['suspensions'],
      summary: 'Active suspensions with their evidence; all=true adds lifted and expired ones',
      action: 'suspension.list',
      roles: EVERYONE,
      querystring: z.object({ all: flag('lifted and expired ones too'), limit: limit(1000, 1000), after: PATH_PARAMS.suspension.optional().describe('the next cursor of the page before') }),
      answers: { 200: { description: 'a page of suspensions, newest first', schema: page({ suspensions: z.array(suspensionView) }) } },
      handle: async (ctx) => {
        const all = (await admin.suspensions(ctx.tenant!, ctx.query.all)).sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
        return { status: 200, body: pageAfter(all, ctx.query, (x) => x.id, suspensionJson, 'suspensions') };
      },
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/suspensions',
      operationId: 'createSuspension',
      tags: ['suspensions'],
      summary: 'Suspend the tenant, a sender domain or a sender address (operator, abuse-desk)',
      action: 'suspension.create',
      roles: STAFF,
      body: suspendRequest,
      answers: { 201: { description: 'the suspension', schema: suspensionView } },
      handle: async (ctx) => {
        const req = ctx.body;
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
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/suspensions/:id/lift',
      operationId: 'liftSuspension',
      tags: ['suspensions'],
      summary: 'Lift a suspension; a reason is required, a ticket is kept with it (operator, abuse-desk)',
      action: 'suspension.lift',
      roles: STAFF,
      params: z.object({ id: PATH_PARAMS.suspension }),
      body: liftRequest,
      answers: { 200: { description: 'the suspension, lifted', schema: suspensionView } },
      handle: async (ctx) => {
        const req = ctx.body;
        ctx.note.reason = req.reason;
        const id = ctx.params.id!;
        ctx.note.detail = { suspension: id, ...(req.ticket ? { ticket: req.ticket } : {}) };
        await admin.unsuspend(ctx.tenant!, id, actorOf(ctx.token), req.ticket ? `${req.reason} [${req.ticket}]` : req.reason);
        const lifted = (await admin.suspensions(ctx.tenant!, true)).find((s) => s.id === id)!;
        return { status: 200, body: suspensionJson(lifted) };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/suppressions',
      operationId: 'listSuppressions',
      tags: ['suppressions'],
      summary: 'Suppression entries by pseudonym, never with addresses',
      action: 'suppression.list',
      roles: EVERYONE,
      querystring: z.object({ limit: limit(1000, 10_000), after: z.string().optional().describe('the next cursor of the page before') }),
      answers: { 200: { description: 'a page of entries', schema: page({ entries: z.array(suppressionView) }) } },
      handle: async (ctx) => {
        const { limit, after } = ctx.query;
        const entries = [];
        let skipping = after !== undefined;
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
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/suppressions',
      operationId: 'addSuppressions',
      tags: ['suppressions'],
      summary: 'Add entries: all of them or, on any bad entry, none',
      action: 'suppression.add',
      roles: EVERYONE,
      body: suppressRequest,
      answers: { 201: { description: 'how many were new', schema: z.object({ added: z.number().int() }) } },
      handle: async (ctx) => {
        const added = await admin.suppress(
          ctx.tenant!,
          ctx.body.entries.map((e) => ({ address: e.address, reason: e.reason, ...(e.source ? { source: e.source } : {}), ...(e.expiresAt ? { expiresAt: Date.parse(e.expiresAt) } : {}) })),
        );
        ctx.note.detail = { entries: added };
        return { status: 201, body: { added } };
      },
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/suppressions/remove',
      operationId: 'removeSuppression',
      tags: ['suppressions'],
      summary: 'Remove one address (in the body, never in a URL)',
      action: 'suppression.remove',
      roles: EVERYONE,
      body: unsuppressRequest,
      answers: { 200: { description: 'whether it was on the list', schema: z.object({ removed: z.boolean() }) } },
      handle: async (ctx) => {
        const removed = await admin.unsuppress(ctx.tenant!, ctx.body.address);
        ctx.note.detail = { removed };
        return { status: 200, body: { removed } };
      },
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/suppressions/lookup',
      operationId: 'lookupSuppression',
      tags: ['suppressions'],
      summary: 'Whether one address (in the body, never in a URL) is on the tenant\'s suppression list: reason, source, since, expiry; an address that is not answers only that',
      action: 'suppression.lookup',
      roles: EVERYONE,
      body: suppressionLookupRequest,
      answers: {
        200: {
          description: 'the answer',
          schema: z.object({ suppressed: z.boolean(), reason: z.string().optional(), source: z.string().optional(), since: z.string().optional(), expiresAt: z.string().optional() }).meta({ examples: [{ suppressed: true, reason: 'complaint', source: 'arf', since: '2026-11-21T09:14:03.000Z' }, { suppressed: false }] }),
        },
      },
      handle: async (ctx) => ({ status: 200, body: await admin.lookupSuppression(ctx.tenant!, ctx.body.address, deps.now()) }),
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/suppressions/export',
      operationId: 'exportSuppressions',
      tags: ['suppressions'],
      summary: 'The list with addresses, as CSV: address,reason,source,created_at,expires_at,pseudonym',
      action: 'suppression.export',
      roles: EVERYONE,
      answers: { 200: { description: 'the list', contentType: 'text/csv', schema: z.string() } },
      handle: async (ctx) => ({ status: 200, body: await admin.exportCsv(ctx.tenant!), contentType: 'text/csv; charset=utf-8' }),
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/accounting/query',
      operationId: 'queryAccounting',
      tags: ['accounting'],
      summary: 'The tenant\'s accounting records, oldest first, a page at a time (the same query as `mailwarden accounting query`): JSON, or PowerMTA-style CSV with the next cursor in the Mailwarden-Next-Cursor header',
      action: 'accounting.query',
      roles: EVERYONE,
      body: accountingQueryRequest,
      answers: { 200: { description: 'a page of records; `next` is the cursor of the next page, null on the last', schema: page({ records: z.array(z.record(z.string(), z.unknown())) }) } },
      handle: async (ctx) => {
        const req = ctx.body;
        const found = await accountingPage(deps, ctx.tenant!, req);
        ctx.note.detail = { records: found.records.length };
        if (req.format === 'csv') {
          const rows = found.records.map(csvRow).filter((r): r is string => r !== null);
          const headers: Record<string, string> = found.next ? { 'mailwarden-next-cursor': found.next } : {};
          return { status: 200, body: `${[CSV_HEADER, ...rows].join('\n')}\n`, contentType: 'text/csv; charset=utf-8', headers };
        }
        return { status: 200, body: found };
      },
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/subjects/export',
      operationId: 'exportSubject',
      tags: ['data subjects'],
      summary: 'Everything about one address of the tenant: its accounting records and suppression entry (a data-subject access request)',
      action: 'subject.export',
      roles: EVERYONE,
      body: subjectRequest,
      answers: { 200: { description: 'the export document', schema: z.record(z.string(), z.unknown()) } },
      handle: async (ctx) => ({ status: 200, body: await deps.subjects.export(ctx.tenant!, ctx.body.address) }),
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/subjects/erase',
      operationId: 'eraseSubject',
      tags: ['data subjects'],
      summary: 'Erase one address: its records go from every segment, active and archived; a suppression entry stays as a bare pseudonym so the address stays suppressed',
      action: 'subject.erase',
      roles: EVERYONE,
      body: subjectRequest,
      answers: { 200: { description: 'what was erased', schema: z.object({ segmentsRewritten: z.number().int(), recordsRemoved: z.number().int(), reportsErased: z.number().int(), stillSuppressed: z.boolean() }) } },
      handle: async (ctx) => {
        const result = await deps.subjects.erase(ctx.tenant!, ctx.body.address);
        ctx.note.detail = { records: result.recordsRemoved, segments: result.segmentsRewritten, reports: result.reportsErased, stillSuppressed: result.stillSuppressed };
        return { status: 200, body: result };
      },
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/offboard',
      operationId: 'offboardTenant',
      tags: ['tenants'],
      summary: 'End of contract (operator): return all of the tenant\'s data to a directory on the relay\'s host, delete it everywhere with the tenant\'s key, and answer with the deletion certificate',
      action: 'tenant.offboard',
      roles: ['operator'],
      body: offboardRequest,
      answers: { 200: { description: 'the deletion certificate', schema: z.record(z.string(), z.unknown()) } },
      handle: async (ctx) => {
        ctx.note.detail = { returnDir: ctx.body.returnDir };
        return { status: 200, body: await deps.offboard(ctx.tenant!, ctx.body.returnDir, actorOf(ctx.token)) };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/feedback',
      operationId: 'listTenantReports',
      tags: ['feedback'],
      summary: 'The tenant\'s complaint and bounce reports, newest first; a tenant token sees what each says about its mail, without the provider\'s notes',
      action: 'feedback.list',
      roles: EVERYONE,
      querystring: z.object({ limit: limit(100, 1000), before: reportCursor }),
      answers: { 200: { description: 'a page of reports', schema: page({ reports: z.array(feedbackRecordView) }) } },
      handle: async (ctx) => {
        const reports = await reportsPage(store, ctx.tenant!, ctx.query);
        // the tenant's view: what each report says about its mail; the provider's notes are staff's
        return { status: 200, body: { reports: reports.list.map((r) => (ctx.token.role === 'tenant' ? tenantFeedbackJson(r) : feedbackJson(r))), next: reports.next } };
      },
    }),
    route({
      method: 'GET',
      url: '/tenants/:tenant/feedback/:report',
      operationId: 'getTenantReport',
      tags: ['feedback'],
      summary: 'One of the tenant\'s reports: what it says (never the report itself, which names recipients); a tenant token sees it without the provider\'s notes',
      action: 'feedback.read',
      roles: EVERYONE,
      params: z.object({ report: PATH_PARAMS.report }),
      answers: { 200: { description: 'the report\'s record', schema: feedbackRecordView } },
      handle: async (ctx) => {
        const record = await store.getFeedbackReport(ctx.tenant!, ctx.params.report!);
        if (!record) throw new HttpError('NOT_FOUND', `no report ${ctx.params.report} for tenant ${ctx.tenant}`);
        // what the report says, never the report itself (it names recipients)
        return { status: 200, body: ctx.token.role === 'tenant' ? tenantFeedbackJson(record) : feedbackJson(record) };
      },
    }),
    route({
      method: 'POST',
      url: '/tenants/:tenant/password/rotate',
      operationId: 'rotateTenantPassword',
      tags: ['tenants'],
      summary: 'A new SMTP password for the tenant\'s login, made by the relay and shown once in the answer (kept only as its scrypt hash); the old one stops working at once on this relay, at the next tenant refresh on the others',
      action: 'tenant.password',
      roles: EVERYONE,
      answers: { 200: { description: 'the login and its new password', schema: z.object({ username: z.string(), password: z.string() }) } },
      handle: async (ctx) => {
        const record = await store.getTenant(ctx.tenant!);
        if (!record?.username) throw new HttpError('INVALID_INPUT', `tenant ${ctx.tenant} relays by network and has no login`, [{ field: 'tenant', message: 'has no login' }]);
        const login = await newPassword();
        await admin.setPassword(ctx.tenant!, login.hash);
        await deps.tenantsChanged?.();
        return { status: 200, body: { username: record.username, password: login.password } };
      },
    }),
    route({
      method: 'GET',
      url: '/audit',
      operationId: 'readAudit',
      tags: ['audit'],
      summary: 'The audit trail (every API request and changing CLI command; on Redis every replica\'s, on the embedded store this host\'s), newest first, filtered by tenant, actor and action, a page at a time',
      action: 'audit.read',
      roles: STAFF,
      querystring: z.object({
        tenant: z.string().optional(),
        actor: z.string().optional(),
        action: z.string().optional().describe('suspension.lift, suppression.add, ...'),
        limit: limit(100, 1000),
        before: z
          .string()
          .regex(/^\d{1,12}$/, 'a line number')
          .optional()
          .describe('the next cursor of the page before'),
      }),
      answers: { 200: { description: 'a page of entries', schema: page({ entries: z.array(z.record(z.string(), z.unknown())) }) } },
      handle: async (ctx) => {
        const { tenant, actor, action, limit, before } = ctx.query;
        const filter = { ...(tenant !== undefined ? { tenant } : {}), ...(actor !== undefined ? { actor } : {}), ...(action !== undefined ? { action } : {}) };
        const found = await deps.audit.read(filter, { limit, ...(before !== undefined ? { before: Number(before) } : {}) });
        return { status: 200, body: { entries: found.entries, next: found.next === null ? null : String(found.next) } };
      },
    }),
    route({
      method: 'POST',
      url: '/feedback',
      operationId: 'ingestReport',
      tags: ['feedback'],
      summary: 'Take in one raw complaint (ARF) or bounce (DSN) report (operator, abuse-desk)',
      action: 'feedback.ingest',
      roles: STAFF,
      raw: { limit: (d) => d.maxReportBytes, consumes: 'message/rfc822' },
      answers: { 200: { description: 'recorded, one record per tenant (or review queue) it concerns', schema: z.object({ records: z.array(feedbackRecordView) }) } },
      handle: async (ctx) => {
        const result = await deps.intake.ingest(ctx.body as Buffer, 'http');
        if (result.plan.kind === 'rejected') throw new HttpError('NOT_A_REPORT', `not a complaint (ARF) or bounce (DSN) report: ${result.plan.reason}`);
        ctx.note.detail = { records: result.records.map((r) => `${r.record.id}:${r.duplicate ? 'duplicate' : r.record.outcome}`).join(' ') };
        return { status: 200, body: { records: result.records.map((r) => feedbackJson(r.record, r.duplicate)) } };
      },
    }),
    route({
      method: 'POST',
      url: '/feedback/:report/assign',
      operationId: 'assignReport',
      tags: ['feedback'],
      summary: 'Give a report of the review queue to a tenant, with a reason (operator, abuse-desk): it is taken in for the tenant as if attributed to it (counted toward its rates, the recipients it names suppressed) and the review record keeps the decision',
      action: 'feedback.assign',
      roles: STAFF,
      params: z.object({ report: PATH_PARAMS.report }),
      body: assignRequest,
      answers: { 200: { description: 'the review record with its decision, and the tenant\'s new record', schema: z.object({ review: feedbackRecordView, record: feedbackRecordView.nullable() }) } },
      handle: async (ctx) => {
        const { tenant, reason } = ctx.body;
        ctx.note.reason = reason;
        ctx.note.detail = { report: ctx.params.report!, assignedTo: tenant };
        if (!(await store.getTenant(tenant))) throw new HttpError('INVALID_INPUT', `no tenant ${tenant}`, [{ field: 'tenant', message: 'no such tenant' }]);
        const done = await deps.intake.assign(ctx.params.report!, tenant, { reason, by: actorOf(ctx.token) });
        if (!done) throw new HttpError('NOT_FOUND', `no report ${ctx.params.report} in the review queue`);
        if (!done.resolved) throw alreadyDecided(done.review);
        if (done.record) ctx.note.detail.record = done.record.id;
        return { status: 200, body: { review: feedbackJson(done.review), record: done.record ? feedbackJson(done.record) : null } };
      },
    }),
    route({
      method: 'POST',
      url: '/feedback/:report/dismiss',
      operationId: 'dismissReport',
      tags: ['feedback'],
      summary: 'Dismiss a report of the review queue, with a reason (operator, abuse-desk); it stays, with the decision',
      action: 'feedback.dismiss',
      roles: STAFF,
      params: z.object({ report: PATH_PARAMS.report }),
      body: dismissRequest,
      answers: { 200: { description: 'the review record with its decision', schema: feedbackRecordView } },
      handle: async (ctx) => {
        ctx.note.reason = ctx.body.reason;
        ctx.note.detail = { report: ctx.params.report! };
        const done = await store.resolveReviewReport(ctx.params.report!, { action: 'dismissed', reason: ctx.body.reason, by: actorOf(ctx.token), at: deps.now() });
        if (!done) throw new HttpError('NOT_FOUND', `no report ${ctx.params.report} in the review queue`);
        if (!done.resolved) throw alreadyDecided(done.record);
        return { status: 200, body: feedbackJson(done.record) };
      },
    }),
    route({
      method: 'GET',
      url: '/feedback',
      operationId: 'listReports',
      tags: ['feedback'],
      summary: 'Recorded reports of one tenant, or of the review queue (operator, abuse-desk)',
      action: 'feedback.list',
      roles: STAFF,
      querystring: z
        .object({
          tenant: z.string().optional(),
          review: flag('the review queue: reports that could not be attributed'),
          open: flag('with review=true: only the reports not yet assigned or dismissed'),
          limit: limit(100, 1000),
          before: reportCursor,
        })
        .refine((q) => q.tenant !== undefined || q.review, { message: 'required unless review=true', path: ['tenant'] }),
      answers: { 200: { description: 'a page of reports, newest first', schema: page({ reports: z.array(feedbackRecordView) }) } },
      handle: async (ctx) => {
        const reports = await reportsPage(store, ctx.query.tenant ?? REVIEW, ctx.query);
        return { status: 200, body: { reports: reports.list.map((r) => feedbackJson(r)), next: reports.next } };
      },
    }),
  ];
}

/** the error answers of every route, with the catalog's statuses */
export const ERROR_ANSWERS: Readonly<Record<number, Answer>> = {
  400: { description: 'Invalid input; nothing was changed. problems names each field.', schema: errorView },
  401: { description: 'Missing, invalid, revoked or expired token.', schema: errorView },
  403: { description: 'The token\'s role may not do this.', schema: errorView },
  404: { description: 'No such tenant or resource (also: another tenant\'s, for a tenant token).', schema: errorView },
  413: { description: 'The body is too large.', schema: errorView },
  503: { description: 'The store did not answer, or is not the store this relay knows; nothing was changed.', schema: errorView },
};

function alreadyDecided(r: FeedbackRecord): HttpError {
  return new HttpError('ALREADY_DECIDED', decisionText(r));
}

/** the page of `all` after the item whose key is `after`, at most `limit`, as `{ [name]: items, next }` */
function pageAfter<T, V>(all: readonly T[], q: { limit: number; after?: string | undefined }, key: (t: T) => string, view: (t: T) => V, name: string): Record<string, unknown> {
  const at = q.after === undefined ? -1 : all.findIndex((t) => key(t) === q.after);
  if (q.after !== undefined && at < 0) throw new HttpError('INVALID_INPUT', 'after must be the next cursor of an earlier page', [{ field: 'after', message: 'not a next cursor of an earlier answer' }]);
  const start = at + 1;
  const items = all.slice(start, start + q.limit);
  return { [name]: items.map(view), next: start + q.limit < all.length ? key(items.at(-1)!) : null };
}

/** an SMTP password made by the relay: shown once in the answer, kept only as its scrypt hash */
async function newPassword(): Promise<{ password: string; hash: string }> {
  const password = randomBytes(24).toString('base64url');
  return { password, hash: await hashPassword(password) };
}

export function actorOf(token: ApiToken): string {
  return `token:${token.id}${token.name ? ` (${token.name})` : ''}`;
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
