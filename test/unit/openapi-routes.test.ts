// The OpenAPI document and the route table cannot drift apart: every route the admin API
// answers is described, with its method, and every described operation is a route.
import { describe, expect, it } from 'vitest';
import { adminRoutes, type AdminApiDeps } from '../../src/admin/http.js';
import { openApiDocument } from '../../src/admin/openapi.js';

// the handlers are never called here: only the table's paths and methods are read
const routes = adminRoutes({ admin: {}, store: {}, rates: { minVolume: 0, windowsHours: [] } } as unknown as AdminApiDeps);
const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
/** a documented operation, its path parameters filled in as a client would */
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.keys(item)
    .filter((k) => ['get', 'post', 'patch', 'put', 'delete'].includes(k))
    .map((method) => ({ method: method.toUpperCase(), path, url: `/api/v1${path.replace('{tenant}', 'acme').replace('{report}', 'FMABC12345').replace('{id}', path.startsWith('/tokens') ? '0123456789' : 'S0123456789')}` })),
);

describe('OpenAPI document and routes', () => {
  it('every route is described, with its method', () => {
    expect(routes.length).toBeGreaterThan(20);
    const undocumented = routes.filter((r) => !operations.some((o) => o.method === r.method && r.pattern.test(o.url)));
    expect(undocumented.map((r) => `${r.method} ${r.pattern.source}`)).toEqual([]);
  });

  it('every described operation is a route', () => {
    const unrouted = operations.filter((o) => o.path !== '/openapi.json' && !routes.some((r) => r.method === o.method && r.pattern.test(o.url)));
    expect(unrouted.map((o) => `${o.method} ${o.path}`)).toEqual([]);
  });
});
