// The admin HTTP API (default port 8025, /api/v1) on fastify: the abuse desk's and the
// operators' view of tenants, suspensions with their evidence, suppression lists and
// feedback reports, and tenants' own view of theirs. Every request needs a bearer token; its
// role decides what it may do (routes.ts says which); a tenant token sees only its own
// tenant (another tenant's resources answer 404, as if they did not exist). Bad input gets
// 400 naming the field and changes nothing. Every request, allowed or not, goes to the audit
// log. The same listener serves the web console under /console/ and the OpenAPI document,
// generated from the route definitions, at /api/v1/openapi.json.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Store } from '../store/ports.js';
import { StoreUnavailableError } from '../store/ports.js';
import { OffboardError } from '../tenants/offboard.js';
import type { FeedbackIntake } from '../feedback/intake.js';
import type { AuditLog, AuditEntry } from './audit.js';
import { AdminError, type AdminService } from './service.js';
import { checkToken, type ApiToken } from './tokens.js';
import type { Config } from '../config/schema.js';
import { problemsOf } from './schemas.js';
import type { AccountingStore } from '../accounting/port.js';
import { openApiOptions } from './openapi.js';
import { consoleDir, consoleFile } from './console.js';
import { listenHttp, type RunningHttpServer } from '../observability/listen.js';
import { actorOf, adminRoutes, HttpError, paramsOf, type Ctx, type Route } from './routes.js';

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
  /** non-null while the store is not the one this relay knows (lost, replaced): every request is refused with it */
  readonly storeLost?: () => string | null;
}

const API = '/api/v1';
/** a JSON body's limit; a report's is feedback.maxMessageBytes */
const JSON_LIMIT = 1024 * 1024;

/** what one API request has come to, for its audit line */
interface Exchange {
  readonly route: Route;
  who?: { actor: string; role: string };
  token?: ApiToken;
  tenant: string | null;
  note: Ctx<unknown, unknown>['note'];
  /** the error it was answered with */
  error?: HttpError;
  /** its audit line is written (an early refusal writes its own) */
  audited: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    exchange: Exchange | null;
  }
  interface FastifyContextConfig {
    /** the definition of an API route: its roles, action and handler, and its documentation */
    def?: Route;
  }
}

/** A route's path as a pattern of concrete paths, for telling 405 from 404. */
function pathPattern(url: string): RegExp {
  return new RegExp(`^${url.replace(/:[a-z]+/g, '[^/]+')}$`);
}

