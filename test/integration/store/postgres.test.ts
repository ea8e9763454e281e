/**
 * The store contract on PostgreSQL (the server on 127.0.0.1:5432, or CALLQOS_TEST_POSTGRES): this
 * file creates its own database and drops it at the end; each case starts from empty tables.
 * Without a reachable server the suite fails, saying so: it is never skipped.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { storeContract } from './store-contract.ts';
import { createTestDatabase } from './test-database.ts';
import type { TestDatabase } from './test-database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('store');
});
afterAll(() => database?.drop());

async function opened(): Promise<Store> {
  const store = await openStore(database.url);
  await store.migrate();
  return store;
}

storeContract('PostgreSQL', {
  concurrentHandles: true,
  async fresh() {
    const store = await opened();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query('TRUNCATE devices, sessions, gates, usage');
    await client.end();
    return store;
  },
  another: opened,
});
