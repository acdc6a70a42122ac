// Loads one YAML file, validates it against the schema once, fills in defaults and freezes
// the result. Every problem names the file, the key path and, where known, the line.
import { readFileSync } from 'node:fs';
import { resolve, isAbsolute } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  readonly file: string;
  readonly config: Config;
}

export const DEFAULT_CONFIG_FILE = 'config/default.yaml';

export function configPath(env: NodeJS.ProcessEnv, cwd: string): string {
  return resolve(cwd, env.MAILWARDEN_CONFIG || DEFAULT_CONFIG_FILE);
}

export function loadConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return { file, config: parseConfig(text, file) };
}

export function parseConfig(text: string, file: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line}: YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      return keys.map((path) => {
        const where = path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
        const node = doc.getIn(path as (string | number)[], true);
        const line = isNode(node) && node.range ? ` (line ${lineCounter.linePos(node.range[0]).line})` : '';
        const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
        return `${where}${line}: ${message}`;
      });
    });
    throw new ConfigError(file, problems);
  }
  return deepFreeze(resolvePaths(result.data));
}

/** Relative paths in the file are taken from the working directory, as operators expect of `npm start`. */
function resolvePaths(config: Config): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(process.cwd(), p));
  return {
    ...config,
    smtp: {
      ...config.smtp,
      tls: {
        ...config.smtp.tls,
        cert: config.smtp.tls.cert && abs(config.smtp.tls.cert),
        key: config.smtp.tls.key && abs(config.smtp.tls.key),
        devCertDir: abs(config.smtp.tls.devCertDir),
      },
    },
    upstream: { ...config.upstream, outboxDir: abs(config.upstream.outboxDir) },
    store: { ...config.store, path: abs(config.store.path) },
    keys: { ...config.keys, masterKeyFile: abs(config.keys.masterKeyFile) },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
