/**
 * JSON.parse with the same verdict on every runtime. QuickJS 2021-03-27 accepts text that
 * RFC 8259 and V8 refuse: unknown escapes (`\d` reads as `d`, `\x41` as `A`, `\v`, `\'`), a
 * leading zero after a minus (`-01`) and a fraction without digits (`1.`, `1.e1`). Those forms are
 * refused here before parsing, so that a router and the cloud never disagree on a message.
 */
import { fail, ok } from '../result.ts';
import type { Result } from '../result.ts';

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));

/** Position of the first form only QuickJS would accept, or -1. Everything else is JSON.parse's to judge. */
function laxFormAt(text: string): number {
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === QUOTE) inString = false;
      else if (c === BACKSLASH) {
        const next = text.charCodeAt(i + 1);
        if (next === 0x75 /* u */) {
          for (let k = 2; k <= 5; k += 1) if (!isHex(text.charCodeAt(i + k))) return i;
          i += 5;
        } else if (SIMPLE_ESCAPES.has(next)) i += 1;
        else return i;
      }
    } else if (c === QUOTE) inString = true;
    else if (c === MINUS && text.charCodeAt(i + 1) === ZERO && isDigit(text.charCodeAt(i + 2))) return i;
    else if (c === DOT && !isDigit(text.charCodeAt(i + 1))) return i;
  }
  return -1;
}

export function parseStrictJson(text: string): Result<unknown> {
  const lax = laxFormAt(text);
  if (lax >= 0) return fail({ code: 'E_JSON', message: `not JSON: invalid escape or number at position ${lax}`, path: '' });
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (e) {
    return fail({ code: 'E_JSON', message: `not JSON: ${e instanceof Error ? e.message : 'parse error'}`.slice(0, 200), path: '' });
  }
}
