// The LMDB store behind the asynchronous interface: the store contract (test/support/store-contract.ts).
import { afterEach } from 'bun:test';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import type { Store } from '../../../src/store/store.ts';
import { storeContract } from '../../support/store-contract.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  removeTempDirs();
});

storeContract(async () => {
  const s = openLmdbStore(tempDir('store-'));
  opened.push(s);
  return s;
});
