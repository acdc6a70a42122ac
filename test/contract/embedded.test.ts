import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../src/store/embedded/store.js';
import { storeContract } from './store-contract.js';

storeContract('embedded (LMDB)', async () => new EmbeddedStore(join(mkdtempSync(join(tmpdir(), 'mw-lmdb-')), 'store')));
