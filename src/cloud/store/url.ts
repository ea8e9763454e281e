/**
 * Store URLs, shared by every store the cloud opens: `sqlite:<file>` or `sqlite::memory:` (the
 * embedded default; the file's directory is created), or `postgres://…` / `postgresql://…`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type StoreLocation = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

export function storeLocation(url: string): StoreLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error('store URL sqlite: needs a file name, or :memory:');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return { kind: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  throw new Error(`unknown store URL ${JSON.stringify(url)}: use sqlite:<file>, sqlite::memory: or postgres://user@host:port/database`);
}
