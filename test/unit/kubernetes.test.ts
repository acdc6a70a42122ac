// The Kubernetes manifests: the fields Kubernetes requires, and ports, probes and config
// keys that match mailwarden's own.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';

type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string>; stringData?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const docs = parseAllDocuments(readFileSync(join(import.meta.dirname, '../../deploy/kubernetes/mailwarden.yaml'), 'utf8')).map((d) => d.toJS() as Doc);
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

describe('Kubernetes manifests', () => {
  it('every object has apiVersion, kind and a DNS-1123 name', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'PodDisruptionBudget', 'PrometheusRule', 'Secret', 'Secret', 'Service', 'Service', 'ServiceMonitor', 'StatefulSet']);
    for (const d of docs) {
      expect(d.apiVersion).toMatch(/^([a-z0-9.]+\/)?v1$/);
      expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('the ConfigMap holds a configuration mailwarden accepts, listening where the pods expose', () => {
    const text = byKind('ConfigMap')[0]!.data!['config.yaml']!;
    const parsed = configSchema.safeParse(parseAllDocuments(text)[0]!.toJS());
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues)).toBe(true);
    const config = parsed.data!;
    const container = byKind('StatefulSet')[0]!.spec.template.spec.containers[0];
    const ports = Object.fromEntries(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
    expect(ports).toEqual({ smtp: config.smtp.port, feedback: config.feedback.port, admin: config.admin.port, metrics: config.metrics.port });
    for (const listener of [config.smtp.host, config.feedback.host, config.admin.host, config.metrics.host]) expect(listener).toBe('0.0.0.0');
    expect(config.keys.generateMasterKey).toBe(false);
    expect(config.store.kind).toBe('redis');
  });

  it('the StatefulSet: selector matches its pods, probes use /healthz and /readyz, a grace period longer than the drain', () => {
    const d = byKind('StatefulSet')[0]!;
    const spec = d.spec.template.spec;
    expect(d.spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);
    const c = spec.containers[0];
    expect(c.image).toMatch(/:/);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    const config = configSchema.parse(parseAllDocuments(byKind('ConfigMap')[0]!.data!['config.yaml']!)[0]!.toJS());
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.smtp.shutdownGraceMs + config.upstream.timeouts.finalReplyMs);
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(c.envFrom[0].secretRef.name).toBe(byKind('Secret')[0]!.metadata.name);
    expect(Object.keys(byKind('Secret')[0]!.stringData!)).toContain('MAILWARDEN_MASTER_KEY');
    const volumes = new Set([...spec.volumes, ...d.spec.volumeClaimTemplates.map((t: { metadata: { name: string } }) => t.metadata)].map((v: { name: string }) => v.name));
    for (const m of c.volumeMounts) expect(volumes).toContain(m.name);
  });

  it('every Secret the pods mount or read is defined here, and the database password is among them', () => {
    const spec = byKind('StatefulSet')[0]!.spec.template.spec;
    const used = [
      ...spec.containers.flatMap((c: { envFrom?: Array<{ secretRef?: { name: string } }> }) => (c.envFrom ?? []).map((e) => e.secretRef?.name)),
      ...spec.volumes.map((v: { secret?: { secretName: string } }) => v.secret?.secretName),
    ].filter(Boolean);
    expect(used).toEqual(expect.arrayContaining(['mailwarden-secrets', 'mailwarden-tls']));
    const defined = byKind('Secret').map((s) => s.metadata.name);
    for (const name of used) expect(defined).toContain(name);
    expect(Object.keys(byKind('Secret').find((s) => s.metadata.name === 'mailwarden-tls')!.stringData!)).toEqual(['tls.crt', 'tls.key']);
    expect(Object.keys(byKind('Secret').find((s) => s.metadata.name === 'mailwarden-secrets')!.stringData!)).toContain('PGPASSWORD');
  });

  it('accounting records go to PostgreSQL; each pod keeps its journal on its own volume, not one shared by pod name', () => {
    const config = configSchema.parse(parseAllDocuments(byKind('ConfigMap')[0]!.data!['config.yaml']!)[0]!.toJS());
    expect(config.accounting.kind).toBe('postgres');
    const set = byKind('StatefulSet')[0]!;
    const mount = set.spec.template.spec.containers[0].volumeMounts.find((m: { mountPath: string }) => config.accounting.dir.startsWith(m.mountPath));
    expect(mount).toMatchObject({ name: 'data' });
    expect(mount.subPathExpr).toBeUndefined();
    expect(set.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  it('Services, the disruption budget and the ServiceMonitor point at the pods and their named ports', () => {
    const d = byKind('StatefulSet')[0]!;
    const podLabels = d.spec.template.metadata.labels;
    const portNames = new Set(d.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name));
    for (const s of byKind('Service')) {
      for (const [k, v] of Object.entries(s.spec.selector)) expect(podLabels[k]).toBe(v);
      for (const p of s.spec.ports) expect(portNames).toContain(p.targetPort);
    }
    expect(byKind('PodDisruptionBudget')[0]!.spec.selector.matchLabels).toEqual(podLabels);
    const monitor = byKind('ServiceMonitor')[0]!;
    const monitored = byKind('Service').find((s) => Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v))!;
    expect(monitored.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
  });

  it('the PrometheusRule holds exactly the rules of deploy/prometheus', () => {
    const rules = parse(readFileSync(join(import.meta.dirname, '../../deploy/prometheus/rules/mailwarden.rules.yml'), 'utf8')) as { groups: unknown[] };
    expect(byKind('PrometheusRule')[0]!.spec.groups).toEqual(rules.groups);
    expect(rules.groups.length).toBeGreaterThan(1);
  });
});

