// mailwarden's reference header, prepended to every relayed message so that a complaint or
// bounce about it can be attributed: "X-Mailwarden-Ref: 1.<tenant>.<sealed>". The sealed
// part is AES-256-GCM under a key derived from the tenant's key, bound to the tenant id: it
// names the message (the relay's transaction id) and carries its recipients encrypted, so a
// report that redacts the recipient can still be acted on, and nobody but mailwarden can
// read or forge one. The field is new and prepended: DKIM signatures over the client's
// header fields still verify.
import type { TenantKey } from '../crypto/keys.js';
import { REFERENCE_HEADER } from './parse.js';

const VERSION = '1';
/** recipients are carried only while the sealed payload stays this small */
const MAX_PAYLOAD_BYTES = 1536;

export interface MessageReference {
  readonly tenant: string;
  /** the relay's transaction id, as in its Received field and its 250 reply */
  readonly messageRef: string;
  /** ms since the epoch */
  readonly sentAt: number;
  /** the envelope sender's domain (A-label); null for the null sender */
  readonly senderDomain: string | null;
  /** the envelope recipients; null when there were too many to carry */
  readonly recipients: readonly string[] | null;
}

interface Payload {
  m: string;
  t: number;
  s?: string;
  r?: string[];
  n?: number;
}

/** The complete header field, folded, CRLF-terminated. */
export function referenceHeader(key: TenantKey, ref: MessageReference): string {
  const payload: Payload = { m: ref.messageRef, t: Math.floor(ref.sentAt / 1000), ...(ref.senderDomain ? { s: ref.senderDomain } : {}) };
  let json = JSON.stringify(ref.recipients ? { ...payload, r: ref.recipients } : payload);
  if (ref.recipients && Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) json = JSON.stringify({ ...payload, n: ref.recipients.length });
  const value = `${VERSION}.${ref.tenant}.${key.sealReference(Buffer.from(json), ref.tenant)}`;
  return `${fold(`${REFERENCE_HEADER}: ${value}`)}\r\n`;
}

export type ReferenceCheck =
  | { readonly status: 'verified'; readonly reference: MessageReference }
  | { readonly status: 'malformed' | 'unknown-tenant' | 'forged'; readonly tenant?: string };

/** Verifies a reference value (whitespace already removed) with the named tenant's key. */
export function verifyReference(value: string, keyOf: (tenant: string) => TenantKey | null): ReferenceCheck {
  const m = /^1\.([a-z0-9][a-z0-9_-]{0,62})\.([A-Za-z0-9_-]{40,})$/.exec(value);
  if (!m) return { status: 'malformed' };
  const tenant = m[1]!;
  const key = keyOf(tenant);
  if (!key) return { status: 'unknown-tenant', tenant };
  let payload: Payload;
  try {
    payload = JSON.parse(key.openReference(m[2]!, tenant).toString('utf8')) as Payload;
  } catch {
    return { status: 'forged', tenant };
  }
  return {
    status: 'verified',
    reference: {
      tenant,
      messageRef: String(payload.m),
      sentAt: Number(payload.t) * 1000,
      senderDomain: typeof payload.s === 'string' ? payload.s : null,
      recipients: Array.isArray(payload.r) ? payload.r.map(String) : null,
    },
  };
}

/** Folds a long unstructured value at 76 characters; readers remove the whitespace again. */
function fold(line: string): string {
  const out: string[] = [];
  for (let i = 0; i < line.length; i += 75) out.push(line.slice(i, i + 75));
  return out.join('\r\n ');
}
