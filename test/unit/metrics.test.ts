// Tenant labels are capped and every tenant series starts at 0; suspensions and thresholds
// are gauges a dashboard can compare rates against; a scrape with 1,000 tenants stays whole.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import type { Suspension } from '../../src/domain/policy.js';
import { sample } from '../helpers/metrics.js';

describe('metrics', () => {
  it('keeps the first tenants\' ids as labels and counts the rest as "_other"', async () => {
    const m = new Metrics({ defaultMetrics: false, tenantLabelLimit: 2 });
    const events = m.frontEvents();
    for (const t of ['acme', 'globex', 'initech', 'acme', 'umbrella']) events.tenantMessage(t, 3);
    events.tenantMessage('initech', 0);
    const text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'acme', outcome: 'relayed' })).toBe(2);
    expect(sample(text, 'mailwarden_tenant_deliveries_total', { tenant: 'acme' })).toBe(6);
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'globex', outcome: 'relayed' })).toBe(1);
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: '_other', outcome: 'relayed' })).toBe(2);
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: '_other', outcome: 'refused' })).toBe(1);
    expect(sample(text, 'mailwarden_tenant_deliveries_total', { tenant: '_other' })).toBe(6);
    expect(text).not.toContain('initech');
    expect(text).not.toContain('umbrella');
  });

  it('creates every series of a tenant at 0 when the tenant is first seen', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.frontEvents().tenantMessage('acme', 0);
    const text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'acme', outcome: 'relayed' })).toBe(0);
    expect(sample(text, 'mailwarden_tenant_deliveries_total', { tenant: 'acme' })).toBe(0);
    expect(sample(text, 'mailwarden_tenant_complaints_total', { tenant: 'acme' })).toBe(0);
    expect(sample(text, 'mailwarden_tenant_hard_bounces_total', { tenant: 'acme' })).toBe(0);
  });

  it('counts active suspensions by scope and source, and per tenant, replacing the last figures', async () => {
    const m = new Metrics({ defaultMetrics: false, tenantLabelLimit: 1 });
    const s = (tenant: string, scope: Suspension['scope'], source: Suspension['source']) => ({ tenant, scope, source });
    m.setSuspensions([s('acme', 'tenant', 'automatic'), s('acme', 'domain', 'manual'), s('globex', 'domain', 'manual')]);
    let text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_suspensions_active', { scope: 'tenant', source: 'automatic' })).toBe(1);
    expect(sample(text, 'mailwarden_suspensions_active', { scope: 'domain', source: 'manual' })).toBe(2);
    expect(sample(text, 'mailwarden_suspensions_active', { scope: 'sender', source: 'manual' })).toBe(0);
    expect(sample(text, 'mailwarden_tenant_suspensions_active', { tenant: 'acme' })).toBe(2);
    expect(sample(text, 'mailwarden_tenant_suspensions_active', { tenant: '_other' })).toBe(1);
    m.setSuspensions([s('acme', 'domain', 'manual')]);
    text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_suspensions_active', { scope: 'tenant', source: 'automatic' })).toBe(0);
    expect(sample(text, 'mailwarden_tenant_suspensions_active', { tenant: 'acme' })).toBe(1);
    expect(sample(text, 'mailwarden_tenant_suspensions_active', { tenant: '_other' })).toBeUndefined();
  });

  it('serves the configured thresholds', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.setThresholds({ minVolume: 500, complaints: { warn: 0.001, suspend: 0.003 }, hardBounces: { warn: 0.05, suspend: 0.1 } });
    const text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_feedback_threshold_ratio', { metric: 'complaints', action: 'suspend' })).toBe(0.003);
    expect(sample(text, 'mailwarden_feedback_threshold_ratio', { metric: 'hardBounces', action: 'warn' })).toBe(0.05);
    expect(sample(text, 'mailwarden_feedback_min_volume')).toBe(500);
  });

  it('observes upstream timings by phase, with no tenant label', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const t = m.upstreamTimings();
    t.connected(0.003);
    t.finalReply(0.2);
    t.transaction(0.3);
    const text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_upstream_duration_seconds_count', { phase: 'connect' })).toBe(1);
    expect(sample(text, 'mailwarden_upstream_duration_seconds_bucket', { phase: 'final_reply', le: '0.1' })).toBe(0);
    expect(sample(text, 'mailwarden_upstream_duration_seconds_bucket', { phase: 'final_reply', le: '0.25' })).toBe(1);
    expect(sample(text, 'mailwarden_upstream_duration_seconds_sum', { phase: 'transaction' })).toBeCloseTo(0.3);
    expect(text.split('\n').filter((l) => /^mailwarden_\w+_bucket\{/.test(l) && l.includes('tenant='))).toEqual([]);
  });

  it('a registry with 1,000 tenants\' series is served whole', async () => {
    const m = new Metrics({ defaultMetrics: true });
    const events = m.frontEvents();
    for (let i = 0; i < 1000; i++) {
      events.tenantMessage(`tenant-${i}`, 1);
      events.tenantMessage(`tenant-${i}`, 0);
    }
    const text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'tenant-999', outcome: 'refused' })).toBe(1);
    expect(text.split('\n').filter((l) => l.startsWith('mailwarden_tenant_messages_total{')).length).toBe(2000);
  });
});
