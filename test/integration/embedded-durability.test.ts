// The embedded store survives SIGKILL with every acknowledged change: a writer prints "ack N"
// only after its write resolved; after a SIGKILL at a random moment every acknowledged entry
// is there.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/store/embedded/store.js';

const STORE_MODULE = resolve(import.meta.dirname, '../../dist/store/embedded/store.js');

describe('embedded store durability', () => {
  it('keeps every acknowledged write through a SIGKILL', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mw-durable-')), 'store');
    const writer = `
      const { EmbeddedStore } = await import(${JSON.stringify(STORE_MODULE)});
      const store = new EmbeddedStore(${JSON.stringify(path)});
      for (let i = 0; ; i++) {
        if (i % 3 === 0) await store.addSuspension({ id: 'S' + i, tenant: 't', scope: 'tenant', reason: 'r', actor: 'a', source: 'manual', createdAt: i });
        else await store.addSuppressions('t', [{ pseudonym: 'P' + i, reason: 'manual', createdAt: i }]);
        process.stdout.write('ack ' + i + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', writer], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.once('exit', r));
    while (!/ack 200\n/.test(out)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)));
    child.kill('SIGKILL');
    await exited;
    const acked = [...out.matchAll(/ack (\d+)\n/g)].map((m) => Number(m[1]));
    expect(acked.length).toBeGreaterThan(200);

    const store = new EmbeddedStore(path);
    const suspensions = new Set((await store.listSuspensions('t', { now: 0 })).map((s) => s.id));
    const suppressions = new Set<string>();
    for await (const e of store.listSuppressions('t')) suppressions.add(e.pseudonym);
    for (const i of acked) {
      if (i % 3 === 0) expect(suspensions.has(`S${i}`)).toBe(true);
      else expect(suppressions.has(`P${i}`)).toBe(true);
    }
    await store.close();
  });
});
