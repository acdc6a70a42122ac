// The reference header: only mailwarden can make one that verifies, for one tenant.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MasterKey } from '../../src/crypto/keys.js';
import { referenceHeader, verifyReference } from '../../src/feedback/reference.js';
import { parseFieldGroups } from '../../src/feedback/fields.js';

const master = MasterKey.fromBase64(randomBytes(32).toString('base64'));
const keys = new Map([
  ['acme', master.newTenantKey('acme').key],
  ['globex', master.newTenantKey('globex').key],
]);
const keyOf = (t: string) => keys.get(t) ?? null;

function valueOf(header: string): string {
  return parseFieldGroups(header)[0]!.get('x-mailwarden-ref')![0]!.replace(/\s+/g, '');
}

describe('reference header', () => {
  const ref = { tenant: 'acme', messageRef: 'abc123.1', sentAt: 1_763_700_000_000, senderDomain: 'acme.test', recipients: ['bob@example.org', 'Carol@EXAMPLE.net'] };

  it('verifies with the tenant key and gives back the message and its recipients', () => {
    const header = referenceHeader(keys.get('acme')!, ref);
    expect(header).toMatch(/^X-Mailwarden-Ref: 1\.acme\./);
    // the token is base64url: it cannot hold an address in clear
    expect(header).not.toContain('@');
    expect(header).not.toMatch(/example\.(org|net)/i);
    expect(verifyReference(valueOf(header), keyOf)).toEqual({ status: 'verified', reference: ref });
  });

  it('refuses a changed byte, another tenant name, an unknown tenant and junk', () => {
    const value = valueOf(referenceHeader(keys.get('acme')!, ref));
    const flipped = value.slice(0, -5) + (value.at(-5) === 'A' ? 'B' : 'A') + value.slice(-4);
    expect(verifyReference(flipped, keyOf).status).toBe('forged');
    expect(verifyReference(value.replace('1.acme.', '1.globex.'), keyOf)).toEqual({ status: 'forged', tenant: 'globex' });
    expect(verifyReference(value.replace('1.acme.', '1.initech.'), keyOf)).toEqual({ status: 'unknown-tenant', tenant: 'initech' });
    expect(verifyReference('hello', keyOf).status).toBe('malformed');
    // made with another tenant's key
    const other = valueOf(referenceHeader(keys.get('globex')!, { ...ref, tenant: 'acme' }));
    expect(verifyReference(other, keyOf).status).toBe('forged');
  });

  it('leaves the recipients out when there are too many to carry, and keeps lines short', () => {
    const many = Array.from({ length: 200 }, (_, i) => `recipient${i}@example.org`);
    const header = referenceHeader(keys.get('acme')!, { ...ref, recipients: many });
    for (const line of header.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    const check = verifyReference(valueOf(header), keyOf);
    expect(check).toMatchObject({ status: 'verified', reference: { messageRef: 'abc123.1', recipients: null } });
  });
});
