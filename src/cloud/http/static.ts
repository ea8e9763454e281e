/**
 * The dashboard's files (dist/dashboard/, built by scripts/build.mjs) at `/`, with the SPA's
 * index.html for any other non-API path, so that a reload of `/devices/x` opens the app there.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  readonly status: number;
  readonly type: string;
  readonly body: Buffer | string;
  readonly cache: string;
}

/** The file for a URL path; index.html for an unknown path without an extension; null for an unknown asset. */
export async function dashboardFile(root: string | null, urlPath: string): Promise<StaticFile | null> {
  if (root === null) return null;
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  } catch {
    return null;
  }
  const base = resolve(root);
  const wanted = resolve(base, '.' + (path.endsWith('/') ? `${path}index.html` : path));
  // Anything resolving outside the root (../, encoded or not) is not a file of ours.
  if (wanted !== base && !wanted.startsWith(base + sep)) return null;
  const file = await readIfFile(wanted);
  if (file !== null) return { status: 200, type: TYPES[extname(wanted)] ?? 'application/octet-stream', body: file, cache: cacheFor(wanted) };
  if (extname(path) !== '') return null;
  const index = await readIfFile(join(base, 'index.html'));
  if (index === null) {
    return { status: 503, type: 'text/plain; charset=utf-8', body: 'The dashboard is not built: run `node scripts/build.mjs`.\n', cache: 'no-store' };
  }
  return { status: 200, type: TYPES['.html']!, body: index, cache: 'no-store' };
}

function cacheFor(path: string): string {
  return path.endsWith('.html') ? 'no-store' : 'no-cache';
}

async function readIfFile(path: string): Promise<Buffer | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
    return await readFile(path);
  } catch {
    return null;
  }
}
