/**
 * Failed-login counting per key (a username, a source address) over a fixed window: past `max`
 * failures in `windowMs` the key is refused until its window ends. In memory, per process: with
 * several instances each counts alone, which only multiplies the bound by their number.
 */
export interface RateLimitOptions {
  readonly max: number;
  readonly windowMs: number;
  /** Keys kept at most; the oldest windows go first, so a flood of names cannot grow memory. */
  readonly maxKeys?: number;
}

export class FailureCounter {
  private readonly windows = new Map<string, { startMs: number; count: number }>();

  constructor(private readonly options: RateLimitOptions) {}

  /** True when the key has used up its failures for the current window. */
  blocked(key: string, nowMs: number): boolean {
    const w = this.windows.get(key);
    if (w === undefined) return false;
    if (nowMs - w.startMs >= this.options.windowMs) {
      this.windows.delete(key);
      return false;
    }
    return w.count >= this.options.max;
  }

  /** Milliseconds until the key's window ends (for Retry-After). */
  retryAfterMs(key: string, nowMs: number): number {
    const w = this.windows.get(key);
    return w === undefined ? 0 : Math.max(0, w.startMs + this.options.windowMs - nowMs);
  }

  fail(key: string, nowMs: number): void {
    const w = this.windows.get(key);
    if (w !== undefined && nowMs - w.startMs < this.options.windowMs) {
      w.count++;
      return;
    }
    this.windows.delete(key);
    this.windows.set(key, { startMs: nowMs, count: 1 });
    const maxKeys = this.options.maxKeys ?? 100_000;
    while (this.windows.size > maxKeys) {
      const oldest = this.windows.keys().next().value;
      if (oldest === undefined) break;
      this.windows.delete(oldest);
    }
  }

  /** A success forgets the key's failures (a user who typed it wrong twice is not held). */
  clear(key: string): void {
    this.windows.delete(key);
  }
}
