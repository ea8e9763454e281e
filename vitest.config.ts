import { defineConfig } from 'vitest/config';

// One project per test layer, so each layer runs alone: `vitest run --project <layer>`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
          // The fuzz and property tests are CPU-bound: seconds alone, several times that beside
          // another suite. A deadline is for a test that hangs, never a speed check.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'quickjs',
          include: ['test/quickjs/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'system',
          include: ['test/system/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // System tests share the kernel's network namespaces and nftables: run files one at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          // The dashboard in Debian's chromium (test/support/browser.ts) against the real cloud program.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One chromium at a time, and after the system tests (npm run test:system runs both):
          // two cores, and the system tests' timings are not to share them with a browser.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
