// Where the master key comes from: MAILWARDEN_MASTER_KEY (base64), else keys.masterKeyFile,
// generated on first start when keys.generateMasterKey allows it (the development default).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MasterKey } from './keys.js';

export interface MasterKeySource {
  readonly masterKeyFile: string;
  readonly generateMasterKey: boolean;
}

export function loadMasterKey(source: MasterKeySource, env: NodeJS.ProcessEnv): { key: MasterKey; generated: boolean } {
  if (env.MAILWARDEN_MASTER_KEY) return { key: MasterKey.fromBase64(env.MAILWARDEN_MASTER_KEY), generated: false };
  if (existsSync(source.masterKeyFile)) return { key: MasterKey.fromBase64(readFileSync(source.masterKeyFile, 'utf8')), generated: false };
  if (!source.generateMasterKey) {
    throw new Error(`no master key: set MAILWARDEN_MASTER_KEY or create ${source.masterKeyFile} (openssl rand -base64 32)`);
  }
  mkdirSync(dirname(source.masterKeyFile), { recursive: true });
  const text = randomBytes(32).toString('base64');
  writeFileSync(source.masterKeyFile, `${text}\n`, { mode: 0o600, flag: 'wx' });
  return { key: MasterKey.fromBase64(text), generated: true };
}