describe('compose stack', () => {
  it('mounts a configuration mailwarden accepts, with the scrape targets Prometheus is given', () => {
    const config = configSchema.safeParse(parseAllDocuments(readFileSync(join(import.meta.dirname, '../../deploy/compose/config.yaml'), 'utf8'))[0]!.toJS());
    expect(config.success, config.success ? '' : JSON.stringify(config.error.issues)).toBe(true);
    const compose = parseAllDocuments(readFileSync(join(import.meta.dirname, '../../deploy/compose/docker-compose.yml'), 'utf8'))[0]!.toJS() as { services: Record<string, unknown> };
    const scrape = readFileSync(join(import.meta.dirname, '../../deploy/prometheus/prometheus.yml'), 'utf8');
    for (const target of ['mailwarden-1', 'mailwarden-2']) {
      expect(Object.keys(compose.services)).toContain(target);
      expect(scrape).toContain(`${target}:${config.data!.metrics.port}`);
    }
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'postgres', 'upstream', 'prometheus', 'grafana']));
    // the replicas share their accounting records through the stack's PostgreSQL
    expect(config.data!.accounting).toMatchObject({ kind: 'postgres', postgres: { url: expect.stringMatching(/^postgres:\/\/\w+@postgres:5432\//) } });
  });

  it('publishes each admin API to localhost, keeps each replica\'s data on a named volume, waits for a healthy Redis and PostgreSQL, and gives the drain its time', () => {
    const out = execFileSync('docker-compose', ['-f', join(import.meta.dirname, '../../deploy/compose/docker-compose.yml'), 'config'], { encoding: 'utf8', env: { ...process.env, MAILWARDEN_MASTER_KEY: 'a-test-value' } });
    const resolved = parseAllDocuments(out)[0]!.toJS() as { services: Record<string, any>; volumes: Record<string, unknown> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const config = configSchema.parse(parseAllDocuments(readFileSync(join(import.meta.dirname, '../../deploy/compose/config.yaml'), 'utf8'))[0]!.toJS());
    for (const name of ['mailwarden-1', 'mailwarden-2']) {
      const service = resolved.services[name];
      const ports = JSON.stringify(service.ports);
      expect(ports).toContain('127.0.0.1');
      expect(ports).toContain(String(config.admin.port));
      // docker-compose 1.x writes volumes as "source:target:mode"
      const data = (service.volumes as string[]).map((v) => v.split(':')).find((v) => v[1] === '/var/lib/mailwarden');
      expect(Object.keys(resolved.volumes)).toContain(data?.[0]);
      expect(service.depends_on.redis.condition).toBe('service_healthy');
      expect(service.depends_on.postgres.condition).toBe('service_healthy');
      expect(service.environment.PGPASSWORD).toBe(resolved.services.postgres.environment.POSTGRES_PASSWORD);
      expect(parseDuration(service.stop_grace_period)).toBeGreaterThan(config.smtp.shutdownGraceMs + config.upstream.timeouts.finalReplyMs);
    }
    expect(resolved.services.redis.healthcheck.test).toContain('ping');
  });

  it('docker-compose accepts the compose file (Debian package docker-compose)', () => {
    const out = execFileSync('docker-compose', ['-f', join(import.meta.dirname, '../../deploy/compose/docker-compose.yml'), 'config'], {
      encoding: 'utf8',
      env: { ...process.env, MAILWARDEN_MASTER_KEY: 'a-test-value' },
    });
    expect(out).toMatch(/^services:/m);
    expect(out).toContain('mailwarden-2:');
    // without the master key it refuses to start anything
    expect(() => execFileSync('docker-compose', ['-f', join(import.meta.dirname, '../../deploy/compose/docker-compose.yml'), 'config'], { encoding: 'utf8', stdio: 'pipe', env: { PATH: process.env.PATH } })).toThrow(/MAILWARDEN_MASTER_KEY/);
  });
});

describe('container image', () => {
  const root = join(import.meta.dirname, '../..');
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('runs as a non-root user with a health check, from a build stage', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER mailwarden$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\/healthz/m);
  });

  it('keeps what the relay imports: every package under src/ is a production dependency, so `npm prune --omit=dev` leaves it', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const sources = execFileSync('grep', ['-rhoE', `from '[^./][^']*'|import\\('[^./][^']*'\\)`, join(root, 'src')], { encoding: 'utf8' });
    const packages = new Set([...sources.matchAll(/'([^']+)'/g)].map((m) => /^(@[^/]+\/[^/]+|[^/]+)/.exec(m[1]!)![1]!).filter((p) => !p.startsWith('node:')));
    expect(packages.size).toBeGreaterThan(10);
    expect([...packages].filter((p) => !(p in pkg.dependencies))).toEqual([]);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });

  it('copies the files the relay reads at run time: dist (with the Lua scripts) and config (the bundled feedback rules)', () => {
    expect(dockerfile).toMatch(/^COPY --from=build .*\/app\/dist \.\/dist$/m);
    expect(dockerfile).toMatch(/^COPY .*config \.\/config$/m);
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.build).toContain('lua dist/');
  });
});

/** "2m45s" or "165s" as docker-compose writes durations, in ms */
function parseDuration(text: string): number {
  let ms = 0;
  for (const [, n, unit] of String(text).matchAll(/(\d+)(h|m|s)/g)) ms += Number(n) * { h: 3_600_000, m: 60_000, s: 1000 }[unit as 'h' | 'm' | 's'];
  return ms;
}
