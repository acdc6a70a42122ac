// The OpenAPI document is generated from the route definitions: it is valid OpenAPI 3.1,
// every route is in it with an operationId, tags and its error answers, and every operation
// it describes is a route of the application (asked in process with inject()).
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { adminApp, type AdminApiDeps } from '../../src/admin/http.js';
import { adminRoutes } from '../../src/admin/routes.js';

// the handlers are never reached here: without a token every operation stops at 401
const deps = {
  admin: {},
  store: { getApiToken: async () => null },
  audit: { record: async () => undefined },
  log: { warn: () => undefined },
  now: Date.now,
  maxReportBytes: 1024,
  rates: { minVolume: 1, windowsHours: [24], complaints: { warn: 0.001, suspend: 0.003 }, hardBounces: { warn: 0.05, suspend: 0.1 } },
} as unknown as AdminApiDeps;

type Operation = { operationId?: string; tags?: string[]; summary?: string; responses: Record<string, unknown>; requestBody?: { content: Record<string, { schema: unknown }> }; parameters?: Array<{ name: string; in: string }> };

describe('OpenAPI document generated from the routes', () => {
  let app: FastifyInstance;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
  beforeAll(async () => {
    app = await adminApp(deps);
    doc = JSON.parse((await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).body) as typeof doc;
  });
  afterAll(() => app.close());

  /** every described operation, its path parameters filled in as a client would */
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        op,
        url: `/api/v1${path.replace('{tenant}', 'acme').replace('{report}', 'FMABC12345').replace('{id}', path.startsWith('/tokens') ? '0123456789' : 'S0123456789')}`,
      })),
    );

  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('has every route, each with a unique operationId, tags, a summary and the error answers', () => {
    const routes = adminRoutes(deps);
    expect(routes.length).toBeGreaterThan(25);
    const ops = operations();
    for (const r of routes) {
      const path = r.url.replace(/:([a-z]+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${path}`).toBeDefined();
      expect(op!.operationId).toBe(r.operationId);
      expect(op!.tags!.length).toBeGreaterThan(0);
      expect(op!.summary).toBeTruthy();
      for (const status of ['400', '401', '403', '404']) expect(Object.keys(op!.responses), `${r.operationId} ${status}`).toContain(status);
    }
    expect(ops).toHaveLength(routes.length);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents bodies, query parameters and examples from the zod schemas', () => {
    const suspend = doc.paths['/tenants/{tenant}/suspensions']!.post!;
    expect(suspend.requestBody!.content['application/json']!.schema).toEqual({ $ref: '#/components/schemas/SuspendRequest' });
    expect((doc.components.schemas.SuspendRequest as { examples: unknown[] }).examples).toHaveLength(1);
    const list = doc.paths['/tenants/{tenant}/suppressions']!.get!;
    expect(list.parameters!.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(['limit', 'after']);
    expect(list.parameters!.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(['tenant']);
    expect(Object.keys(doc.paths['/feedback']!.post!.requestBody!.content)).toEqual(['message/rfc822']);
  });

  it('every described operation is a route: it asks for a token, never answers 404 or 405', async () => {
    for (const { method, url } of operations()) {
      const res = await app.inject({ method: method as 'GET', url });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
      expect(res.json(), `${method} ${url}`).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
    // and what is not described is not there
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/tenants/acme' })).statusCode).toBe(405);
    expect((await app.inject({ method: 'GET', url: '/api/v1/nothing' })).statusCode).toBe(404);
  });
});
