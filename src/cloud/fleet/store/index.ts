/**
 * Opens the fleet store on the database of the server's store, on its very connection (the
 * SQLite handle or the PostgreSQL pool): the inventory joins the server's `devices` table, and an
 * in-memory SQLite database exists only on its one connection. The server's store owns the
 * connection and closes it; the fleet store has no close of its own.
 *
 * Order at start: `await store.migrate()` first, then `await fleet.migrate()` (the fleet's
 * statements read the server's `devices` table; the fleet's versions are kept apart, in
 * `fleet_migrations`).
 */
import { PostgresStore } from '../../store/postgres.ts';
import { SqliteStore } from '../../store/sqlite.ts';
import type { Store } from '../../store/types.ts';
import { PostgresFleetStore } from './postgres.ts';
import { SqliteFleetStore } from './sqlite.ts';
import type { FleetStore } from './types.ts';

export type { FleetStore } from './types.ts';

export function openFleetStore(store: Store): FleetStore {
  if (store instanceof SqliteStore) return new SqliteFleetStore(store.sharedConnection());
  if (store instanceof PostgresStore) return new PostgresFleetStore(store.sharedConnection());
  throw new Error(`the fleet store needs the server's SQLite or PostgreSQL store, not a ${store.backend} store of another kind`);
}
