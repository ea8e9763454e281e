#!/usr/bin/env node
// `npm start`: installs the dependencies if needed, builds, then runs the cloud program in this
// same process. One process from start to end, and package.json starts it with `exec`, so the
// SIGTERM a service manager sends to npm's pid (npm passes it on to its shell, which is this
// process) reaches the server, which stops cleanly; nothing is left running behind it.
// Arguments after `npm start --` go to the cloud program (`npm start -- --help`).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureDeps } from './ensure-deps.mjs';
import { say, step } from './progress.mjs';
import { runChild } from './run-child.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const installed = await ensureDeps();
if (installed !== 0) process.exit(installed);
// A child process, so that esbuild's service process ends with the build, not with the server.
const built = await step('building dist/', () => runChild(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root }));
if (built !== 0) {
  say(`the build failed with exit status ${built}`);
  process.exit(built);
}
// The program reads its arguments from process.argv.slice(2): those given to this script.
await import(pathToFileURL(join(root, 'dist', 'cloud', 'callqos-cloud.mjs')).href);
