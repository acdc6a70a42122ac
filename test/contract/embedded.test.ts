import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/store/embedded/store.js';
import { storeContract } from './store-contract.js';

const path = join(mkdtempSync(join(tmpdir(), 'mw-lmdb-')), 'store');
storeContract(
  'embedded (LMDB)',
  async () => new EmbeddedStore(path),
  // the directory deleted while the relay was stopped
  async (store) => {
    await store.close();
    rmSync(path, { recursive: true });
    return new EmbeddedStore(path);
  },
);

describe('embedded store', () => {
  it('an expired suspension leaves the active index at the next MAIL, for the history', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mw-lmdb-')), 'store');
    const store = new EmbeddedStore(path);
    const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
    await store.createIdentity({ id: 'S', createdAt: T0 });
    await store.addSuspension({ id: 'S-old', tenant: 'a', scope: 'tenant', reason: 'r', actor: 'desk', source: 'manual', createdAt: T0, expiresAt: T0 + 1000 });
    expect(await store.checkMail({ tenant: 'a', store: 'S', sender: null, senderDomain: null, buckets: [], now: T0 + 1000 })).toEqual({ kind: 'ok' });
    await new Promise((r) => setTimeout(r, 50));
    await store.close();
    const root = open({ path, compression: false, readOnly: true });
    expect(root.openDB({ name: 'suspensions-active' }).getKeysCount()).toBe(0);
    expect(root.openDB({ name: 'suspensions-history' }).getKeysCount()).toBe(1);
    await root.close();
  });
});
