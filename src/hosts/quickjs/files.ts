import * as os from 'os';
import * as std from 'std';
import { ATOMIC_TEMP_MARK } from '../../core/host/index.ts';
import type { FifoListener, FileError, FileHost } from '../../core/host/index.ts';
import { fail, ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';
import { LineSplitter, utf8Decode, utf8Encode } from '../../core/text/index.ts';
import { errnoMessage, errnoName } from './errno.ts';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

function fileError(errno: number, path: string, action: string): Result<never, FileError> {
  return fail({ code: errnoName(errno), message: `${action} ${path}: ${errnoMessage(errno)}`, path });
}

function readText(path: string): Result<string, FileError> {
  const [info, statErr] = os.stat(path);
  if (statErr !== 0) return fileError(statErr, path, 'read');
  if ((info.mode & S_IFMT) === S_IFDIR) return fileError(21 /* EISDIR */, path, 'read');
  const errorHolder: std.ErrorHolder = {};
  const file = std.open(path, 'r', errorHolder);
  if (file === null) return fileError(errorHolder.errno ?? 5, path, 'read');
  try {
    // Bytes decoded by us rather than FILE.readAsString, so that invalid UTF-8 reads as on Node.
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(Math.max(4096, info.size - total + 1));
      const n = file.read(chunk.buffer as ArrayBuffer, 0, chunk.length);
      if (n <= 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    if (file.error()) return fileError(5 /* EIO */, path, 'read');
    return ok(utf8Decode(concatBytes(chunks, total)));
  } finally {
    file.close();
  }
}

function readBytes(path: string, count: number): Result<Uint8Array, FileError> {
  const errorHolder: std.ErrorHolder = {};
  const file = std.open(path, 'rb', errorHolder);
  if (file === null) return fileError(errorHolder.errno ?? 5, path, 'read');
  try {
    const bytes = new Uint8Array(count);
    let total = 0;
    while (total < count) {
      const n = file.read(bytes.buffer as ArrayBuffer, total, count - total);
      if (n <= 0) break;
      total += n;
    }
    if (file.error()) return fileError(5 /* EIO */, path, 'read');
    return ok(bytes.subarray(0, total));
  } finally {
    file.close();
  }
}

function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

// A surrogate without its pair. FILE.puts would write it as a 3-byte sequence where Node writes
// U+FFFD; such text is rare, so only then do we encode in JavaScript, which is far slower.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function writeUtf8(file: std.FILE, text: string): boolean {
  if (!LONE_SURROGATE.test(text)) {
    file.puts(text);
    return true;
  }
  const bytes = utf8Encode(text);
  return file.write(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length) === bytes.length;
}

// QuickJS cannot fsync: the rename makes the replacement atomic for readers and across an agent
// crash, but a power cut before the kernel writes back can lose the newest version.
function writeAtomic(path: string, text: string): Result<void, FileError> {
  const temp = `${path}${ATOMIC_TEMP_MARK}${Math.random().toString(36).slice(2, 10)}`;
  const errorHolder: std.ErrorHolder = {};
  const file = std.open(temp, 'w', errorHolder);
  if (file === null) return fileError(errorHolder.errno ?? 5, path, 'write');
  const written = writeUtf8(file, text);
  file.flush();
  const writeFailed = !written || file.error();
  const closeResult = file.close();
  if (writeFailed || closeResult !== 0) {
    os.remove(temp);
    return fileError(closeResult < 0 ? closeResult : 28 /* ENOSPC, the usual cause */, path, 'write');
  }
  const renamed = os.rename(temp, path);
  if (renamed !== 0) {
    os.remove(temp);
    return fileError(renamed, path, 'rename onto');
  }
  return ok(undefined);
}

function append(path: string, text: string): Result<void, FileError> {
  const errorHolder: std.ErrorHolder = {};
  const file = std.open(path, 'a', errorHolder);
  if (file === null) return fileError(errorHolder.errno ?? 5, path, 'append to');
  const written = writeUtf8(file, text);
  file.flush();
  const writeFailed = !written || file.error();
  const closeResult = file.close();
  if (writeFailed || closeResult !== 0) return fileError(closeResult < 0 ? closeResult : 28 /* ENOSPC */, path, 'append to');
  return ok(undefined);
}

function list(dir: string): Result<string[], FileError> {
  const [names, err] = os.readdir(dir);
  if (err !== 0) return fileError(err, dir, 'list');
  return ok(names.filter((name) => name !== '.' && name !== '..').sort());
}

function remove(path: string): Result<void, FileError> {
  const result = os.remove(path);
  if (result === 0 || errnoName(result) === 'ENOENT') return ok(undefined);
  return fileError(result, path, 'remove');
}

function exists(path: string): boolean {
  return os.stat(path)[1] === 0;
}

function makeDir(path: string): Result<void, FileError> {
  let prefix = path.startsWith('/') ? '' : '.';
  for (const part of path.split('/').filter(Boolean)) {
    prefix += `/${part}`;
    const made = os.mkdir(prefix, 0o755);
    if (made !== 0 && errnoName(made) !== 'EEXIST') return fileError(made, prefix, 'make directory');
  }
  const [info, err] = os.stat(path);
  if (err !== 0) return fileError(err, path, 'make directory');
  return (info.mode & S_IFMT) === S_IFDIR ? ok(undefined) : fileError(17 /* EEXIST */, path, 'make directory');
}

function listenFifo(path: string, onLine: (line: string) => void): Result<FifoListener, FileError> {
  const fd = os.open(path, os.O_RDWR);
  if (fd < 0) return fileError(fd, path, 'open FIFO');
  const buffer = new ArrayBuffer(4096);
  const splitter = new LineSplitter(onLine);
  os.setReadHandler(fd, () => {
    const n = os.read(fd, buffer, 0, buffer.byteLength);
    if (n > 0) splitter.push(new Uint8Array(buffer, 0, n));
  });
  return ok({
    close() {
      os.setReadHandler(fd, null);
      os.close(fd);
    },
  });
}

export const quickjsFiles: FileHost = { readText, readBytes, writeAtomic, append, list, remove, exists, makeDir, listenFifo };
