/** The fleet store contract on SQLite: a new database file per case, shared with the server's store. */
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import { makeTempDir } from '../../support/temp.ts';
import { fleetStoreContract } from './store-contract.ts';
import type { FleetStores } from './store-contract.ts';

const temp = makeTempDir('fleet-store-sqlite');
afterAll(() => temp.remove());
let cases = 0;
let current = '';

async function opened(path: string): Promise<FleetStores> {
  const store = await openStore(`sqlite:${path}`);
  await store.migrate();
  const fleet = openFleetStore(store);
  await fleet.migrate();
  return { store, fleet };
}

fleetStoreContract('SQLite', {
  fresh: () => opened((current = join(temp.path, `case-${(cases += 1)}.db`))),
  another: () => opened(current),
  async unmigratedPair() {
    const path = join(temp.path, `pair-${(cases += 1)}.db`);
    return [await openStore(`sqlite:${path}`), await openStore(`sqlite:${path}`)];
  },
});
