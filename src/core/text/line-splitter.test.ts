import { describe, it, expect } from 'vitest';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type LineSplitterOptions } from './line-splitter.ts';

const encoder = new TextEncoder();

interface Run {
  lines: string[];
  overflows: number[];
}

function split(chunks: Uint8Array[], options: LineSplitterOptions = {}): Run {
  const run: Run = { lines: [], overflows: [] };
  const splitter = new LineSplitter((line) => run.lines.push(line), {
    ...options,
    onOverflow: (dropped) => run.overflows.push(dropped),
  });
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return run;
}

/** Every way to cut `bytes` into up to three chunks (two cut points, possibly empty pieces). */
function* cuts(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) yield [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
  }
}

describe('LineSplitter', () => {
  it.each([
    ['plain', 'one\ntwo\n', ['one', 'two']],
    ['final line without newline', 'one\ntwo', ['one', 'two']],
    ['empty lines', '\n\na\n\n', ['', '', 'a', '']],
    ['CRLF keeps the CR', 'a\r\nb\r\n\r\n', ['a\r', 'b\r', '\r']],
    ['lone CR does not split', 'a\rb\n', ['a\rb']],
    ['multi-byte characters', 'h\u00e9\u20ac\n\u{1f600}x\n\u00e9', ['h\u00e9\u20ac', '\u{1f600}x', '\u00e9']],
    ['only a newline', '\n', ['']],
    ['empty input', '', []],
  ])('%s: same lines for every chunk boundary', (_name, text, expected) => {
    const bytes = encoder.encode(text);
    for (const chunks of cuts(bytes)) {
      expect(split(chunks).lines, JSON.stringify(chunks.map((c) => Array.from(c)))).toEqual(expected);
    }
    // and one byte at a time
    expect(split(Array.from(bytes, (b) => Uint8Array.of(b))).lines).toEqual(expected);
  });

  it('splits a chunk containing many lines', () => {
    const lines = Array.from({ length: 1000 }, (_, k) => `line ${k} \u00e9`);
    expect(split([encoder.encode(lines.join('\n') + '\n')]).lines).toEqual(lines);
  });

  it('emits nothing for empty input or empty chunks', () => {
    expect(split([]).lines).toEqual([]);
    expect(split([new Uint8Array(0), new Uint8Array(0)]).lines).toEqual([]);
  });

  it('end() delivers the unterminated line once, and the splitter can be reused', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push(encoder.encode('a\nb'));
    splitter.end();
    splitter.end();
    splitter.push(encoder.encode('c\n'));
    splitter.end();
    expect(lines).toEqual(['a', 'b', 'c']);
  });

  it('uses the decode option', () => {
    const seen: number[][] = [];
    const run = split([encoder.encode('ab\ncd')], {
      decode: (bytes) => {
        seen.push(Array.from(bytes));
        return `<${bytes.length}>`;
      },
    });
    expect(run.lines).toEqual(['<2>', '<2>']);
    expect(seen).toEqual([
      [0x61, 0x62],
      [0x63, 0x64],
    ]);
  });

  it('replaces invalid UTF-8 in a line by default', () => {
    expect(split([Uint8Array.of(0x61, 0xff, 0x0a, 0xe2, 0x82)]).lines).toEqual(['a\ufffd', '\ufffd']);
  });

  describe('maxLineBytes', () => {
    const max = 8;
    const text = `${'a'.repeat(max)}\n${'b'.repeat(max + 1)}\nok\n${'c'.repeat(max + 5)}`;
    const bytes = encoder.encode(text);

    it('delivers a line of exactly maxLineBytes and drops one byte longer, for every chunk boundary', () => {
      for (const chunks of cuts(bytes)) {
        expect(split(chunks, { maxLineBytes: max })).toEqual({ lines: ['a'.repeat(max), 'ok'], overflows: [max + 1, max + 5] });
      }
      expect(split(Array.from(bytes, (b) => Uint8Array.of(b)), { maxLineBytes: max })).toEqual({
        lines: ['a'.repeat(max), 'ok'],
        overflows: [max + 1, max + 5],
      });
    });

    it('counts the CR of a CRLF line', () => {
      const run = split([encoder.encode(`${'a'.repeat(max - 1)}\r\n${'a'.repeat(max)}\r\nz`)], { maxLineBytes: max });
      expect(run).toEqual({ lines: [`${'a'.repeat(max - 1)}\r`, 'z'], overflows: [max + 1] });
    });

    it('reports each overlong line once and resynchronises at the next newline', () => {
      const long = new Uint8Array(100_000).fill(0x78);
      const lines: string[] = [];
      const overflows: number[] = [];
      const splitter = new LineSplitter((line) => lines.push(line), {
        maxLineBytes: 1000,
        onOverflow: (n) => overflows.push(n),
      });
      for (let k = 0; k < long.length; k += 333) splitter.push(long.subarray(k, k + 333));
      splitter.push(encoder.encode('\nnext\n'));
      for (let k = 0; k < 3; k++) splitter.push(long);
      splitter.push(encoder.encode('\n'));
      splitter.end();
      expect(lines).toEqual(['next']);
      expect(overflows).toEqual([100_000, 300_000]);
    });

    it('keeps at most maxLineBytes of leftover', () => {
      const splitter = new LineSplitter(() => undefined, { maxLineBytes: 1000 });
      const held = () => (splitter as unknown as { pendingBytes: number }).pendingBytes;
      for (let k = 0; k < 50; k++) {
        splitter.push(new Uint8Array(97).fill(0x78));
        expect(held()).toBeLessThanOrEqual(1000);
      }
    });

    it('drops silently without onOverflow, and defaults to 4 MiB', () => {
      const lines: string[] = [];
      const splitter = new LineSplitter((line) => lines.push(line), { maxLineBytes: 2 });
      splitter.push(encoder.encode('abc\nab\n'));
      splitter.end();
      expect(lines).toEqual(['ab']);
      expect(DEFAULT_MAX_LINE_BYTES).toBe(4 * 1024 * 1024);
      const big = new Uint8Array(DEFAULT_MAX_LINE_BYTES + 1).fill(0x61);
      big[DEFAULT_MAX_LINE_BYTES] = 0x0a;
      expect(split([big.subarray(0, DEFAULT_MAX_LINE_BYTES + 1)]).lines[0]).toHaveLength(DEFAULT_MAX_LINE_BYTES);
      expect(split([big.subarray(0, DEFAULT_MAX_LINE_BYTES), Uint8Array.of(0x61, 0x0a)]).overflows).toEqual([
        DEFAULT_MAX_LINE_BYTES + 1,
      ]);
    });

    it('rejects an invalid maxLineBytes', () => {
      expect(() => new LineSplitter(() => undefined, { maxLineBytes: -1 })).toThrow(RangeError);
      expect(() => new LineSplitter(() => undefined, { maxLineBytes: 1.5 })).toThrow(RangeError);
    });
  });

  it('is safe when the caller reuses its buffer after push', () => {
    const text = 'first line\nsecond \u00e9\u20ac line\nthird\nunterminated \u{1f600}';
    const bytes = encoder.encode(text);
    for (const size of [1, 2, 3, 5, 7, 16]) {
      const buffer = new Uint8Array(size);
      const lines: string[] = [];
      const splitter = new LineSplitter((line) => lines.push(line));
      for (let k = 0; k < bytes.length; k += size) {
        const piece = bytes.subarray(k, k + size);
        buffer.set(piece);
        splitter.push(buffer.subarray(0, piece.length));
        buffer.fill(0x21); // scribble over it, as a reader reusing its buffer would
      }
      splitter.end();
      expect(lines).toEqual(text.split('\n'));
    }
  });

  it('splits 1,000,000 lines fed in 64 KiB chunks', () => {
    const count = 1_000_000;
    const parts: string[] = [];
    for (let k = 0; k < count; k++) parts.push(k % 10 === 0 ? `${k} caf\u00e9 \u{1f600}` : `line ${k}`);
    const bytes = encoder.encode(parts.join('\n') + '\n');
    let seen = 0;
    let last = '';
    let mismatch = -1;
    const splitter = new LineSplitter((line) => {
      if (mismatch < 0 && line !== parts[seen]) mismatch = seen;
      seen++;
      last = line;
    });
    const chunk = new Uint8Array(64 * 1024);
    for (let k = 0; k < bytes.length; k += chunk.length) {
      const piece = bytes.subarray(k, k + chunk.length);
      chunk.set(piece);
      splitter.push(chunk.subarray(0, piece.length));
    }
    splitter.end();
    expect(seen).toBe(count);
    expect(mismatch).toBe(-1);
    expect(last).toBe(`line ${count - 1}`);
  });
});
