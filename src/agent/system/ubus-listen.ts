/**
 * Follows netifd's interface events with a long-lived `ubus listen network.interface`. When it
 * exits (ubusd restarted, the agent's connection dropped) it is started again after a jittered
 * backoff: 1 s doubling up to 30 s, back to 1 s once a run has lasted a minute, so that a ubus
 * that keeps failing costs little and one that failed once is back at once.
 */
import type { ChildProcess, ExitStatus, Host, TimerHandle } from '../../core/host/index.ts';
import { detach } from '../../core/detach.ts';
import type { CoreError } from '../../core/result.ts';
import { parseListenLine, type InterfaceEvent } from '../../core/ubus/index.ts';

export const LISTEN_ARGV = ['ubus', 'listen', 'network.interface'] as const;

export interface FollowOptions {
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A run that lasted this long resets the backoff. */
  readonly resetAfterMs?: number;
  /** Source of the jitter, [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Called each time `ubus listen` is started: events may have been missed before, so callers re-read. */
  readonly onStart?: (run: number) => void;
  /** Called when it exited and will be started again in `restartInMs`; `stderr` is its last line there. */
  readonly onExit?: (status: ExitStatus, restartInMs: number, stderr: string) => void;
  /** Called for an output line that is not an event line. */
  readonly onBadLine?: (line: string, error: CoreError) => void;
}

export interface EventFollower {
  /** Kills `ubus listen` and starts it no more; no event is delivered after this. */
  stop(): void;
}

export function followInterfaceEvents(host: Host, onEvent: (event: InterfaceEvent) => void, options: FollowOptions = {}): EventFollower {
  const initial = options.initialBackoffMs ?? 1_000;
  const max = options.maxBackoffMs ?? 30_000;
  const resetAfter = options.resetAfterMs ?? 60_000;
  const random = options.random ?? Math.random;
  let backoff = initial;
  let runs = 0;
  let stopped = false;
  let child: ChildProcess | null = null;
  let restart: TimerHandle | null = null;

  const start = (): void => {
    restart = null;
    if (stopped) return;
    const startedAt = host.clock.monotonicMs();
    let stderr = '';
    const current = host.processes.spawn(LISTEN_ARGV, {
      onStdoutLine: (line) => {
        if (stopped || child !== current) return;
        const r = parseListenLine(line);
        if (!r.ok) options.onBadLine?.(line, r.error);
        else if (r.value !== null) onEvent(r.value);
      },
      onStderrLine: (line) => {
        if (line.trim() !== '') stderr = line.trim().slice(0, 300);
      },
    });
    child = current;
    current.closeStdin();
    runs += 1;
    options.onStart?.(runs);
    const restartAfterExit = current.exited.then((status) => {
      if (child === current) child = null;
      if (stopped) return;
      if (host.clock.monotonicMs() - startedAt >= resetAfter) backoff = initial;
      // ±20 % around the step, so that many routers restarted together do not retry in step.
      const delay = Math.round(Math.min(backoff, max) * (0.8 + 0.4 * random()));
      backoff = Math.min(backoff * 2, max);
      restart = host.timers.setTimeout(start, delay);
      options.onExit?.(status, delay, stderr);
    });
    detach(restartAfterExit, (error) => host.writeErrLine(`ubus listen: internal error after exit: ${String(error)}`));
  };

  start();
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (restart !== null) host.timers.clearTimeout(restart);
      restart = null;
      child?.kill('SIGTERM');
      child = null;
    },
  };
}
