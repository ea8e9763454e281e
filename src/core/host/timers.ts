export type TimerHandle = { readonly __timer: unique symbol };

export interface TimerHost {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface Clock {
  /**
   * Milliseconds since boot, never going backwards (routers step their wall clock at NTP sync), and
   * the same in every process, so a restarted agent can compare times saved by the one before.
   */
  monotonicMs(): number;
  /** Milliseconds since the Unix epoch, for timestamps in messages and logs. */
  wallMs(): number;
}
