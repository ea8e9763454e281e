/**
 * base64url (RFC 4648 section 5) without padding, as JSON Web Signatures use it (RFC 7515
 * section 2). Pure, for hosts without Buffer or atob. Decoding is strict: only the URL-safe
 * alphabet, no padding, no whitespace, and the unused bits of the last character zero, so that
 * every byte string has exactly one encoding (a token cannot be altered into another spelling
 * that still verifies).
 */
import { fail, ok, coreError, type Result } from '../result.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES: Record<string, number> = {};
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET[i]!] = i;

export function base64urlEncode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

export function base64urlDecode(text: string): Result<Uint8Array> {
  if (text.length % 4 === 1) return fail(coreError('E_BASE64', `base64url text of length ${text.length} cannot be whole bytes`));
  const values = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) {
    const v = VALUES[text[i]!];
    if (v === undefined) return fail(coreError('E_BASE64', `character ${JSON.stringify(text[i])} at ${i} is not base64url`));
    values[i] = v;
  }
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < values.length; i += 4) {
    const n = (values[i]! << 18) | (values[i + 1]! << 12) | (values[i + 2]! << 6) | values[i + 3]!;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  const rest = values.length - i;
  if (rest === 2) {
    const n = (values[i]! << 18) | (values[i + 1]! << 12);
    if (n & 0xffff) return fail(coreError('E_BASE64', 'base64url text has non-zero unused bits (not the canonical encoding)'));
    out[o++] = n >> 16;
  } else if (rest === 3) {
    const n = (values[i]! << 18) | (values[i + 1]! << 12) | (values[i + 2]! << 6);
    if (n & 0xff) return fail(coreError('E_BASE64', 'base64url text has non-zero unused bits (not the canonical encoding)'));
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
  }
  return ok(out);
}
