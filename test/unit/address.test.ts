import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMailAddress, toAsciiDomain } from '../../src/domain/mailbox.js';
import { redactAddresses } from '../../src/smtp/address.js';
import { parseReply } from '../../src/forward/upstream.js';
import { senderDomainAllowed } from '../../src/policy/sender-domain.js';

describe('addresses', () => {
  it.each([
    ['alice@Example.COM', 'alice@example.com'],
    ['Alice.Smith+tag@example.com', 'Alice.Smith+tag@example.com'],
    ['jörg@bücher.example', 'jörg@xn--bcher-kva.example'],
    ['info@XN--BCHER-KVA.example', 'info@xn--bcher-kva.example'],
    ['x@[192.0.2.1]', 'x@[192.0.2.1]'],
  ])('%s → %s', (input, expected) => {
    expect(parseMailAddress(input)?.address).toBe(expected);
  });

  it.each(['no-at-sign', '@example.com', 'a@', 'a b@example.com', 'a@exa mple.com', 'a@-'.repeat(1) + '\x01'])('refuses %j', (input) => {
    expect(parseMailAddress(input)).toBeNull();
  });

  it('answers for plain ASCII domains exactly as the WHATWG host parser does', () => {
    // the reference: the full path, domainToASCII and the same checks
    const reference = (d: string) => {
      const ascii = domainToASCII(d.normalize('NFC'));
      return !ascii || ascii.length > 253 || !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(ascii) ? null : ascii;
    };
    const cases = ['Example.COM', 'a.b.c.example', 'localhost', '1.2.3.4', '0x7f.1', 'x.0x7f', 'a.123', '1a.b2', '-a.example', 'a-.example', 'a..example', '.example', 'example.', 'xn--bcher-kva.example', 'XN--bcher-kva.example', 'a.xn--zz', 'xn--zz', 'example.xn--p1ai', 'b.xN--zz.example', `${'a'.repeat(64)}.example`, `${'a.'.repeat(127)}ab`, `${'a.'.repeat(126)}ab`, 'under_score.example', 'a.b-'];
    const alphabet = 'aZ09-.x';
    for (let i = 0; i < 3000; i++) {
      let d = '';
      for (let n = 1 + (i % 12); n > 0; n--) d += alphabet[(i * 7 + n * 13 + (i >> 3)) % alphabet.length];
      cases.push(d, `xn--${d}`, `${d}.example`);
    }
    expect(cases.filter((d) => toAsciiDomain(d) !== reference(d))).toEqual([]);
  });

  it('normalises IDN domains to lower-case A-labels', () => {
    expect(toAsciiDomain('BÜCHER.example')).toBe('xn--bcher-kva.example');
  });

  it('redacts addresses in upstream texts', () => {
    expect(redactAddresses('550 5.1.1 <bob@example.org>: user unknown, also carol@x.test')).toBe('550 5.1.1 <address>: user unknown, also <address>');
  });

  it('splits upstream replies', () => {
    expect(parseReply('550 5.7.1 Go away', 0)).toEqual({ code: 550, enhanced: '5.7.1', text: 'Go away' });
    expect(parseReply('451 try later', 0)).toEqual({ code: 451, enhanced: '4.0.0', text: 'try later' });
    expect(parseReply('250-first\r\n250 2.0.0 Ok queued', 0)).toEqual({ code: 250, enhanced: '2.0.0', text: 'Ok queued' });
  });

  it('matches sender domains exactly, or subdomains through "*."', () => {
    const tenant = { id: 't', domains: ['acme.test', '*.mail.acme.test'] };
    expect(senderDomainAllowed(tenant, 'acme.test')).toBe(true);
    expect(senderDomainAllowed(tenant, 'sub.acme.test')).toBe(false);
    expect(senderDomainAllowed(tenant, 'mail.acme.test')).toBe(true);
    expect(senderDomainAllowed(tenant, 'eu.mail.acme.test')).toBe(true);
    expect(senderDomainAllowed(tenant, 'evilmail.acme.test')).toBe(false);
    expect(senderDomainAllowed(tenant, 'acme.test.evil')).toBe(false);
  });
});
