/**
 * UTF-8 for hosts without TextEncoder/TextDecoder (QuickJS 2021-03-27 has neither).
 * Output matches the WHATWG Encoding Standard exactly: encode turns lone surrogates into U+FFFD,
 * decode is "UTF-8 decode without BOM" in replacement mode (one U+FFFD per maximal subpart).
 */

/**
 * Largest argument list handed to String.fromCharCode.apply: engines cap argument counts
 * (QuickJS at 65535, V8 by stack size), so long runs are converted in slices of this size.
 */
const CHUNK = 8192;
/** ASCII runs at least this long are converted straight from the input bytes; shorter ones are
 * copied into the code-unit buffer so that mixed text does not become thousands of tiny pieces. */
const MIN_DIRECT_RUN = 32;
/** The code-unit buffer is flushed at this size; one step adds at most MIN_DIRECT_RUN - 1 units,
 * so no flush ever exceeds CHUNK. */
const FLUSH_AT = CHUNK - MIN_DIRECT_RUN;
const REPLACEMENT = 0xfffd;

// fromCharCode.apply accepts any array-like; the typed-array signature is not in the lib types.
const fromCodes = String.fromCharCode as unknown as (...codes: ArrayLike<number>[]) => string;
function codesToString(codes: ArrayLike<number>): string {
  return fromCodes.apply(null, codes as unknown as ArrayLike<number>[]);
}

/** Number of bytes utf8Encode(text) produces; lone surrogates count as U+FFFD (3 bytes). */
export function utf8ByteLength(text: string): number {
  const n = text.length;
  let length = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      length += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2; // the pair: 2 UTF-16 units become 4 bytes
      i++;
    } else {
      length += 2; // BMP character or lone surrogate (encoded as U+FFFD): 3 bytes
    }
  }
  return length;
}

/** UTF-8 bytes of `text`, exactly as WHATWG TextEncoder.encode: lone surrogates become EF BF BD. */
export function utf8Encode(text: string): Uint8Array {
  const n = text.length;
  const out = new Uint8Array(utf8ByteLength(text));
  let o = 0;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && (next & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[o++] = 0xf0 | (c >> 18);
        out[o++] = 0x80 | ((c >> 12) & 0x3f);
        out[o++] = 0x80 | ((c >> 6) & 0x3f);
        out[o++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = REPLACEMENT;
    }
    out[o++] = 0xe0 | (c >> 12);
    out[o++] = 0x80 | ((c >> 6) & 0x3f);
    out[o++] = 0x80 | (c & 0x3f);
  }
  return out;
}

/**
 * First index in [j, end) holding a byte >= 0x80, or end. For long runs: reads four bytes at a
 * time through a Uint32Array view (four words per step), which is 3-4x faster than a byte loop
 * under QuickJS's interpreter. Byte order is irrelevant since every byte is tested.
 */
function asciiRunEnd(bytes: Uint8Array, j: number, end: number): number {
  const base = bytes.byteOffset;
  while (j < end && ((base + j) & 3) !== 0) {
    if ((bytes[j] as number) >= 0x80) return j;
    j++;
  }
  const words = (end - j) >> 2;
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, base + j, words);
    const last4 = words - 3;
    let w = 0;
    while (w < last4) {
      const any = (view[w] as number) | (view[w + 1] as number) | (view[w + 2] as number) | (view[w + 3] as number);
      if ((any & 0x80808080) !== 0) break;
      w += 4;
    }
    while (w < words && ((view[w] as number) & 0x80808080) === 0) w++;
    j += w << 2;
  }
  while (j < end && (bytes[j] as number) < 0x80) j++;
  return j;
}

/**
 * Decodes bytes[start, end) as UTF-8 without BOM handling (a leading EF BB BF stays U+FEFF),
 * replacing malformed input like WHATWG TextDecoder in non-fatal mode. Never throws.
 */
