/** Builds the bundles the layers run and, for the layers that run QuickJS, the real qjs binary. */
import type { TestProject } from 'vitest/node';
import { ensureQjs } from '../../scripts/qjs-build.mjs';
import { buildTestBundles } from './bundles.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    qjsPath: string;
  }
}

// Several projects share this setup in one run: build once, not once per project at the same time.
let built: Promise<void> | null = null;

export default async function setup(project: TestProject): Promise<void> {
  built ??= buildTestBundles();
  await built;
  const needsQjs = project.name === 'quickjs' || project.name === 'system';
  project.provide('qjsPath', needsQjs ? ensureQjs() : '');
}
