// The SMTP front's TLS certificate: the files the configuration names, or, when it names
// none, a self-signed development certificate generated once under smtp.tls.devCertDir.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { StartupError, systemReason } from '../config/startup-error.js';

export interface TlsMaterial {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly development: boolean;
}

export async function loadTls(config: Config['smtp']['tls'], hostname: string, log: Logger): Promise<TlsMaterial> {
  if (config.cert && config.key) {
    return { cert: await readNamed('smtp.tls.cert', config.cert), key: await readNamed('smtp.tls.key', config.key), development: false };
  }
  const certFile = join(config.devCertDir, 'dev-cert.pem');
  const keyFile = join(config.devCertDir, 'dev-key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const notAfter = new Date();
    notAfter.setFullYear(notAfter.getFullYear() + 1);
    // loaded only when a certificate is generated: it costs ~15 MB of RSS to keep around
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: hostname }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: notAfter,
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: hostname }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    await mkdir(config.devCertDir, { recursive: true });
    await writeFile(keyFile, pems.private, { mode: 0o600 });
    await writeFile(certFile, pems.cert);
    log.warn({ certFile }, 'generated a self-signed development certificate; configure smtp.tls.cert and smtp.tls.key for production');
  }
  return { cert: await readFile(certFile), key: await readFile(keyFile), development: true };
}

/** a file the configuration names, or a StartupError naming the key */
async function readNamed(key: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new StartupError(key, `cannot read ${file}: ${systemReason(err)}`, { cause: err });
  }
}

/** What `config check` says about the certificate files the configuration names: unreadable ones. */
export async function tlsFileProblems(config: Config['smtp']['tls']): Promise<string[]> {
  const problems: string[] = [];
  for (const [key, file] of [['smtp.tls.cert', config.cert], ['smtp.tls.key', config.key]] as const) {
    if (file === undefined) continue;
    await readNamed(key, file).catch((err: Error) => problems.push(err.message));
  }
  return problems;
}
