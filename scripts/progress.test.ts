import { afterEach, describe, expect, it, vi } from 'vitest';
import { seconds, step } from './progress.mjs';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('progress of slow steps', () => {
  it('says when a step starts, every 10 s that it still works, and how long it took, on standard error', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    const stdout = vi.spyOn(process.stdout, 'write');
    const done = step('installing npm dependencies (npm ci)', () => new Promise((resolve) => setTimeout(() => resolve(0), 25_000)));
    await vi.advanceTimersByTimeAsync(25_000);
    expect(await done).toBe(0);
    expect(lines).toEqual([
      'callqos: installing npm dependencies (npm ci)…\n',
      'callqos: installing npm dependencies (npm ci): still working (10.0 s)\n',
      'callqos: installing npm dependencies (npm ci): still working (20.0 s)\n',
      'callqos: installing npm dependencies (npm ci): done in 25.0 s\n',
    ]);
    expect(stdout).not.toHaveBeenCalled();
  });

  it('writes minutes past a minute', () => {
    expect(seconds(151_000)).toBe('2 min 31 s');
    expect(seconds(900)).toBe('0.9 s');
  });
});
