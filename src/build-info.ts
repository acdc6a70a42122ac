// What build this is: the package version, and the commit scripts/build-info.mjs recorded at
// build time ("unknown" when run from the sources or built without git).
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
}

export function buildInfo(): BuildInfo {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  let commit = 'unknown';
  try {
    commit = (JSON.parse(readFileSync(new URL('./build-info.json', import.meta.url), 'utf8')) as { commit: string }).commit;
  } catch {
    // run from the sources, or a build without the record
  }
  return { version: pkg.version, commit };
}