/** The admin API as a fastify application, ready to `inject()` or to listen. */
export async function adminApp(deps: AdminApiDeps): Promise<FastifyInstance> {
  const routes = adminRoutes(deps);
  const consoleRoot = consoleDir();
  const app = Fastify({
    logger: false,
    bodyLimit: JSON_LIMIT,
    genReqId: () => randomUUID(),
    exposeHeadRoutes: false,
    serverFactory: (handler) => createServer(handler),
  });
  // bodies are read as bytes: JSON for the JSON routes (whatever the content type says), a report as it came
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // zod validates bodies, query strings and path parameters; a refusal names every field
  app.setValidatorCompiler(({ schema }) => (data: unknown) => {
    const result = (schema as z.ZodType).safeParse(data);
    if (result.success) return { value: result.data };
    const problems = problemsOf(result.error);
    return { error: new HttpError('INVALID_INPUT', `invalid request: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems) };
  });
  app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));
  app.decorateRequest('exchange', null);
  await app.register(fastifySwagger, openApiOptions());

  const audit = (request: FastifyRequest, entry: Omit<AuditEntry, 'requestId' | 'via' | 'action'>) => {
    request.exchange!.audited = true;
    return deps.audit.record({ ...entry, action: request.exchange!.route.action, requestId: request.id, via: 'http' }, deps.now());
  };
  const fail = (reply: FastifyReply, e: HttpError) => {
    if (reply.request.exchange) reply.request.exchange.error = e;
    return reply
      .code(e.status)
      .type('application/json')
      .send({ error: { code: e.code, message: e.message, ...(e.problems ? { problems: e.problems } : {}) }, requestId: reply.request.id });
  };

  /** before the body is read: a lost store, the token, the tenant, the role; each refusal is audited */
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const route = request.routeOptions.config.def!;
    const params = request.params as Record<string, string>;
    const tenant = params.tenant ?? null;
    const exchange: Exchange = { route, tenant, note: {}, audited: false };
    request.exchange = exchange;
    // a path whose parameters are not of their form names nothing there is
    const paramsSchema = request.routeOptions.schema?.params as z.ZodType | undefined;
    if (paramsSchema && !paramsSchema.safeParse(params).success) {
      exchange.audited = true;
      return fail(reply, new HttpError('NOT_FOUND', `no such resource: ${request.url.split('?')[0]}`));
    }
    // a lost store's tokens, tenants and lists are no answer, and nothing is written into it
    const lost = deps.storeLost?.() ?? null;
    if (lost !== null) {
      await audit(request, { actor: 'anonymous', role: 'none', ...(tenant ? { tenant } : {}), outcome: 'error', detail: { why: 'STORE_LOST' } });
      return fail(reply, new HttpError('STORE_LOST', lost));
    }
    const check = await checkToken(request.headers.authorization, deps.store, deps.now());
    if (!check.ok) {
      await audit(request, { actor: 'anonymous', role: 'none', ...(tenant ? { tenant } : {}), outcome: 'denied', detail: { why: `token ${check.why}` } });
      reply.header('www-authenticate', 'Bearer realm="mailwarden"');
      return fail(reply, new HttpError('UNAUTHENTICATED', check.why === 'missing' ? 'a bearer token is required' : `the token is ${check.why === 'unknown' || check.why === 'malformed' ? 'not valid' : check.why}`));
    }
    const token = check.token;
    exchange.token = token;
    exchange.who = { actor: actorOf(token), role: token.role };
    // a tenant token sees nothing of other tenants, not even whether they exist
    if (tenant !== null && ((token.role === 'tenant' && token.tenant !== tenant) || !(await deps.store.getTenant(tenant)))) {
      await audit(request, { ...exchange.who, tenant, outcome: token.role === 'tenant' && token.tenant !== tenant ? 'denied' : 'not-found', detail: { why: 'no such tenant for this token' } });
      return fail(reply, new HttpError('NOT_FOUND', `no tenant ${tenant}`));
    }
    if (!route.roles.includes(token.role)) {
      await audit(request, { ...exchange.who, ...(tenant ? { tenant } : {}), outcome: 'denied', detail: { why: `role ${token.role} may not ${route.action}` } });
      return fail(reply, new HttpError('FORBIDDEN', `a ${token.role} token may not do ${route.action}`));
    }
  }

  /** a JSON route's body, from its bytes: none is {}; what is not JSON is refused */
  async function jsonBody(request: FastifyRequest): Promise<void> {
    const raw = request.body as Buffer | undefined;
    if (raw === undefined || raw.length === 0) {
      request.body = {};
      return;
    }
    try {
      request.body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError('INVALID_INPUT', 'the body is not JSON', [{ field: '(body)', message: 'not valid JSON' }]);
    }
  }

  for (const route of routes) {
    app.route({
      method: route.method,
      url: `${API}${route.url}`,
      config: { def: route },
      bodyLimit: route.raw ? route.raw.limit(deps) : JSON_LIMIT,
      schema: {
        ...(paramsOf(route) ? { params: paramsOf(route)! } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.body ? { body: route.body } : {}),
      },
      onRequest: admit,
      ...(route.raw ? {} : { preValidation: jsonBody }),
      handler: async (request, reply) => {
        const exchange = request.exchange!;
        const ctx: Ctx<unknown, unknown> = {
          token: exchange.token!,
          tenant: exchange.tenant,
          params: request.params as Record<string, string>,
          query: request.query,
          body: request.body,
          requestId: request.id,
          note: exchange.note,
        };
        const answer = await route.handle(ctx);
        reply.code(answer.status).headers(answer.headers ?? {});
        if (answer.contentType) return reply.type(answer.contentType).serializer((x: unknown) => x as string).send(answer.body);
        return reply.type('application/json').send(answer.body);
      },
    });
  }

  app.get(`${API}/openapi.json`, { schema: { hide: true } }, async (_request, reply) => reply.type('application/json').send(app.swagger()));

  // the console: its files, and / leading to it
  const patterns = routes.map((r) => ({ method: r.method, pattern: pathPattern(`${API}${r.url}`) }));
  for (const url of ['/', '/console']) {
    app.route({
      method: ['GET', 'HEAD'],
      url,
      schema: { hide: true },
      handler: async (_request, reply) => reply.code(308).header('location', '/console/').send(),
    });
  }
  app.route({
    method: ['GET', 'HEAD'],
    url: '/console/*',
    schema: { hide: true },
    handler: async (request, reply) => {
      const file = consoleRoot ? await consoleFile(consoleRoot, request.url.split('?')[0]!) : null;
      if (!file) return fail(reply, new HttpError('NOT_FOUND', consoleRoot ? `no such file: ${request.url.split('?')[0]}` : 'the console is not built (npm run build)'));
      reply.code(200).headers(file.headers);
      return reply.send(request.method === 'HEAD' ? undefined : file.body);
    },
  });

  // a path the API has with another method: 405 naming the methods; none: 404
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = patterns.filter((p) => p.pattern.test(path)).map((p) => p.method);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return fail(reply, new HttpError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here`));
    }
    return fail(reply, new HttpError('NOT_FOUND', `no such resource: ${path}`));
  });

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const e = toHttpError(err, request);
    if (e.status >= 500) deps.log.warn({ requestId: request.id, action: request.exchange?.route.action, err: err.message }, 'admin API request failed');
    return fail(reply, e);
  });

  // every answer: its request id, never cached; an API request's audit line is written before it goes out
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    if (!request.url.startsWith('/console/')) reply.header('cache-control', 'no-store');
    const exchange = request.exchange;
    if (exchange && !exchange.audited && exchange.who) {
      const e = exchange.error;
      const { note, tenant, who } = exchange;
      await audit(request, {
        ...who,
        ...(tenant ? { tenant } : {}),
        outcome: e ? (e.status === 404 ? 'not-found' : e.status >= 500 ? 'error' : 'invalid') : 'ok',
        ...(note.reason ? { reason: note.reason } : {}),
        ...(e ? { detail: { status: e.status, code: e.code } } : note.detail ? { detail: note.detail } : {}),
      });
    }
    return payload;
  });

  await app.ready();
  return app;
}

