import type { Result } from '../result.ts';

/** A failed file operation: `code` is the errno name (ENOENT, EACCES, ENOSPC, …) or EIO if unknown. */
export interface FileError {
  readonly code: string;
  readonly message: string;
  readonly path: string;
}

/**
 * Small synchronous file access: the agent's files are a few kilobytes (state, config, FIFO
 * commands), and QuickJS's file API is synchronous anyway.
 */
export interface FileHost {
  readText(path: string): Result<string, FileError>;
  /**
   * Up to `count` bytes from the start of the file, fewer only at its end: for devices that never
   * end (`/dev/urandom`), which readText would read forever.
   */
  readBytes(path: string, count: number): Result<Uint8Array, FileError>;
  /**
   * Replaces the file's content so that a reader sees either the old or the new content, never a
   * mix, even if the agent dies halfway: write a temporary file beside it, then rename over.
   */
  writeAtomic(path: string, text: string): Result<void, FileError>;
  /**
   * Appends text to the file, creating it if missing: one write of the whole text, so appends of
   * a few kilobytes from one process never interleave. A crash can leave a torn last line, which
   * readers of append-only files must expect.
   */
  append(path: string, text: string): Result<void, FileError>;
  /** Names in a directory, sorted, without `.` and `..`. */
  list(dir: string): Result<string[], FileError>;
  /** Removes a file; removing one that does not exist is not an error. */
  remove(path: string): Result<void, FileError>;
  exists(path: string): boolean;
  /** Creates the directory and any missing parents; an existing directory is not an error. */
  makeDir(path: string): Result<void, FileError>;
  /**
   * Reads lines from an existing FIFO until closed. The FIFO is opened read-write, so that it never
   * reports end-of-file when a writer goes away and a writer never blocks while the agent runs.
   */
  listenFifo(path: string, onLine: (line: string) => void): Result<FifoListener, FileError>;
}

export interface FifoListener {
  close(): void;
}

/** Suffix of the temporary files writeAtomic leaves behind if interrupted; safe to delete on start. */
export const ATOMIC_TEMP_MARK = '.callqos-tmp-';
