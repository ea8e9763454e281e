// The ubus bindings under real qjs 2021-03-27, against the fake ubus: the same cases as
// test/integration/ubus.test.ts, bundled and run by qjs, one JSON result line per case.
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildQuickjsBundle } from '../../scripts/build.mjs';
import { repoRoot } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';
import { ubusCases } from './entries/ubus-scenario.ts';

interface CaseResult {
  case: string;
  ok: boolean;
  error: string | null;
  ms: number;
}

const fixtures = join(repoRoot, 'test', 'fixtures', 'ubus');
const bundle = join(repoRoot, 'dist', 'test', 'ubus-quickjs.js');

describe('ubus bindings: QuickJS', () => {
  const results = new Map<string, CaseResult>();
  const state = makeTempDir('ubus-qjs');
  let runnerOutput = '';
  afterAll(() => state.remove());

  beforeAll(async () => {
    // Test bundles are not minified, so that a failure's stack trace can be read.
    await buildQuickjsBundle(join(repoRoot, 'test', 'quickjs', 'entries', 'ubus.ts'), bundle, { minify: false });
    chmodSync(join(fixtures, 'bin', 'ubus'), 0o755);
    const run = spawnSync(inject('qjsPath'), [bundle], {
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        PATH: `${join(fixtures, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        CALLQOS_UBUS_FIXTURES: fixtures,
        CALLQOS_FAKE_UBUS: state.path,
      },
    });
    runnerOutput = `exit ${run.status} ${run.signal ?? ''}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    for (const line of run.stdout.split('\n').filter(Boolean)) {
      const result = JSON.parse(line) as CaseResult;
      results.set(result.case, result);
    }
  });

  for (const ubusCase of ubusCases) {
    it(ubusCase.name, () => {
      const result = results.get(ubusCase.name);
      expect(result, `no result from qjs for this case\n${runnerOutput}`).toBeDefined();
      expect(result?.error ?? null).toBeNull();
      expect(result?.ok).toBe(true);
    });
  }
});
