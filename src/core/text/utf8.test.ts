import { describe, it, expect } from 'vitest';
import { utf8ByteLength, utf8Decode, utf8Encode } from './utf8.ts';
import { prng } from '../../../test/support/random.ts';

// Node's WHATWG implementation is the oracle.
const oracle = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

const EDGE_BYTES = [0x00, 0x0a, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xf8, 0xfe, 0xff];

/** Random bytes mixing ASCII, edge bytes, continuation bytes and (possibly damaged) sequences. */
function randomBytes(rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  const out: number[] = [];
  const target = pick(rand() < 0.05 ? 200 : 24);
  while (out.length < target) {
    const r = rand();
    if (r < 0.2) {
      out.push(pick(0x80));
    } else if (r < 0.45) {
      out.push(EDGE_BYTES[pick(EDGE_BYTES.length)] as number);
    } else if (r < 0.6) {
      out.push(0x80 + pick(0x40));
    } else if (r < 0.7) {
      out.push(pick(256));
    } else {
      // A valid encoding of a random code point (surrogates too, as ED A0..BF xx), then maybe
      // truncated or with one byte replaced.
      const kind = pick(4);
      const cp = [pick(0x80), 0x80 + pick(0x780), 0x800 + pick(0xf800), 0x10000 + pick(0x100000)][kind] as number;
      const seq =
        cp < 0x80
          ? [cp]
          : cp < 0x800
            ? [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)]
            : cp < 0x10000
              ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
              : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
      const damage = rand();
      if (damage < 0.15) seq.length = pick(seq.length);
      else if (damage < 0.3) seq[pick(seq.length)] = EDGE_BYTES[pick(EDGE_BYTES.length)] as number;
      out.push(...seq);
    }
  }
  return Uint8Array.from(out);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

describe('utf8Decode', () => {
  it('decodes the empty input and empty ranges', () => {
    expect(utf8Decode(new Uint8Array(0))).toBe('');
    expect(utf8Decode(Uint8Array.of(0x41, 0x42), 1, 1)).toBe('');
    expect(utf8Decode(Uint8Array.of(0x41, 0x42), 2, 1)).toBe('');
  });

  it.each([
    ['ascii', [0x68, 0x69], 'hi'],
    ['two-byte', [0xc3, 0xa9], '\u00e9'],
    ['three-byte', [0xe2, 0x82, 0xac], '\u20ac'],
    ['four-byte as a surrogate pair', [0xf0, 0x9f, 0x98, 0x80], '\u{1f600}'],
    ['BOM kept', [0xef, 0xbb, 0xbf, 0x41], '\ufeffA'],
    ['lone continuation', [0x80], '\ufffd'],
    ['C0 overlong', [0xc0, 0xaf], '\ufffd\ufffd'],
    ['E0 overlong', [0xe0, 0x80, 0xaf], '\ufffd\ufffd\ufffd'],
    ['encoded surrogate', [0xed, 0xa0, 0x80], '\ufffd\ufffd\ufffd'],
    ['F0 overlong', [0xf0, 0x8f, 0xbf, 0xbf], '\ufffd\ufffd\ufffd\ufffd'],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], '\ufffd\ufffd\ufffd\ufffd'],
    ['F5', [0xf5, 0x80], '\ufffd\ufffd'],
    ['truncated three-byte is one maximal subpart', [0xe2, 0x82], '\ufffd'],
    ['truncated four-byte then ASCII', [0xf0, 0x9f, 0x98, 0x41], '\ufffdA'],
    ['U+10FFFF', [0xf4, 0x8f, 0xbf, 0xbf], '\u{10ffff}'],
  ])('%s', (_name, input, expected) => {
    const bytes = Uint8Array.from(input);
    expect(utf8Decode(bytes)).toBe(expected);
    expect(utf8Decode(bytes)).toBe(oracle.decode(bytes));
  });

  it('decodes only bytes[start, end)', () => {
    const bytes = Uint8Array.of(0x41, 0xc3, 0xa9, 0x42, 0x43);
    expect(utf8Decode(bytes, 1, 3)).toBe('\u00e9');
    expect(utf8Decode(bytes, 1, 2)).toBe('\ufffd');
    expect(utf8Decode(bytes, 3)).toBe('BC');
    expect(utf8Decode(bytes.subarray(2), 0, 2)).toBe('\ufffdB');
  });

  it('matches TextDecoder on 20,000 random byte arrays', () => {
    const rand = prng(0xc0ffee);
    for (let n = 0; n < 20_000; n++) {
      const bytes = randomBytes(rand);
      const got = utf8Decode(bytes);
      const want = oracle.decode(bytes);
      if (got !== want) expect({ input: hex(bytes), got }).toEqual({ input: hex(bytes), got: want });
    }
  });

  it('finds the end of long ASCII runs at any alignment', () => {
    const buffer = new Uint8Array(400).fill(0x61);
    for (let offset = 0; offset < 4; offset++) {
      for (let p = 0; p < 300; p += p < 40 ? 1 : 7) {
        const bytes = buffer.slice();
        bytes[offset + p] = 0xc3;
        bytes[offset + p + 1] = 0xa9;
        const view = bytes.subarray(offset, offset + 350);
        expect(utf8Decode(view)).toBe(oracle.decode(view));
        expect(utf8Decode(bytes, offset, offset + p + 1)).toBe(oracle.decode(bytes.subarray(offset, offset + p + 1)));
      }
    }
  });

  it('matches TextDecoder on long inputs crossing the internal 8192-unit slices', () => {
    const rand = prng(7);
    const ascii = new Uint8Array(50_000).map(() => 0x20 + Math.floor(rand() * 0x5f));
    expect(utf8Decode(ascii)).toBe(oracle.decode(ascii));
    const text = Array.from({ length: 30_000 }, (_, k) => ['a', 'é', '€', '😀', ' word ', 'x'.repeat(40)][k % 6]).join('');
    const mixed = encoder.encode(text);
    expect(utf8Decode(mixed)).toBe(text);
    for (let k = 0; k < 200; k++) {
      const bytes = new Uint8Array(20_000).map(() => (rand() < 0.7 ? 0x61 : Math.floor(rand() * 256)));
      expect(utf8Decode(bytes)).toBe(oracle.decode(bytes));
    }
  });
});

