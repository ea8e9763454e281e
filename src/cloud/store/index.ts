/**
 * Opens the store a URL names: `sqlite:<file>` or `sqlite::memory:` (the embedded default), or
 * `postgres://…` / `postgresql://…` (several server instances sharing one database).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

export type { Store } from './types.ts';

export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error('store URL sqlite: needs a file name, or :memory:');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return new SqliteStore(path);
  }
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresStore(url);
  throw new Error(`unknown store URL ${JSON.stringify(url)}: use sqlite:<file>, sqlite::memory: or postgres://user@host:port/database`);
}
