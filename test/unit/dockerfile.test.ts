// The Dockerfile, checked without building it (this machine has no container engine, and no
// registry to take the base image from): the VS Code Docker language server's validator
// (dockerfile-utils) finds no error or warning, and the image's own conventions hold.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

const text = readFileSync(join(import.meta.dirname, '../../Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);

describe('Dockerfile', () => {
  it('the validator finds nothing to say (and does find what is wrong in a broken one)', () => {
    expect(validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(validate('RUN echo hi\nFROM\nEXPOSE abc\n').length).toBeGreaterThanOrEqual(3);
  });

  it('base images carry a version tag, never latest', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBe(2);
    for (const f of froms) {
      if (f.getImageName() === 'scratch') continue;
      expect(f.getImageTag(), f.getImage() ?? '').toMatch(/^\d/);
    }
  });

  it('installs exactly what the lock says, and runs as a user of its own with a health check', () => {
    const runs = dockerfile.getInstructions().filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.filter((r) => /\bnpm (install|i)\b/.test(r))).toEqual([]);
    // in the stage that runs: the last USER is not root, a HEALTHCHECK, exec-form ENTRYPOINT and CMD
    const last = dockerfile.getInstructions().slice(dockerfile.getInstructions().lastIndexOf(dockerfile.getFROMs().at(-1)!));
    const users = last.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent());
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(last.some((i) => i.getKeyword() === 'HEALTHCHECK')).toBe(true);
    for (const i of [...dockerfile.getENTRYPOINTs(), ...dockerfile.getCMDs()]) expect(i.getJSONStrings().length, i.getKeyword()).toBeGreaterThan(0);
  });
});
