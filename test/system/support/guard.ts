/**
 * System tests need root and Debian's tools. On a developer machine without them a system test is
 * skipped with a one-line reason; in CI (CI=true) the same lack is a failure.
 */
import { spawnSync } from 'node:child_process';
import { describe } from 'vitest';

function missing(tools: readonly string[]): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nftables)';
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v "$1"`, 'sh', tool]).status !== 0) return `needs ${tool} (see README: system tests)`;
  }
  return null;
}

/** describe() that runs when the tools are there, is skipped with a reason when not, and fails in CI. */
export function describeSystem(name: string, tools: readonly string[], body: () => void): void {
  const reason = missing(tools);
  if (reason === null) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`system test cannot run in CI: ${reason}`);
    });
  } else {
    console.warn(`skipping system tests "${name}": ${reason}`);
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}
