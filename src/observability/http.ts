// The operators' HTTP endpoint: /metrics for Prometheus, /healthz for liveness probes,
// /readyz for readiness (store answering, upstream reachable, not shutting down).
import { createServer, type Server } from 'node:http';
import type { Readiness } from './readiness.js';
import { listenHttp, type RunningHttpServer } from './listen.js';

export type ObservabilityServer = RunningHttpServer;

/** what /metrics serves: one registry's metrics, or the sum over the workers of a host */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export async function listenObservability(host: string, port: number, metrics: MetricsSource, readiness?: Readiness): Promise<ObservabilityServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'method not allowed' }));
      return;
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(err as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz' && readiness) {
      readiness.check().then(
        (r) => res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: r.ready ? 'ready' : 'not ready', ...r })),
        () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"not ready"}'),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found', paths: ['/metrics', '/healthz', '/readyz'] }));
  });
  return listenHttp(server, host, port, 'metrics.port');
}
