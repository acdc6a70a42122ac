// Parsing and normalising envelope addresses. Domains are compared in lower-case A-label
// (IDNA/punycode) form; local parts are kept exactly as sent (RFC 5321 section 2.4).
/* eslint-disable no-control-regex -- address syntax is about exactly these control and non-ASCII ranges */
import { domainToASCII } from 'node:url';
import type { MailAddress } from '../domain/envelope.js';

/**
 * An LDH domain with no A-label and a last label that starts with a letter: what
 * domainToASCII would return is its lower-case form, without the cost of a WHATWG URL parse
 * (no punycode to check, and not a number the host parser would read as IPv4).
 */
const PLAIN_DOMAIN = /^(?:(?!xn--)[a-z0-9-]+\.)*(?!xn--)[a-z][a-z0-9-]*$/i;

/** Lower-case A-label form of a domain, or null when it is not a valid domain name. */
export function toAsciiDomain(domain: string): string | null {
  if (domain.startsWith('[') && domain.endsWith(']')) return domain.toLowerCase(); // address literal
  if (domain.length <= 253 && PLAIN_DOMAIN.test(domain)) return domain.toLowerCase();
  const ascii = domainToASCII(domain.normalize('NFC'));
  if (!ascii || ascii.length > 253 || !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(ascii)) return null;
  return ascii;
}

/** Splits and normalises an envelope address; null when it is not a usable mailbox. */
export function parseMailAddress(address: string): MailAddress | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  const local = address.slice(0, at);
  if (local.length > 64 && !/[^\x00-\x7f]/.test(local)) return null;
  if (/[\s<>\x00-\x1f\x7f]/.test(local)) return null;
  const domain = toAsciiDomain(address.slice(at + 1));
  if (domain === null) return null;
  return { address: `${local}@${domain}`, local, domain, matchForm: `${local.toLowerCase()}@${domain}` };
}

export function isAscii(value: string): boolean {
  return !/[^\x00-\x7f]/.test(value);
}

const ADDRESS_IN_TEXT = /<?[^\s<>@"]+@[^\s<>@"]+>?/g;

/** Replaces anything that looks like an address, so upstream texts can be shown and logged. */
export function redactAddresses(text: string): string {
  return text.replace(ADDRESS_IN_TEXT, '<address>');
}
