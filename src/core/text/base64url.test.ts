import { describe, expect, it } from 'vitest';
import { base64urlDecode, base64urlEncode } from './base64url.ts';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('base64url', () => {
  it('encodes the RFC 4648 test vectors in the URL-safe alphabet without padding', () => {
    const ascii = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
    const vectors: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(base64urlEncode(ascii(plain))).toBe(encoded);
      expect(base64urlDecode(encoded)).toEqual({ ok: true, value: ascii(plain) });
    }
    expect(base64urlEncode(bytes(0xfb, 0xff, 0xbf))).toBe('-_-_');
  });

  it('round-trips every length and byte value the same as Node does', () => {
    for (let length = 0; length < 70; length++) {
      const data = new Uint8Array(length).map((_, i) => (i * 97 + length * 13) & 255);
      const text = base64urlEncode(data);
      expect(text).toBe(Buffer.from(data).toString('base64url'));
      expect(base64urlDecode(text)).toEqual({ ok: true, value: data });
    }
  });

  it('refuses padding, other alphabets, impossible lengths and non-canonical last characters', () => {
    for (const bad of ['Zg==', 'Zm9v+', 'Zm9v/', 'Zm 9v', 'Z', 'Zh', 'Zm9']) {
      const r = base64urlDecode(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('E_BASE64');
    }
    // 'Zm8' is canonical for "fo"; 'Zm9' carries a set unused bit.
    expect(base64urlDecode('Zm8').ok).toBe(true);
  });
});