export function utf8Decode(bytes: Uint8Array, start = 0, end: number = bytes.length): string {
  if (start < 0) start = 0;
  if (end > bytes.length) end = bytes.length;
  if (start >= end) return '';

  const pieces: string[] = [];
  // Decoded UTF-16 units awaiting conversion, written by index (faster than push in QuickJS);
  // each flush hands the array to fromCharCode and starts a new one.
  let units: number[] = [];
  let u = 0;
  let i = start;

  while (i < end) {
    const b = bytes[i] as number;

    if (b < 0x80) {
      let j = i + 1;
      const probe = i + MIN_DIRECT_RUN < end ? i + MIN_DIRECT_RUN : end;
      while (j < probe && (bytes[j] as number) < 0x80) j++;
      if (j === probe && j < end) j = asciiRunEnd(bytes, j, end);
      if (j - i >= MIN_DIRECT_RUN) {
        if (u > 0) {
          units.length = u;
          pieces.push(codesToString(units));
          units = [];
          u = 0;
        }
        for (; i < j; i += CHUNK) {
          pieces.push(codesToString(bytes.subarray(i, j - i > CHUNK ? i + CHUNK : j)));
        }
        i = j;
        continue;
      }
      for (; i < j; i++) units[u++] = bytes[i] as number;
    } else {
      // Well-formed sequences first; anything else takes the general path below.
      const c1 = i + 1 < end ? (bytes[i + 1] as number) : 0;
      if (b >= 0xc2 && b <= 0xdf && (c1 & 0xc0) === 0x80) {
        units[u++] = ((b & 0x1f) << 6) | (c1 & 0x3f);
        i += 2;
      } else if (
        b >= 0xe0 &&
        b <= 0xef &&
        i + 2 < end &&
        // E0 would be overlong below A0; ED above 9F would encode a UTF-16 surrogate
        (b === 0xe0 ? c1 >= 0xa0 : b === 0xed ? c1 <= 0x9f : true) &&
        (c1 & 0xc0) === 0x80 &&
        ((bytes[i + 2] as number) & 0xc0) === 0x80
      ) {
        units[u++] = ((b & 0x0f) << 12) | ((c1 & 0x3f) << 6) | ((bytes[i + 2] as number) & 0x3f);
        i += 3;
      } else {
        i = decodeSlow(bytes, i, end, units, u);
        u = units.length;
      }
    }

    if (u >= FLUSH_AT) {
      units.length = u;
      pieces.push(codesToString(units));
      units = [];
      u = 0;
    }
  }

  if (u > 0) {
    units.length = u;
    pieces.push(codesToString(units));
  }
  return pieces.length === 1 ? (pieces[0] as string) : pieces.join('');
}

/**
 * The general case for a non-ASCII byte at bytes[i]: four-byte sequences and all malformed
 * input. Appends one code point (or U+FFFD) to units[0, u) and returns the next index.
 */
function decodeSlow(bytes: Uint8Array, i: number, end: number, units: number[], u: number): number {
  let b = bytes[i] as number;
  // How many continuation bytes follow and the bounds of the first one, which rule out
  // overlongs (E0, F0), UTF-16 surrogates (ED) and code points above U+10FFFF (F4).
  let need: number;
  let lower = 0x80;
  let upper = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) {
    need = 1;
    b &= 0x1f;
  } else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) lower = 0xa0;
    else if (b === 0xed) upper = 0x9f;
    b &= 0x0f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) lower = 0x90;
    else if (b === 0xf4) upper = 0x8f;
    b &= 0x07;
  } else {
    need = 0; // 80..C1 and F5..FF never start a sequence
  }
  i++;
  let cp = need === 0 ? REPLACEMENT : b;
  // A maximal subpart ends at the first byte out of range (left unconsumed: it starts the next
  // sequence) or at the end of input; either way it becomes exactly one U+FFFD.
  for (; need > 0; need--) {
    const c = i < end ? (bytes[i] as number) : -1;
    if (c < lower || c > upper) {
      cp = REPLACEMENT;
      break;
    }
    cp = (cp << 6) | (c & 0x3f);
    lower = 0x80;
    upper = 0xbf;
    i++;
  }
  if (cp >= 0x10000) {
    cp -= 0x10000;
    units[u++] = 0xd800 | (cp >> 10);
    units[u] = 0xdc00 | (cp & 0x3ff);
  } else {
    units[u] = cp;
  }
  return i;
}