/** Random strings of code units, lone surrogates included. */
function randomString(rand: () => number): string {
  const units: number[] = [];
  const length = Math.floor(rand() * 40);
  for (let k = 0; k < length; k++) {
    const r = rand();
    if (r < 0.3) units.push(Math.floor(rand() * 0x80));
    else if (r < 0.45) units.push(0x80 + Math.floor(rand() * 0x780));
    else if (r < 0.6) units.push(0x800 + Math.floor(rand() * 0xf800));
    else if (r < 0.75) units.push(0xd800 + Math.floor(rand() * 0x800)); // either half, alone
    else {
      const cp = Math.floor(rand() * 0x100000); // offset above U+10000
      units.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
    }
  }
  return String.fromCharCode(...units);
}

/** String.prototype.toWellFormed, which the ES2020 lib does not declare. */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

describe('utf8Encode and utf8ByteLength', () => {
  it.each([
    ['', []],
    ['A', [0x41]],
    ['\u00e9', [0xc3, 0xa9]],
    ['\u20ac', [0xe2, 0x82, 0xac]],
    ['\u{1f600}', [0xf0, 0x9f, 0x98, 0x80]],
    ['\ud800', [0xef, 0xbf, 0xbd]],
    ['\udc00\ud800', [0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd]],
    ['a\ud83d', [0x61, 0xef, 0xbf, 0xbd]],
  ])('encodes %j', (text, expected) => {
    expect(Array.from(utf8Encode(text))).toEqual(expected);
    expect(utf8ByteLength(text)).toBe(expected.length);
  });

  it('matches TextEncoder on 20,000 random strings with lone surrogates', () => {
    const rand = prng(42);
    for (let n = 0; n < 20_000; n++) {
      const text = randomString(rand);
      const got = utf8Encode(text);
      const want = encoder.encode(text);
      if (hex(got) !== hex(want)) expect({ text, got: hex(got) }).toEqual({ text, got: hex(want) });
      expect(utf8ByteLength(text)).toBe(want.length);
    }
  });

  it('round-trips: decode(encode(s)) is s with lone surrogates replaced', () => {
    const rand = prng(99);
    for (let n = 0; n < 5_000; n++) {
      const text = randomString(rand);
      expect(utf8Decode(utf8Encode(text))).toBe(wellFormed(text));
      expect(wellFormed(text)).toBe(oracle.decode(encoder.encode(text)));
    }
  });

  it('round-trips: encode(decode(b)) equals b for valid UTF-8', () => {
    const rand = prng(5);
    for (let n = 0; n < 5_000; n++) {
      const valid = encoder.encode(randomString(rand));
      expect(hex(utf8Encode(utf8Decode(valid)))).toBe(hex(valid));
    }
  });
});
