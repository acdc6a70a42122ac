// Keys that keep recipient addresses out of the store in clear text (ARCHITECTURE invariant 3).
// Each tenant has a random 256-bit key, kept only encrypted under the master key. From it
// come an HMAC key for pseudonyms (lookups) and an AES key for addresses that must be given
// back to their tenant (suppression export). Destroying a tenant's key erases both.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomFillSync } from 'node:crypto';

const WRAP_INFO = 'mailwarden tenant key wrap v1';

export class MasterKey {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be 32 bytes');
    this.#key = key;
  }

  static fromBase64(text: string): MasterKey {
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== 32) throw new Error('the master key must be 32 bytes, base64-encoded (openssl rand -base64 32)');
    return new MasterKey(key);
  }

  /** A new tenant key, and its wrapped (encrypted) form for the store. */
  newTenantKey(tenantId: string): { key: TenantKey; wrapped: string } {
    const raw = randomBytes(32);
    return { key: new TenantKey(raw), wrapped: this.#wrap(raw, tenantId) };
  }

  /** Encrypts a feedback report attributed to no tenant, for the abuse desk's review queue. */
  sealForReview(plain: Buffer): string {
    return seal(this.#reviewKey(), plain, 'review');
  }

  openForReview(sealed: string): Buffer {
    return open(this.#reviewKey(), sealed, 'review');
  }

  #reviewKey(): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), 'mailwarden review v1', 32));
  }

  unwrap(wrapped: string, tenantId: string): TenantKey {
    return new TenantKey(open(this.#key, wrapped, `${WRAP_INFO}:${tenantId}`));
  }

  #wrap(raw: Buffer, tenantId: string): string {
    return seal(this.#key, raw, `${WRAP_INFO}:${tenantId}`);
  }
}

export class TenantKey {
  readonly #pseudonymKey: Buffer;
  readonly #addressKey: Buffer;
  readonly #referenceKey: Buffer;

  constructor(raw: Buffer) {
    this.#pseudonymKey = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'mailwarden pseudonym v1', 32));
    this.#addressKey = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'mailwarden address v1', 32));
    this.#referenceKey = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'mailwarden reference v1', 32));
  }

  /** Encrypts and authenticates a relayed message's reference, bound to its tenant. */
  sealReference(payload: Buffer, tenantId: string): string {
    return seal(this.#referenceKey, payload, `reference:${tenantId}`);
  }

  /** Throws unless the reference was sealed with this key for this tenant. */
  openReference(sealed: string, tenantId: string): Buffer {
    return open(this.#referenceKey, sealed, `reference:${tenantId}`);
  }

  /** Keyed pseudonym of an address in its matching form: HMAC-SHA256, first 16 bytes, base64url. */
  pseudonym(matchForm: string): string {
    return createHmac('sha256', this.#pseudonymKey).update(matchForm, 'utf8').digest().subarray(0, 16).toString('base64url');
  }

  sealAddress(address: string): string {
    return seal(this.#addressKey, Buffer.from(address, 'utf8'), 'address');
  }

  openAddress(sealed: string): string {
    return open(this.#addressKey, sealed, 'address').toString('utf8');
  }

  /** A feedback report kept for the tenant's review: it names the tenant's recipients. */
  sealReport(plain: Buffer): string {
    return seal(this.#addressKey, plain, 'report');
  }

  openReport(sealed: string): Buffer {
    return open(this.#addressKey, sealed, 'report');
  }
}

// GCM needs a fresh 96-bit IV per encryption; drawing them from a pool of random bytes
// saves a call into the random generator for every relayed message
const IV_POOL = Buffer.alloc(12 * 512);
let ivOffset = IV_POOL.length;

function nextIv(): Buffer {
  if (ivOffset === IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  const iv = Buffer.from(IV_POOL.subarray(ivOffset, ivOffset + 12));
  ivOffset += 12;
  return iv;
}

/** AES-256-GCM: base64url(iv | tag | ciphertext), bound to a context string. */
function seal(key: Buffer, plain: Buffer, context: string): string {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function open(key: Buffer, sealed: string, context: string): Buffer {
  const raw = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}
