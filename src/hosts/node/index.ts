/** The Node host: the core's capabilities on Node, for the cloud, development and simulations. */
import { readFileSync } from 'node:fs';
import type { Clock, Host, OwnSignal, TimerHandle, TimerHost } from '../../core/host/index.ts';
import { nodeFiles } from './files.ts';
import { nodeProcesses } from './processes.ts';

const timers: TimerHost = {
  setTimeout: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};

const clock: Clock = {
  // CLOCK_MONOTONIC: since boot, the same for every process, so a restarted agent can compare
  // times saved by the one before (performance.now() starts at zero in each process).
  monotonicMs: () => Number(process.hrtime.bigint()) / 1e6,
  wallMs: () => Date.now(),
};

export function createNodeHost(args: readonly string[] = process.argv.slice(2)): Host {
  const signalHandlers = new Map<OwnSignal, () => void>();
  return {
    runtime: 'node',
    processes: nodeProcesses,
    files: nodeFiles,
    timers,
    clock,
    onSignal(signal, handler) {
      const previous = signalHandlers.get(signal);
      if (previous) process.off(signal, previous);
      signalHandlers.set(signal, handler);
      process.on(signal, handler);
    },
    writeErrLine: (line) => void process.stderr.write(line + '\n'),
    writeOut: (text) => void process.stdout.write(text),
    readStdin: () => readFileSync(0, 'utf8'),
    args,
    getEnv: (name) => process.env[name],
    exit: (code) => process.exit(code),
  };
}
