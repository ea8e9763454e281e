/**
 * Child processes: the router agent does all its I/O through them (nft, tc, ubus, uci,
 * mosquitto_sub/pub), because QuickJS has no sockets.
 */

/** Signals the agent sends or handles. Numbers differ between CPU architectures; names do not. */
export type SignalName = 'SIGHUP' | 'SIGINT' | 'SIGQUIT' | 'SIGKILL' | 'SIGUSR1' | 'SIGUSR2' | 'SIGTERM';

/** How a child ended: exactly one of `code` (it exited) and `signal` (it was killed) is set. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: SignalName | `SIG${string}` | null;
}

/** Exit code reported for a program that could not be started (not found, not executable), as a shell does. */
export const EXIT_CANNOT_RUN = 127;

export interface SpawnOptions {
  /** Called for each line of standard output (without the newline), then for a last unterminated line. */
  readonly onStdoutLine?: (line: string) => void;
  /** Same for standard error. Without it, standard error is discarded. */
  readonly onStderrLine?: (line: string) => void;
  /** Lines longer than this many bytes are dropped (and reported through onOverflow). Default 4 MiB. */
  readonly maxLineBytes?: number;
  readonly onOverflow?: (stream: 'stdout' | 'stderr', droppedBytes: number) => void;
  /** Environment for the child; by default it inherits the agent's. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface ChildProcess {
  readonly pid: number;
  /**
   * Queues text for the child's standard input without blocking the agent.
   * Returns false when standard input is already closed (by closeStdin or because the child went away).
   */
  write(text: string): boolean;
  /** Closes standard input once everything queued has been written. */
  closeStdin(): void;
  /** Sends a signal; false if the child has already been reaped. */
  kill(signal?: SignalName): boolean;
  /** Settles after the child has exited and all of its output lines have been delivered. */
  readonly exited: Promise<ExitStatus>;
}

export interface ProcessHost {
  /** argv[0] is looked up in PATH. Never throws for a missing program: it exits with EXIT_CANNOT_RUN. */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
}

/** Throws on an argument list no host can run: a programming error, not bad input from outside. */
export function checkArgv(argv: readonly string[]): void {
  if (argv.length === 0) throw new TypeError('spawn: empty argument list');
  for (const arg of argv) {
    if (typeof arg !== 'string' || arg.includes('\0')) throw new TypeError('spawn: arguments must be strings without NUL');
  }
}
