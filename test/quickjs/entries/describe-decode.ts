import type { Message } from '../../../src/core/protocol/index.ts';
import type { Result } from '../../../src/core/result.ts';

/** What a decode did, in a form both runtimes print identically: the error, or the re-encoded message. */
export function describeDecode(
  text: string,
  decode: (text: string) => Result<Message>,
  encode: (message: Message) => Result<string>,
): { ok: boolean; code?: string; path?: string; encoded?: string; threw?: string } {
  try {
    const decoded = decode(text);
    if (!decoded.ok) return { ok: false, code: decoded.error.code, path: decoded.error.path ?? '' };
    const encoded = encode(decoded.value);
    return encoded.ok ? { ok: true, encoded: encoded.value } : { ok: false, code: `re-encode ${encoded.error.code}` };
  } catch (err) {
    return { ok: false, threw: String(err) };
  }
}
