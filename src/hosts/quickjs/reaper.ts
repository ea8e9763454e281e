import * as os from 'os';

/**
 * Reaps exited children. QuickJS has no child-exit event, so SIGCHLD wakes the loop, and a poll
 * with backoff (1 ms doubling to 1 s) covers a SIGCHLD that lands just before the loop sleeps.
 * The poll runs only while children are alive, and speeds up when a child closes its output,
 * which usually means it is about to exit.
 */

type OnReaped = (rawStatus: number) => void;

const live = new Map<number, OnReaped>();
let pollTimer: unknown = null;
let pollDelayMs = 1;
let sigchldInstalled = false;
const MAX_POLL_MS = 1000;

function reapAll(): void {
  for (const [pid, onReaped] of live) {
    const [ret, status] = os.waitpid(pid, os.WNOHANG);
    if (ret === pid || ret < 0) {
      // ret < 0 (ECHILD) means someone else reaped it; report it as killed rather than hang forever.
      live.delete(pid);
      onReaped(ret === pid ? status : 0x7f);
    }
  }
}

function schedulePoll(): void {
  if (pollTimer !== null) os.clearTimeout(pollTimer);
  pollTimer = null;
  if (live.size === 0) return;
  pollTimer = os.setTimeout(() => {
    pollTimer = null;
    reapAll();
    pollDelayMs = Math.min(pollDelayMs * 2, MAX_POLL_MS);
    schedulePoll();
  }, pollDelayMs);
}

/** Call soon after an event that suggests a child is exiting. */
export function pollSoon(): void {
  pollDelayMs = 1;
  schedulePoll();
}

export function watchChild(pid: number, onReaped: OnReaped): void {
  if (!sigchldInstalled) {
    os.signal(os.SIGCHLD, () => {
      reapAll();
      pollSoon();
    });
    sigchldInstalled = true;
  }
  live.set(pid, onReaped);
  pollSoon();
}

export function isWatched(pid: number): boolean {
  return live.has(pid);
}

/** Decodes a raw wait(2) status: exited with a code, or killed by a signal number. */
export function decodeWaitStatus(status: number): { code: number | null; signal: number | null } {
  const termSignal = status & 0x7f;
  return termSignal === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: termSignal };
}
