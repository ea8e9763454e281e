import { appendFileSync, closeSync, readSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { ATOMIC_TEMP_MARK } from '../../core/host/index.ts';
import type { FifoListener, FileError, FileHost } from '../../core/host/index.ts';
import { LineSplitter } from '../../core/text/index.ts';
import { fail, ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';

// The same decoding as the QuickJS host: invalid bytes become U+FFFD, a byte-order mark is kept.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function fileError(err: unknown, path: string, action: string): Result<never, FileError> {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const reason = (err as Error).message ?? String(err);
  return fail({ code, message: `${action} ${path}: ${reason}`, path });
}

function attempt<T>(path: string, action: string, fn: () => T): Result<T, FileError> {
  try {
    return ok(fn());
  } catch (err) {
    return fileError(err, path, action);
  }
}

function writeAtomic(path: string, text: string): Result<void, FileError> {
  const temp = `${path}${ATOMIC_TEMP_MARK}${Math.random().toString(36).slice(2, 10)}`;
  const written = attempt(path, 'write', () => {
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  });
  if (!written.ok) rmSync(temp, { force: true });
  return written;
}

function readBytes(path: string, count: number): Result<Uint8Array, FileError> {
  return attempt(path, 'read', () => {
    const fd = openSync(path, 'r');
    try {
      const bytes = new Uint8Array(count);
      let total = 0;
      while (total < count) {
        const n = readSync(fd, bytes, total, count - total, null);
        if (n <= 0) break;
        total += n;
      }
      return bytes.subarray(0, total);
    } finally {
      closeSync(fd);
    }
  });
}

function listenFifo(path: string, onLine: (line: string) => void): Result<FifoListener, FileError> {
  return attempt(path, 'open FIFO', () => {
    // A FIFO opened read-write and non-blocking reads like a pipe through libuv.
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    const stream = new Socket({ fd, readable: true, writable: false });
    const splitter = new LineSplitter(onLine, { decode: (bytes) => utf8.decode(bytes) });
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    return { close: () => void stream.destroy() };
  });
}

export const nodeFiles: FileHost = {
  makeDir: (path) => attempt(path, 'make directory', () => void mkdirSync(path, { recursive: true })),
  listenFifo,
  readBytes,
  readText: (path) => attempt(path, 'read', () => utf8.decode(readFileSync(path))),
  writeAtomic,
  append: (path, text) => attempt(path, 'append to', () => appendFileSync(path, text)),
  list: (dir) => attempt(dir, 'list', () => readdirSync(dir).sort()),
  remove: (path) => attempt(path, 'remove', () => rmSync(path, { force: true })),
  exists: (path) => existsSync(path),
};
