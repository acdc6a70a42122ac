// The web console's files, served by the admin listener under /console/. The console is a
// static application (built by Vite into dist/console) that signs in with an API token and
// does everything through the admin API, so each of its actions is checked and audited as
// the API's are. Nothing is loaded from anywhere else: the content security policy says so.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const CONSOLE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

export interface ConsoleFile {
  readonly body: Buffer | string;
  readonly headers: Record<string, string>;
}

/** The built console: dist/console beside dist/admin, or, when run from the sources, the last build's. */
export function consoleDir(): string | null {
  for (const candidate of ['../console/', '../../dist/console/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

/**
 * The answer to GET `pathname` (under /console/), or null when no such file is there.
 * Asset names carry their content hash and are kept a year; index.html is asked for again.
 */
export async function consoleFile(dir: string, pathname: string): Promise<ConsoleFile | null> {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname.slice('/console/'.length)) || 'index.html';
  } catch {
    return null;
  }
  const file = normalize(join(dir, relative));
  if (!file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return null;
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return null;
  }
  const cache = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  return { body, headers: { ...CONSOLE_HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': cache } };
}
