import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test/support/temp.ts';
import { findNodeBuiltinReferences } from './bundle-check.mjs';
import { findCoreViolations } from './check-core-imports.mjs';

describe('core import check', () => {
  let temp: ReturnType<typeof makeTempDir> | null = null;
  afterEach(() => temp?.remove());

  function coreWith(files: Record<string, string>): string {
    temp = makeTempDir('core-check');
    const core = join(temp.path, 'core');
    for (const [name, code] of Object.entries(files)) {
      mkdirSync(join(core, name, '..'), { recursive: true });
      writeFileSync(join(core, name), code);
    }
    return core;
  }

  it('passes the real core', () => {
    expect(findCoreViolations('src/core')).toEqual([]);
  });

  it('names each runtime, package or outside import', () => {
    const core = coreWith({
      'a.ts': "import { readFileSync } from 'node:fs';\nimport * as os from 'os';\n",
      'sub/b.ts': "export { x } from 'std';\nconst m = await import('child_process');\nimport '../../hosts/node/index.ts';\n",
      'c.ts': "import { z } from 'zod';\nimport { ok } from './sub/b.ts';\n",
      'd.test.ts': "import { describe } from 'vitest';\n",
    });
    const found = findCoreViolations(core).map((line) => line.replace(/^.*core\//, ''));
    expect(found.sort()).toEqual([
      "a.ts: imports 'node:fs', a runtime module",
      "a.ts: imports 'os', a runtime module",
      "c.ts: imports 'zod', a package (the core has no dependencies)",
      "sub/b.ts: imports '../../hosts/node/index.ts', a file outside the core",
      "sub/b.ts: imports 'child_process', a runtime module",
      "sub/b.ts: imports 'std', a runtime module",
    ]);
  });

  it('fails the command with exit code 1', () => {
    const core = coreWith({ 'a.ts': "import { spawn } from 'node:child_process';\n" });
    const run = spawnSync(process.execPath, ['scripts/check-core-imports.mjs', core], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("imports 'node:child_process'");
  });
});

describe('bundle check', () => {
  it('finds Node built-ins and Node globals, and allows QuickJS std and os', () => {
    const code = 'import*as s from"std";import*as o from"os";import{x}from"node:fs";const c=require("crypto");process.env.X;';
    expect(findNodeBuiltinReferences(code)).toEqual(['crypto', 'node:fs', 'process global', 'require()']);
    expect(findNodeBuiltinReferences('import*as s from"std";import*as o from"os";')).toEqual([]);
  });
});
