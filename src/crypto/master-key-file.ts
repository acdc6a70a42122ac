// Where the master key comes from: MAILWARDEN_MASTER_KEY (base64), else keys.masterKeyFile,
// generated on first start when keys.generateMasterKey allows it (the development default).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MasterKey } from './keys.js';
import { StartupError, systemReason } from '../config/startup-error.js';

export interface MasterKeySource {
  readonly masterKeyFile: string;
  readonly generateMasterKey: boolean;
}

/** Throws StartupError naming where the key was looked for when there is none, or it is not a key. */
export function loadMasterKey(source: MasterKeySource, env: NodeJS.ProcessEnv): { key: MasterKey; generated: boolean } {
  if (env.MAILWARDEN_MASTER_KEY) return { key: parse('MAILWARDEN_MASTER_KEY', env.MAILWARDEN_MASTER_KEY), generated: false };
  if (existsSync(source.masterKeyFile)) {
    let text: string;
    try {
      text = readFileSync(source.masterKeyFile, 'utf8');
    } catch (err) {
      throw new StartupError('keys.masterKeyFile', `cannot read ${source.masterKeyFile}: ${systemReason(err)}`, { cause: err });
    }
    return { key: parse(`keys.masterKeyFile (${source.masterKeyFile})`, text), generated: false };
  }
  if (!source.generateMasterKey) {
    throw new StartupError('keys.masterKeyFile', `no master key: set MAILWARDEN_MASTER_KEY or create ${source.masterKeyFile} (openssl rand -base64 32)`);
  }
  const text = randomBytes(32).toString('base64');
  try {
    mkdirSync(dirname(source.masterKeyFile), { recursive: true });
    writeFileSync(source.masterKeyFile, `${text}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new StartupError('keys.masterKeyFile', `cannot write a new master key to ${source.masterKeyFile}: ${systemReason(err)}`, { cause: err });
  }
  return { key: MasterKey.fromBase64(text), generated: true };
}

function parse(where: string, text: string): MasterKey {
  try {
    return MasterKey.fromBase64(text);
  } catch (err) {
    throw new StartupError(where, (err as Error).message, { cause: err });
  }
}
