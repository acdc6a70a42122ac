// Tenant SMTP passwords are kept only as scrypt hashes in a PHC-like string:
// $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt base64>$<hash base64>
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const DEFAULT_LN = 15;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function params(ln: number, r: number, p: number): ScryptOptions {
  // maxmem must cover 128 * N * r bytes, with room to spare
  return { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 };
}

export async function hashPassword(password: string, ln = DEFAULT_LN): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, params(ln, 8, 1));
  return `$scrypt$ln=${ln},r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(encoded);
  if (!match) return false;
  const [, ln, r, p, salt, hash] = match;
  const expected = Buffer.from(hash!, 'base64');
  const key = await scrypt(password, Buffer.from(salt!, 'base64'), expected.length, params(Number(ln), Number(r), Number(p)));
  return key.length === expected.length && timingSafeEqual(key, expected);
}
