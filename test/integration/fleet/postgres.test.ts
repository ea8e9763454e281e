/**
 * The fleet store contract on PostgreSQL (the server on 127.0.0.1:5432, or CALLQOS_TEST_POSTGRES):
 * this file creates its own databases and drops them at the end; each case starts from empty
 * tables. Without a reachable server the suite fails, saying so: it is never skipped.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import { createTestDatabase } from '../store/test-database.ts';
import type { TestDatabase } from '../store/test-database.ts';
import { fleetStoreContract } from './store-contract.ts';
import type { FleetStores } from './store-contract.ts';

let database: TestDatabase;
const pairs: TestDatabase[] = [];
beforeAll(async () => {
  database = await createTestDatabase('fleet');
});
afterAll(async () => {
  for (const d of pairs) await d.drop();
  await database?.drop();
});

async function opened(): Promise<FleetStores> {
  const store = await openStore(database.url);
  await store.migrate();
  const fleet = openFleetStore(store);
  await fleet.migrate();
  return { store, fleet };
}

fleetStoreContract('PostgreSQL', {
  async fresh() {
    const both = await opened();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query('TRUNCATE devices, device_groups, enrolment_keys, fleet_devices, operators, web_sessions, audit_log');
    await client.end();
    return both;
  },
  another: opened,
  async unmigratedPair() {
    const pair = await createTestDatabase('fleet_pair');
    pairs.push(pair);
    return [await openStore(pair.url), await openStore(pair.url)];
  },
});
