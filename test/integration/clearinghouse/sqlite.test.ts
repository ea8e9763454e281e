/** The clearinghouse store contract on SQLite: a file per case, reopened for "another". */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openClearinghouseStore } from '../../../src/cloud/clearinghouse/store/index.ts';
import { clearinghouseStoreContract } from './store-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'callqos-ch-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let current = '';

clearinghouseStoreContract('SQLite', {
  async fresh() {
    current = `sqlite:${join(dir, `ch-${++n}.db`)}`;
    const store = openClearinghouseStore(current);
    await store.migrate();
    return store;
  },
  async another() {
    const store = openClearinghouseStore(current);
    await store.migrate();
    return store;
  },
});
