import * as os from 'os';
import { checkArgv } from '../../core/host/index.ts';
import type { ChildProcess, ExitStatus, ProcessHost, SignalName, SpawnOptions } from '../../core/host/index.ts';
import { LineSplitter, utf8Encode } from '../../core/text/index.ts';
import { EAGAIN, EINTR } from './errno.ts';
import { decodeWaitStatus, isWatched, pollSoon, watchChild } from './reaper.ts';
import { signalName, signalNumber } from './signals.ts';

// One read buffer for every pipe: LineSplitter copies what it keeps, and handlers never overlap.
const readBuffer = new ArrayBuffer(64 * 1024);
const readBytes = new Uint8Array(readBuffer);

// A write of at most PIPE_BUF bytes to a pipe that select() reports writable does not block.
const PIPE_BUF = 4096;
const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

let sigpipeHandled = false;

/** Writing to a child that went away must fail with EPIPE, not kill the agent. */
function handleSigpipe(): void {
  if (sigpipeHandled) return;
  // A JavaScript handler rather than SIG_IGN: an ignored disposition would be inherited by children.
  os.signal(os.SIGPIPE, () => {});
  sigpipeHandled = true;
}

function openPipe(): [number, number] {
  const fds = os.pipe();
  if (fds === null) throw new Error('cannot create a pipe (too many open files?)');
  return fds;
}

/** Reads one pipe to its end, feeding lines to the callback, or just draining when there is none. */
function readPipe(
  fd: number,
  onLine: ((line: string) => void) | undefined,
  maxLineBytes: number,
  onOverflow: ((dropped: number) => void) | undefined,
  onEnd: () => void,
): void {
  const splitter = onLine ? new LineSplitter(onLine, { maxLineBytes, onOverflow }) : null;
  os.setReadHandler(fd, () => {
    const n = os.read(fd, readBuffer, 0, readBuffer.byteLength);
    if (n > 0) {
      splitter?.push(readBytes.subarray(0, n));
      return;
    }
    if (n === -EINTR || n === -EAGAIN) return;
    os.setReadHandler(fd, null);
    os.close(fd);
    splitter?.end();
    onEnd();
  });
}

class StdinWriter {
  private readonly queue: Uint8Array[] = [];
  private offset = 0;
  private closing = false;
  private closed = false;

  constructor(private readonly fd: number) {}

  write(text: string): boolean {
    if (this.closed || this.closing) return false;
    if (text.length === 0) return true;
    this.queue.push(utf8Encode(text));
    if (this.queue.length === 1) os.setWriteHandler(this.fd, () => this.flush());
    return true;
  }

  close(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    if (this.queue.length === 0) this.shut();
  }

  private flush(): void {
    const head = this.queue[0];
    if (!head) return;
    const length = Math.min(PIPE_BUF, head.length - this.offset);
    const n = os.write(this.fd, head.buffer as ArrayBuffer, head.byteOffset + this.offset, length);
    if (n === -EINTR || n === -EAGAIN) return;
    if (n < 0) {
      this.shut(); // EPIPE: the child closed its input or exited; what is queued cannot be delivered
      return;
    }
    this.offset += n;
    if (this.offset < head.length) return;
    this.queue.shift();
    this.offset = 0;
    if (this.queue.length > 0) return;
    os.setWriteHandler(this.fd, null);
    if (this.closing) this.shut();
  }

  private shut(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    os.setWriteHandler(this.fd, null);
    os.close(this.fd);
  }
}

function spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  checkArgv(argv);
  handleSigpipe();
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const [stdinRead, stdinWrite] = openPipe();
  const [stdoutRead, stdoutWrite] = openPipe();
  const [stderrRead, stderrWrite] = openPipe();

  let pid: number;
  try {
    pid = os.exec(argv, {
      block: false,
      usePath: true,
      stdin: stdinRead,
      stdout: stdoutWrite,
      stderr: stderrWrite,
      ...(options.env ? { env: { ...options.env } } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
  } finally {
    // The child has its own copies now (os.exec closes every other descriptor in the child).
    os.close(stdinRead);
    os.close(stdoutWrite);
    os.close(stderrWrite);
  }
  if (pid < 0) {
    for (const fd of [stdinWrite, stdoutRead, stderrRead]) os.close(fd);
    throw new Error(`spawn ${argv[0]}: fork failed (errno ${-pid})`);
  }

  const stdin = new StdinWriter(stdinWrite);
  let openStreams = 2;
  let status: ExitStatus | null = null;
  let resolveExited!: (status: ExitStatus) => void;
  const exited = new Promise<ExitStatus>((resolve) => (resolveExited = resolve));
  const settle = () => {
    if (status !== null && openStreams === 0) resolveExited(status);
  };
  const onStreamEnd = () => {
    openStreams -= 1;
    pollSoon();
    settle();
  };

  readPipe(stdoutRead, options.onStdoutLine, maxLineBytes, (n) => options.onOverflow?.('stdout', n), onStreamEnd);
  readPipe(stderrRead, options.onStderrLine, maxLineBytes, (n) => options.onOverflow?.('stderr', n), onStreamEnd);
  watchChild(pid, (raw) => {
    const decoded = decodeWaitStatus(raw);
    status = { code: decoded.code, signal: decoded.signal === null ? null : signalName(decoded.signal) };
    stdin.close();
    settle();
  });

  return {
    pid,
    write: (text) => stdin.write(text),
    closeStdin: () => stdin.close(),
    kill: (signal: SignalName = 'SIGTERM') => isWatched(pid) && os.kill(pid, signalNumber(signal)) === 0,
    exited,
  };
}

export const quickjsProcesses: ProcessHost = { spawn };
