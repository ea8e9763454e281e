/**
 * SIP messages back to text (RFC 3261 section 7): start line, headers, empty line, body, all with
 * CRLF, and a Content-Length computed from the body, never trusted from the header list (a proxy
 * that edits a body must not forward a stale length).
 *
 *   serializeSipMessage(msg)                      -> a byte string (the default)
 *   serializeSipMessage(msg, { encoding: 'text' }) -> Unicode text the caller encodes as UTF-8
 *
 * A parsed header goes out as its raw text while that still reads as its name and value, so
 * forwarding leaves untouched headers byte for byte as they came (compact names, folding).
 */
import { utf8ByteLength, utf8Encode } from '../text/utf8.ts';
import { readHeaderField } from './names.ts';
import type { SipEncoding, SipHeader, SipMessage } from './types.ts';

export interface SerializeOptions {
  /**
   * `bytes` (default): the result is a byte string for `Buffer.from(s, 'latin1')`; any part
   * holding a character above U+00FF is taken as Unicode text and written as UTF-8 bytes, so the
   * result stays bytes and Content-Length stays right. `text`: the result is Unicode text and
   * Content-Length counts the body's UTF-8 bytes, for a caller that encodes the whole as UTF-8.
   */
  readonly encoding?: SipEncoding;
}

const NOT_LATIN1 = /[^\x00-\xff]/;
/** fromCharCode.apply takes at most this many arguments safely on every engine (QuickJS included). */
const CHUNK = 8192;

/** Unicode text as a byte string of its UTF-8 encoding; a byte string as it is. */
function asBytes(text: string): string {
  if (!NOT_LATIN1.test(text)) return text;
  const bytes = utf8Encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CHUNK)));
  }
  return out;
}

/**
 * A raw field is reused only if it still says the same thing and cannot break the framing: every
 * line break in it is followed by whitespace (a fold, not a new header), and no bare CR or NUL.
 */
function rawFits(h: SipHeader): h is SipHeader & { raw: string } {
  if (h.raw === undefined || /\r(?!\n)|\r?\n(?![ \t])|\x00/.test(h.raw)) return false;
  const field = readHeaderField(h.raw);
  return field !== null && field.name === h.name && field.value === h.value;
}

/**
 * A value built in code must not smuggle a line break in: a CR or LF run becomes one space, which
 * is also what folding means (RFC 3261 section 7.3.1), so the header reads the same.
 */
const flatten = (value: string): string => value.replace(/[ \t]*[\r\n][\r\n \t]*/g, ' ');

/** CRLF text; Content-Length (the first one, where it stood, else at the end) set from the body. */
export function serializeSipMessage(msg: SipMessage, options: SerializeOptions = {}): string {
  const text = options.encoding === 'text';
  const body = text ? msg.body : asBytes(msg.body);
  const length = text ? utf8ByteLength(body) : body.length;
  const start = msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  const lines = [flatten(start)];
  let hasLength = false;
  for (const h of msg.headers) {
    if (h.name === 'Content-Length') {
      // Kept as written when it is already right (`l: 0` forwarded as is), else rewritten.
      if (!hasLength) lines.push(rawFits(h) && h.value === String(length) ? h.raw : `Content-Length: ${length}`);
      hasLength = true;
    } else lines.push(rawFits(h) ? h.raw : `${flatten(h.name)}: ${flatten(h.value)}`);
  }
  if (!hasLength) lines.push(`Content-Length: ${length}`);
  const head = lines.join('\r\n');
  return `${text ? head : asBytes(head)}\r\n\r\n${body}`;
}
