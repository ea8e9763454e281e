import { spawn as nodeSpawn } from 'node:child_process';
import { checkArgv, EXIT_CANNOT_RUN } from '../../core/host/index.ts';
import type { ChildProcess, ExitStatus, ProcessHost, SignalName, SpawnOptions } from '../../core/host/index.ts';
import { LineSplitter } from '../../core/text/index.ts';

const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const decode = (bytes: Uint8Array) => decoder.decode(bytes);

function spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  checkArgv(argv);
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const child = nodeSpawn(argv[0]!, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ? { ...options.env } : process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });

  let stdinOpen = true;
  // EPIPE on a child that went away is expected; it only means stdin is closed.
  child.stdin.on('error', () => (stdinOpen = false));
  child.stdin.on('close', () => (stdinOpen = false));

  const attach = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr', onLine?: (line: string) => void) => {
    if (!onLine) {
      stream.resume();
      return;
    }
    const splitter = new LineSplitter(onLine, {
      decode,
      maxLineBytes,
      onOverflow: (n) => options.onOverflow?.(name, n),
    });
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('end', () => splitter.end());
  };
  attach(child.stdout, 'stdout', options.onStdoutLine);
  attach(child.stderr, 'stderr', options.onStderrLine);

  let reaped = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    // 'close' comes after 'exit' and after both output streams have ended.
    child.on('close', (code, signal) => {
      reaped = true;
      stdinOpen = false;
      resolve({ code, signal });
    });
    // A program that cannot be started exits 127 on QuickJS (the forked child's exec fails); match it.
    child.on('error', () => {
      if (child.pid !== undefined) return;
      reaped = true;
      stdinOpen = false;
      resolve({ code: EXIT_CANNOT_RUN, signal: null });
    });
  });

  return {
    pid: child.pid ?? -1,
    write(text) {
      if (!stdinOpen || child.stdin.writableEnded) return false;
      if (text.length > 0) child.stdin.write(text);
      return true;
    },
    closeStdin() {
      if (!child.stdin.writableEnded) child.stdin.end();
      stdinOpen = false;
    },
    kill: (signal: SignalName = 'SIGTERM') => !reaped && child.exitCode === null && child.signalCode === null && child.kill(signal),
    exited,
  };
}

export const nodeProcesses: ProcessHost = { spawn };
