// Tenant labels are capped; a scrape with 1,000 tenants' series stays cheap.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { sample } from '../helpers/metrics.js';

describe('metrics', () => {
  it('keeps the first tenants\' ids as labels and counts the rest as "_other"', async () => {
    const m = new Metrics({ defaultMetrics: false, tenantLabelLimit: 2 });
    const events = m.frontEvents();
    for (const t of ['acme', 'globex', 'initech', 'acme', 'umbrella']) events.tenantMessage(t, true);
    const text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'acme', outcome: 'relayed' })).toBe(2);
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'globex', outcome: 'relayed' })).toBe(1);
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: '_other', outcome: 'relayed' })).toBe(2);
    expect(text).not.toContain('initech');
  });

  it('a registry with 1,000 tenants\' series is served whole', async () => {
    const m = new Metrics({ defaultMetrics: true });
    const events = m.frontEvents();
    for (let i = 0; i < 1000; i++) {
      events.tenantMessage(`tenant-${i}`, true);
      events.tenantMessage(`tenant-${i}`, false);
    }
    const text = await m.registry.metrics();
    expect(sample(text, 'mailwarden_tenant_messages_total', { tenant: 'tenant-999', outcome: 'refused' })).toBe(1);
    expect(text.split('\n').filter((l) => l.startsWith('mailwarden_tenant_messages_total{')).length).toBe(2000);
  });
});
