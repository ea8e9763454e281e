/** The store contract on SQLite: a new database file per case. */
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openStore } from '../../../src/cloud/store/index.ts';
import { makeTempDir } from '../../support/temp.ts';
import { storeContract } from './store-contract.ts';

const temp = makeTempDir('store-sqlite');
afterAll(() => temp.remove());
let cases = 0;
let current = '';

storeContract('SQLite', {
  concurrentHandles: false,
  async fresh() {
    current = join(temp.path, `case-${(cases += 1)}.db`);
    const store = await openStore(`sqlite:${current}`);
    await store.migrate();
    return store;
  },
  async another() {
    const store = await openStore(`sqlite:${current}`);
    await store.migrate();
    return store;
  },
});
