/**
 * The QuickJS host: the core's capabilities implemented with QuickJS's `std` and `os` modules,
 * as OpenWrt's `qjs` provides them (2021-03-27 and later).
 */
import * as os from 'os';
import * as std from 'std';
import type { Clock, Host, OwnSignal, TimerHandle, TimerHost } from '../../core/host/index.ts';
import { quickjsFiles } from './files.ts';
import { quickjsProcesses } from './processes.ts';
import { signalNumber } from './signals.ts';

const timers: TimerHost = {
  setTimeout: (callback, delayMs) => os.setTimeout(callback, Math.max(0, delayMs)) as TimerHandle,
  clearTimeout: (handle) => os.clearTimeout(handle),
};

/** Monotonic time: os.now() where QuickJS has it (2023 and later), else the kernel's uptime. */
function uptimeMs(): number {
  // Not std.loadFile: it sizes the file with fseek, and /proc files have no size.
  const file = std.open('/proc/uptime', 'r');
  const text = file === null ? null : file.getline();
  file?.close();
  const seconds = text === null ? NaN : parseFloat(text);
  if (!Number.isFinite(seconds)) throw new Error('cannot read /proc/uptime for the monotonic clock');
  return seconds * 1000;
}

const clock: Clock = {
  monotonicMs: typeof os.now === 'function' ? os.now : uptimeMs,
  wallMs: () => Date.now(),
};

export function createQuickjsHost(): Host {
  return {
    runtime: 'quickjs',
    processes: quickjsProcesses,
    files: quickjsFiles,
    timers,
    clock,
    onSignal(signal: OwnSignal, handler: () => void) {
      os.signal(signalNumber(signal), handler);
    },
    writeErrLine(line) {
      std.err.puts(line + '\n');
      std.err.flush();
    },
    writeOut(text) {
      std.out.puts(text);
      std.out.flush();
    },
    readStdin: () => std.in.readAsString(),
    args: typeof scriptArgs === 'undefined' ? [] : scriptArgs.slice(1),
    getEnv: (name) => std.getenv(name),
    exit: (code) => std.exit(code),
  };
}
