// One identity per mailbox (ARCHITECTURE invariant 4): every form of the same address maps to
// one canonical form, which suppression, pseudonyms, rate buckets, attribution and subject
// requests all use. The rules are written down in docs/policy.md ("One mailbox, one identity").
/* eslint-disable no-control-regex -- address syntax is about exactly these control and non-ASCII ranges */
import { domainToASCII } from 'node:url';
import type { MailAddress } from './envelope.js';

/**
 * An LDH domain with no A-label and a last label that starts with a letter: what
 * domainToASCII would return is its lower-case form, without the cost of a WHATWG URL parse
 * (no punycode to check, and not a number the host parser would read as IPv4).
 */
const PLAIN_DOMAIN = /^(?:(?!xn--)[a-z0-9-]+\.)*(?!xn--)[a-z][a-z0-9-]*$/i;

/** Lower-case A-label form (UTS-46) of a domain, or null when it is not a valid domain name. */
export function toAsciiDomain(domain: string): string | null {
  if (domain.startsWith('[') && domain.endsWith(']')) return domain.toLowerCase(); // address literal
  if (domain.length <= 253 && PLAIN_DOMAIN.test(domain)) return domain.toLowerCase();
  const ascii = domainToASCII(domain.normalize('NFC'));
  if (!ascii || ascii.length > 253 || !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(ascii)) return null;
  return ascii;
}

/** RFC 5322 dot-atom, with RFC 6531's non-ASCII characters as atext. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10ffff}-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10ffff}-]+)*$/u;
/** what may stand in a local part at all: no space, no control character, no angle bracket */
const UNSAFE_LOCAL = /[\s<>\x00-\x1f\x7f]/;
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * The canonical local part, case kept: a quoted string loses its quotes and quoted-pairs when
 * what it holds is a dot-atom (RFC 5321 section 4.1.2: `"bob"` and `bob` are one mailbox);
 * otherwise it keeps the quotes with only `\` and `"` escaped. Non-ASCII text in NFC.
 * Null when the local part is not RFC 5321 syntax.
 */
export function canonicalLocalPart(local: string): string | null {
  let value: string;
  if (local.startsWith('"')) {
    if (local.length < 2 || !local.endsWith('"')) return null;
    value = '';
    for (let i = 1; i < local.length - 1; i++) {
      const c = local[i]!;
      if (c === '\\') {
        if (i + 1 >= local.length - 1) return null; // a backslash escaping the closing quote
        value += local[++i];
      } else if (c === '"') {
        return null; // a bare quote inside a quoted string
      } else {
        value += c;
      }
    }
    if (value === '' || /[\x00-\x1f\x7f]/.test(value)) return null;
  } else {
    if (!DOT_ATOM.test(local)) return null;
    value = local;
  }
  if (!ASCII_ONLY.test(value)) value = value.normalize('NFC');
  return DOT_ATOM.test(value) ? value : `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** The form an address is compared in: canonical local part, lower-cased, then the A-label domain. */
function matchFormOf(local: string, domain: string): string {
  const lower = local.toLowerCase();
  return `${ASCII_ONLY.test(lower) ? lower : lower.normalize('NFC')}@${domain}`;
}

/**
 * Splits and canonicalises an address; null when it is not a usable mailbox. `address` is what
 * the client sent with the domain in A-label form (what is forwarded upstream); `matchForm` is
 * the one identity of the mailbox.
 */
export function parseMailAddress(address: string): MailAddress | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  const sent = address.slice(0, at);
  if (UNSAFE_LOCAL.test(sent.startsWith('"') ? sent.replace(/ /g, '') : sent)) return null;
  const local = canonicalLocalPart(sent);
  if (local === null) return null;
  if (local.length > 64 && ASCII_ONLY.test(local)) return null;
  const domain = toAsciiDomain(address.slice(at + 1));
  if (domain === null) return null;
  return { address: `${sent}@${domain}`, local, domain, matchForm: matchFormOf(local, domain) };
}

export function isAscii(value: string): boolean {
  return ASCII_ONLY.test(value);
}
