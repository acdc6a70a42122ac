// Writes dist/build-info.json after the TypeScript build: the commit the build was made from
// (git, or $MAILWARDEN_COMMIT where there is no git checkout, as in the image build), for
// `mailwarden --version` and the mailwarden_build_info metric.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
let commit = process.env.MAILWARDEN_COMMIT ?? 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || commit;
} catch {
  // not a git checkout
}
writeFileSync(join(root, 'dist/build-info.json'), `${JSON.stringify({ commit })}\n`);
