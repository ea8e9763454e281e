/**
 * Opens the store a URL names: `sqlite:<file>` or `sqlite::memory:` (the embedded default), or
 * `postgres://…` / `postgresql://…` (several server instances sharing one database).
 */
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';
import { storeLocation } from './url.ts';

export type { Store } from './types.ts';

export async function openStore(url: string): Promise<Store> {
  const where = storeLocation(url);
  return where.kind === 'sqlite' ? new SqliteStore(where.path) : new PostgresStore(where.url);
}
