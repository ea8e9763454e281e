/**
 * Splits a byte stream into lines on 0x0A. Splitting happens on bytes and decoding per line:
 * 0x0A never occurs inside a multi-byte UTF-8 sequence, so a character split across chunks is
 * whole again by the time its line is decoded. A `\r` before the `\n` is kept in the line.
 */
import { utf8Decode } from './utf8.ts';

export interface LineSplitterOptions {
  /** Decodes one complete line; default utf8Decode. The bytes are only valid during the call. */
  decode?: (bytes: Uint8Array) => string;
  /** Longest line delivered, in bytes without the `\n`; default 4 MiB. */
  maxLineBytes?: number;
  /** Called once for each line longer than maxLineBytes, which is dropped, with its length. */
  onOverflow?: (droppedBytes: number) => void;
}

export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

const NEWLINE = 0x0a;

function defaultDecode(bytes: Uint8Array): string {
  return utf8Decode(bytes);
}

export class LineSplitter {
  private readonly onLine: (line: string) => void;
  private readonly decode: (bytes: Uint8Array) => string;
  private readonly maxLineBytes: number;
  private readonly onOverflow: ((droppedBytes: number) => void) | undefined;
  /** Copies of the unterminated line's pieces so far, joined once when its newline arrives. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Inside an overlong line: its bytes are counted, not kept, until the next newline. */
  private dropping = false;
  private droppedBytes = 0;

  constructor(onLine: (line: string) => void, options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 0) {
      throw new RangeError(`maxLineBytes must be a non-negative integer, got ${max}`);
    }
    this.onLine = onLine;
    this.decode = options.decode ?? defaultDecode;
    this.maxLineBytes = max;
    this.onOverflow = options.onOverflow;
  }

  /** Feeds bytes. The caller may overwrite `chunk` once this returns: leftovers are copied. */
  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) {
        this.keep(chunk, pos, length);
        return;
      }
      this.finishLine(chunk, pos, nl);
      pos = nl + 1;
    }
  }

  /** Ends the stream: delivers a last line that had no newline, then starts afresh. */
  end(): void {
    if (this.dropping) {
      const dropped = this.droppedBytes;
      this.reset();
      this.onOverflow?.(dropped);
    } else if (this.pendingBytes > 0) {
      const line = this.takePending(null, 0, 0);
      this.onLine(this.decode(line));
    }
  }

  /** Holds chunk[from, to), which has no newline, for the line still open. */
  private keep(chunk: Uint8Array, from: number, to: number): void {
    const size = to - from;
    if (this.dropping) {
      this.droppedBytes += size;
    } else if (this.pendingBytes + size > this.maxLineBytes) {
      // Too long already: forget what we hold so memory stays bounded, count till the newline.
      this.dropping = true;
      this.droppedBytes = this.pendingBytes + size;
      this.pending = [];
      this.pendingBytes = 0;
    } else {
      this.pending.push(chunk.slice(from, to));
      this.pendingBytes += size;
    }
  }

  /** chunk[from, to) ends the open line; chunk[to] is its newline. */
  private finishLine(chunk: Uint8Array, from: number, to: number): void {
    const size = to - from;
    if (this.dropping || this.pendingBytes + size > this.maxLineBytes) {
      const dropped = this.droppedBytes + this.pendingBytes + size;
      this.reset();
      this.onOverflow?.(dropped);
    } else if (this.pendingBytes === 0) {
      // The common case: the whole line is in this chunk, decode it in place without a copy.
      this.onLine(this.decode(chunk.subarray(from, to)));
    } else {
      const line = this.takePending(chunk, from, to);
      this.onLine(this.decode(line));
    }
  }

  /** Joins the held pieces and chunk[from, to) into one array and clears the state. */
  private takePending(chunk: Uint8Array | null, from: number, to: number): Uint8Array {
    const line = new Uint8Array(this.pendingBytes + (to - from));
    let offset = 0;
    for (const piece of this.pending) {
      line.set(piece, offset);
      offset += piece.length;
    }
    if (chunk !== null) line.set(chunk.subarray(from, to), offset);
    this.reset();
    return line;
  }

  private reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.dropping = false;
    this.droppedBytes = 0;
  }
}
