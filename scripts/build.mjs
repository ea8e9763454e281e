#!/usr/bin/env node
// Bundles the router agent into one ES module for QuickJS: dist/agent/callqos-agent.js.
// QuickJS's built-in modules `std` and `os` stay external imports; nothing else may be left
// unresolved, and the bundle must not mention a Node built-in (checked after the build).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodeBuiltinReferences } from './bundle-check.mjs';
import { writeIpk } from './ipk.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** esbuild options shared by every QuickJS bundle (the agent and the test entry points). */
export function quickjsBundleOptions(entry, outfile, { minify = true } = {}) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2020',
    external: ['std', 'os'],
    minify,
    legalComments: 'none',
    define: { CALLQOS_VERSION: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  };
}

export async function buildQuickjsBundle(entry, outfile, options) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build(quickjsBundleOptions(entry, outfile, options));
  const code = readFileSync(outfile, 'utf8');
  const builtins = findNodeBuiltinReferences(code);
  if (builtins.length > 0) {
    throw new Error(`${relative(root, outfile)} refers to Node built-ins: ${builtins.join(', ')}`);
  }
  return { bytes: statSync(outfile).size, gzipBytes: gzipSync(code).length };
}

/**
 * The cloud program for Node: one ES module, its npm dependencies left as imports (better-sqlite3
 * is native; the others are resolved from node_modules at run time).
 */
export async function buildCloudBundle(outfile = join(root, 'dist', 'cloud', 'callqos-cloud.mjs'), entry = join(root, 'src', 'cloud', 'main.ts')) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    define: { CALLQOS_VERSION: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
  return { file: outfile, bytes: statSync(outfile).size };
}

/**
 * The same agent for Node (src/agent/entry/node.ts): simulated routers in `npm run demo` and in
 * simulations. It runs the same nft, tc, ubus and mosquitto commands as on a router.
 */
export async function buildNodeAgentBundle(outfile = join(root, 'dist', 'agent', 'callqos-agent-node.mjs')) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(root, 'src', 'agent', 'entry', 'node.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    define: { CALLQOS_VERSION: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
  return { file: outfile, bytes: statSync(outfile).size };
}

/**
 * The operator dashboard for the browser (src/dashboard/): app.js, app.css (its own styles and
 * uPlot's) and index.html in dist/dashboard/, which the cloud program serves at /. Everything is
 * bundled: the page loads nothing from elsewhere, so it works with no internet.
 */
export async function buildDashboard(outdir = join(root, 'dist', 'dashboard')) {
  mkdirSync(outdir, { recursive: true });
  const source = join(root, 'src', 'dashboard');
  await build({
    entryPoints: { app: join(source, 'main.tsx') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyFileSync(join(source, 'index.html'), join(outdir, 'index.html'));
  const bytes = ['app.js', 'app.css'].reduce((sum, name) => sum + statSync(join(outdir, name)).size, 0);
  return { dir: outdir, bytes };
}

// The sizes go to standard error: standard output is for what runs after the build
// (`npm run -s render | nft -c -f -` reads the batch alone).
async function main() {
  const cloud = await buildCloudBundle();
  console.error(`${relative(root, cloud.file)}: ${(cloud.bytes / 1024).toFixed(1)} KiB`);
  const dashboard = await buildDashboard();
  console.error(`${relative(root, dashboard.dir)}/: ${(dashboard.bytes / 1024).toFixed(1)} KiB`);
  const outfile = join(root, 'dist', 'agent', 'callqos-agent.js');
  const size = await buildQuickjsBundle(join(root, 'src', 'agent', 'entry', 'quickjs.ts'), outfile);
  const report = { file: relative(root, outfile), version: pkg.version, ...size };
  writeFileSync(join(root, 'dist', 'agent', 'size.json'), JSON.stringify(report, null, 2) + '\n');
  console.error(`${report.file}: ${(size.bytes / 1024).toFixed(1)} KiB, ${(size.gzipBytes / 1024).toFixed(1)} KiB gzipped`);
  const ipk = writeIpk({ root });
  console.error(`${relative(root, ipk.path)}: ${(ipk.bytes / 1024).toFixed(1)} KiB`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`callqos build: ${err.message}`);
    process.exit(1);
  });
}
