#!/usr/bin/env node
// Fails when the platform-neutral core imports a runtime: a Node built-in (node:* or a bare name
// like fs), QuickJS's std or os, any npm package, or a file outside the core. The core-only
// tsconfig catches most of this too; this check names the file and the import.
// Usage: check-core-imports.mjs [directory]   (default: src/core)
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const runtimeModules = new Set([...builtinModules, 'std', 'os']);

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !/\.test\.[mc]?[tj]s$/.test(name)) yield path;
  }
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(code) {
  const found = [];
  const pattern = /(?:\bimport\s*(?:[\w*{}\s,]+from\s*)?|\bexport\s*[\w*{}\s,]+from\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
  for (const match of code.matchAll(pattern)) found.push(match[1]);
  return found;
}

export function findCoreViolations(coreDir) {
  const root = resolve(coreDir);
  const violations = [];
  for (const file of sourceFiles(root)) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      let reason = null;
      if (spec.startsWith('node:') || runtimeModules.has(spec)) reason = 'a runtime module';
      else if (!spec.startsWith('.')) reason = 'a package (the core has no dependencies)';
      else if (relative(root, resolve(dirname(file), spec)).startsWith('..')) reason = 'a file outside the core';
      if (reason) violations.push(`${relative(process.cwd(), file)}: imports '${spec}', ${reason}`);
    }
  }
  return violations;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'core');
  const violations = findCoreViolations(dir);
  for (const line of violations) console.error(`core import check: ${line}`);
  process.exit(violations.length > 0 ? 1 : 0);
}
