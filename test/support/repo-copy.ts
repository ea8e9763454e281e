/**
 * A copy of the working tree as a fresh clone has it (no dist/, no data/), sharing this tree's
 * node_modules through a symbolic link: commands that build or write data/ run there without
 * touching the files other tests read.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './bundles.ts';
import { makeTempDir } from './temp.ts';

/** What a fresh clone does not have, and the git directory. */
const LEFT_OUT = new Set(['node_modules', 'dist', 'data', '.git', '.cache', 'bench/results'].map((p) => join(repoRoot, p)));

/**
 * The copy's commands would run `npm ci` through the link, replacing the shared node_modules
 * under every other test, if what is installed is not what package-lock.json says: refuse then.
 */
function checkInstalled(): void {
  const lockHash = createHash('sha256').update(readFileSync(join(repoRoot, 'package-lock.json'))).digest('hex');
  const stamp = join(repoRoot, 'node_modules', '.callqos-lock-hash');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== lockHash) {
    throw new Error('node_modules is not installed from this package-lock.json: run node scripts/ensure-deps.mjs first');
  }
}

export function makeRepoCopy(prefix: string): { path: string; remove(): void } {
  checkInstalled();
  const dir = makeTempDir(prefix);
  const path = join(dir.path, 'callqos');
  cpSync(repoRoot, path, {
    recursive: true,
    filter: (source) => !LEFT_OUT.has(source),
  });
  symlinkSync(join(repoRoot, 'node_modules'), join(path, 'node_modules'));
  return { path, remove: dir.remove };
}
