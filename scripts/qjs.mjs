#!/usr/bin/env node
// `npm run qjs -- <args>`: runs the real QuickJS 2021-03-27 interpreter, building it first if needed.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { ensureQjs } from './qjs-build.mjs';

const binary = ensureQjs();
const run = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
if (run.error) {
  console.error(`callqos: cannot run ${binary}: ${run.error.message}`);
  process.exit(1);
}
// Like a shell: a child killed by a signal exits 128 + the signal number.
process.exit(run.status ?? 128 + (constants.signals[run.signal] ?? 0));
