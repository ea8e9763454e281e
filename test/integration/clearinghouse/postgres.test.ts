/** The clearinghouse store contract on PostgreSQL: a database of this file's own, emptied per case. */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openClearinghouseStore } from '../../../src/cloud/clearinghouse/store/index.ts';
import { createTestDatabase, type TestDatabase } from '../store/test-database.ts';
import { clearinghouseStoreContract } from './store-contract.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('ch');
});
afterAll(() => database?.drop());

async function opened() {
  const store = openClearinghouseStore(database.url);
  await store.migrate();
  return store;
}

clearinghouseStoreContract('PostgreSQL', {
  async fresh() {
    const store = await opened();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query('TRUNCATE ch_transactions, ch_cdrs');
    await client.end();
    return store;
  },
  another: opened,
});
