/**
 * Waiting in tests. A wait for something that should happen may be long: it costs nothing when
 * the thing happens, and a loaded machine (both cores busy, a suite beside this one) can take
 * seconds for what takes milliseconds alone. A wait that checks that nothing happens stays short,
 * since load can only make it pass, never fail.
 */

/** How long a test waits for an event it expects, however loaded the machine. */
export const EXPECTED_WITHIN_MS = 15_000;

/** Polls `condition` until true; fails after `ms`, with `what` and, if given, `context()` in the error. */
export async function until(condition: () => boolean | Promise<boolean>, what = 'condition', ms = EXPECTED_WITHIN_MS, context?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms${context ? `:\n${context()}` : ''}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
