#!/usr/bin/env node
// Installs the npm dependencies when node_modules is missing or older than package-lock.json,
// so that `npm start` and `npm test` work on a fresh clone with nothing typed before them.
// The install takes minutes on a fresh clone: npm's own output and a line every 10 s go to
// standard error while it runs. Only Node built-ins here: this runs before node_modules exists.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { say, step } from './progress.mjs';
import { runChild } from './run-child.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockFile = join(root, 'package-lock.json');
const stampFile = join(root, 'node_modules', '.callqos-lock-hash');

/** Installs what package-lock.json says unless that is what is installed; the exit status (0: ready). */
export async function ensureDeps() {
  const lockHash = createHash('sha256').update(readFileSync(lockFile)).digest('hex');
  const installedHash = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
  if (installedHash === lockHash) return 0;
  // --foreground-scripts: the native builds (better-sqlite3, esbuild) show their output as they run.
  const status = await step('installing npm dependencies (npm ci)', () =>
    runChild('npm', ['ci', '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: root }));
  if (status !== 0) {
    say(`npm ci failed with exit status ${status}`);
    return status;
  }
  writeFileSync(stampFile, lockHash + '\n');
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const status = await ensureDeps();
  if (status !== 0) process.exit(status);
}
