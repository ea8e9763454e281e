/** Paths of the bundles the test layers run, and the one function that builds them all. */
import { build } from 'esbuild';
import { join } from 'node:path';
import { buildQuickjsBundle } from '../../scripts/build.mjs';

export const repoRoot = join(import.meta.dirname, '..', '..');
const testDist = join(repoRoot, 'dist', 'test');

export const bundles = {
  agent: join(repoRoot, 'dist', 'agent', 'callqos-agent.js'),
  contractRunnerQuickjs: join(testDist, 'contract-run-quickjs.js'),
  contractChildQuickjs: join(testDist, 'contract-child-quickjs.js'),
  contractChildNode: join(testDist, 'contract-child-node.mjs'),
  codecQuickjs: join(testDist, 'codec-quickjs.js'),
} as const;

export async function buildTestBundles(): Promise<void> {
  const src = (path: string) => join(repoRoot, path);
  await Promise.all([
    buildQuickjsBundle(src('src/agent/entry/quickjs.ts'), bundles.agent),
    // Test bundles are not minified, so that a failure's stack trace can be read.
    buildQuickjsBundle(src('test/contract/run-quickjs.ts'), bundles.contractRunnerQuickjs, { minify: false }),
    buildQuickjsBundle(src('test/contract/child-quickjs.ts'), bundles.contractChildQuickjs, { minify: false }),
    buildQuickjsBundle(src('test/quickjs/entries/codec.ts'), bundles.codecQuickjs),
    build({
      entryPoints: [src('test/contract/child-node.ts')],
      outfile: bundles.contractChildNode,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
    }),
  ]);
}
