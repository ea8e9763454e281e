/**
 * The capabilities the agent needs from the runtime it runs on. The core declares them; each
 * runtime (QuickJS on the router, Node in the cloud and in tests) implements them in an adapter
 * under src/hosts/. One contract suite (test/contract) runs against every adapter.
 */
import type { FileHost } from './files.ts';
import type { ProcessHost, SignalName } from './process.ts';
import type { Clock, TimerHost } from './timers.ts';

export type { ChildProcess, ExitStatus, ProcessHost, SignalName, SpawnOptions } from './process.ts';
export { checkArgv, EXIT_CANNOT_RUN } from './process.ts';
export type { FifoListener, FileError, FileHost } from './files.ts';
export { ATOMIC_TEMP_MARK } from './files.ts';
export type { Clock, TimerHandle, TimerHost } from './timers.ts';

/** Signals the agent itself reacts to: SIGTERM stops it cleanly, SIGHUP reloads its config. */
export type OwnSignal = Extract<SignalName, 'SIGTERM' | 'SIGHUP' | 'SIGINT' | 'SIGUSR1'>;

export interface Host {
  readonly runtime: 'quickjs' | 'node';
  readonly processes: ProcessHost;
  readonly files: FileHost;
  readonly timers: TimerHost;
  readonly clock: Clock;
  /** Installs the handler for a signal sent to the agent; a second call replaces the first. */
  onSignal(signal: OwnSignal, handler: () => void): void;
  /** Writes one line to standard error, where procd hands it to logd. */
  writeErrLine(line: string): void;
  /** Writes text to standard output (command results, dry-run output). */
  writeOut(text: string): void;
  /** All of standard input, read to its end (for one-shot commands such as the rpcd plugin). */
  readStdin(): string;
  /** Command-line arguments after the script name. */
  readonly args: readonly string[];
  getEnv(name: string): string | undefined;
  exit(code: number): never;
}
