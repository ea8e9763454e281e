import type { TimerHost } from '../../src/core/host/index.ts';

// Assertions for the host contract suite. It runs under QuickJS too, so no Node modules here.

export class ContractFailure extends Error {
  override name = 'ContractFailure';
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 300 ? text.slice(0, 300) + '…' : text;
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractFailure(message);
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  const a = show(actual);
  const e = show(expected);
  if (a !== e) throw new ContractFailure(`${what}: expected ${e}, got ${a}`);
}

/** Rejects if the promise has not settled within the time, so that a hang fails instead of stalling. */
export function within<T>(timers: TimerHost, promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = timers.setTimeout(() => reject(new ContractFailure(`${what}: no result within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        timers.clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        timers.clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export function sleep(timers: TimerHost, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}
