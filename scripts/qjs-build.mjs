#!/usr/bin/env node
// Builds the real QuickJS interpreter (`qjs`) from the unmodified 2021-03-27 source that the npm
// package `qjsc` ships, once per machine: the binary is cached under the user's cache directory,
// keyed by a hash of the source, so fresh clones and CI runs on the same machine reuse it.
// Prints the path of the binary. Concurrent callers (test workers) share one build through a lock.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const QUICKJS_VERSION = '2021-03-27';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'node_modules', 'qjsc', 'deps', 'quickjs_2021_03_27');

export function qjsCacheDir() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'callqos', `quickjs-${QUICKJS_VERSION}`);
}

function sourceHash() {
  const hash = createHash('sha256');
  for (const name of readdirSync(sourceDir).sort()) {
    const path = join(sourceDir, name);
    if (statSync(path).isFile()) hash.update(name).update(readFileSync(path));
  }
  return hash.digest('hex').slice(0, 16);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes a lock directory; a lock older than 10 minutes is a crashed build and is broken. */
function withLock(lockDir, fn) {
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() - statSync(lockDir).mtimeMs > 600_000) rmSync(lockDir, { recursive: true, force: true });
      else sleep(500);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

export function ensureQjs() {
  if (!existsSync(join(sourceDir, 'VERSION'))) {
    throw new Error(`QuickJS source not found at ${sourceDir}: run npm ci first`);
  }
  const version = readFileSync(join(sourceDir, 'VERSION'), 'utf8').trim();
  if (version !== QUICKJS_VERSION) throw new Error(`expected QuickJS ${QUICKJS_VERSION}, found ${version}`);

  const cacheDir = qjsCacheDir();
  const binary = join(cacheDir, sourceHash(), 'qjs');
  if (existsSync(binary)) return binary;

  mkdirSync(cacheDir, { recursive: true });
  return withLock(join(cacheDir, '.lock'), () => {
    if (existsSync(binary)) return binary; // another process built it while we waited
    const work = join(tmpdir(), `callqos-quickjs-build-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    cpSync(sourceDir, work, { recursive: true });
    console.error(`callqos: building qjs ${QUICKJS_VERSION} from source (about a minute, once per machine)…`);
    const make = spawnSync('make', ['qjs'], { cwd: work, encoding: 'utf8' });
    if (make.status !== 0) {
      throw new Error(`make qjs failed (exit ${make.status}):\n${make.stdout}\n${make.stderr}`);
    }
    mkdirSync(dirname(binary), { recursive: true });
    renameSync(join(work, 'qjs'), binary);
    rmSync(work, { recursive: true, force: true });
    return binary;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureQjs());
  } catch (err) {
    console.error(`callqos: ${err.message}`);
    process.exit(1);
  }
}
