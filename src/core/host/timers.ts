export type TimerHandle = { readonly __timer: unique symbol };

export interface TimerHost {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface Clock {
  /** Milliseconds from an arbitrary origin that never goes backwards (routers step their wall clock at NTP sync). */
  monotonicMs(): number;
  /** Milliseconds since the Unix epoch, for timestamps in messages and logs. */
  wallMs(): number;
}