export type AdminApiServer = RunningHttpServer;

export async function listenAdminApi(host: string, port: number, deps: AdminApiDeps): Promise<AdminApiServer> {
  const app = await adminApp(deps);
  const running = await listenHttp(app.server, host, port, 'admin.port');
  return {
    address: running.address,
    close: async () => {
      await running.close();
      await app.close();
    },
  };
}

function toHttpError(err: FastifyError | Error, request: FastifyRequest): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new HttpError('TOO_LARGE', `the body is larger than ${request.routeOptions.bodyLimit ?? JSON_LIMIT} bytes`);
  if (err instanceof AdminError) {
    if (err.code === 'NOT_FOUND') return new HttpError('NOT_FOUND', err.message);
    return new HttpError('INVALID_INPUT', err.message, err.problems.length ? err.problems.map((p) => ({ field: fieldOf(p), message: p })) : undefined);
  }
  if (err instanceof StoreUnavailableError) return new HttpError('UNAVAILABLE', 'the store did not answer; nothing was changed, try again');
  // says how far it got and why: paths and the tenant id, never an address
  if (err instanceof OffboardError) return new HttpError('OFFBOARD_FAILED', err.message);
  return new HttpError('INTERNAL', 'internal error');
}

/** the field a service problem names: "entry 2: …" is entries.1, "value: …" is value */
function fieldOf(problem: string): string {
  const entry = /^entry (\d+):/.exec(problem);
  if (entry) return `entries.${Number(entry[1]) - 1}`;
  return /^([A-Za-z][\w.]*): /.exec(problem)?.[1] ?? '(body)';
}
