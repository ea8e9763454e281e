/**
 * SIP messages (RFC 3261 section 7), parsed without I/O; the module callers import for messages.
 *
 *   parseSipMessage(bytes, options?) -> a request or a response: start line, headers in order
 *                                       (compact names expanded, folded lines joined, raw text
 *                                       kept), body by Content-Length
 *   splitHead(bytes)                 -> where the header section ends (shared with the framer)
 *
 * Re-exported here so that one import serves: the message types and limits (types.ts), header
 * lookups and edits (names.ts), and serializeSipMessage (serialize.ts).
 *
 * Bounded: the whole message, each line and the number of headers have limits, checked before
 * any work grows with them. Every refusal has a stable code (SipError) and names what is wrong.
 */
import { coreError, fail, ok, type Result } from '../result.ts';
import { utf8ByteLength } from '../text/utf8.ts';
import { headerValue, readHeaderField, TOKEN } from './names.ts';
import { DEFAULT_SIP_LIMITS, SipError, type SipEncoding, type SipHeader, type SipLimits, type SipMessage, type SipRequest, type SipResponse } from './types.ts';

export * from './types.ts';
export { canonicalHeaderName, headerValue, headerValues, readHeaderField, splitList, withHeaders } from './names.ts';
export { serializeSipMessage, type SerializeOptions } from './serialize.ts';

export interface SipParseOptions extends Partial<SipLimits> {
  /** How to count body bytes: see SipEncoding. Default `bytes`. */
  readonly encoding?: SipEncoding;
  /**
   * Refuse a request without Max-Forwards. RFC 3261 section 8.1.1.6 says a UAC MUST send one,
   * but section 16.6 step 3 has a proxy add it when absent, and RFC 2543 phones omit it; so the
   * default is lenient and a proxy treats absence as 70.
   */
  readonly requireMaxForwards?: boolean;
  /** Refuse a message without Content-Length, as a stream must (RFC 3261 section 18.3). */
  readonly requireContentLength?: boolean;
}

type StartLine = Omit<SipRequest, 'headers' | 'body'> | Omit<SipResponse, 'headers' | 'body'>;

const refuse = (code: string, message: string): Result<never> => fail(coreError(code, message));
const show = (text: string, max = 80): string => JSON.stringify(text.slice(0, max));

/**
 * Where the header section ends: `head` is the index of the empty line, `body` where the body
 * starts. CRLF is the rule; a bare-LF message (some test tools send one) is read too. Null when
 * there is no empty line, i.e. the message is all head.
 */
export function splitHead(bytes: string): { head: number; body: number } | null {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { head: crlf, body: crlf + 4 };
  if (lf !== -1) return { head: lf, body: lf + 2 };
  return null;
}

/**
 * C0 controls other than HTAB (and DEL) have no place in a header section outside a quoted-pair
 * (RFC 3261 section 25.1), which nobody sends; a bare CR or a NUL is how one parser is made to see
 * a different message than the next, so they are refused rather than passed on.
 */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

function parseStartLine(line: string): Result<StartLine> {
  if (/^SIP\//i.test(line)) {
    // The version is case-insensitive (section 7.1); the reason phrase may be empty or missing.
    const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/i.exec(line);
    if (!m) return refuse(SipError.START_LINE, `not a SIP/2.0 status line with a code 100..699 (RFC 3261 section 7.2): ${show(line)}`);
    return ok({ kind: 'response', status: Number(m[1]), reason: m[2] ?? '' });
  }
  // Request-Line = Method SP Request-URI SP SIP-Version: exactly one space each (section 25.1).
  const parts = line.split(' ');
  if (parts.length !== 3 || !/^SIP\/2\.0$/i.test(parts[2]!)) return refuse(SipError.START_LINE, `not a SIP/2.0 request line "METHOD URI SIP/2.0" (RFC 3261 section 7.1): ${show(line)}`);
  const [method, uri] = parts as [string, string, string];
  if (!TOKEN.test(method)) return refuse(SipError.START_LINE, `method ${show(method, 32)} is not a token (RFC 3261 section 25.1)`);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/.test(uri)) return refuse(SipError.START_LINE, `Request-URI ${show(uri)} is not an absolute URI (RFC 3261 section 7.1)`);
  return ok({ kind: 'request', method, uri });
}

/** Header lines -> fields, each with its raw text; a line starting with SP/HTAB continues the last. */
function parseHeaders(lines: readonly string[], maxHeaders: number): Result<SipHeader[]> {
  const raws: string[] = [];
  for (const line of lines) {
    if (line[0] === ' ' || line[0] === '\t') {
      if (raws.length === 0) return refuse(SipError.HEADER, 'a continuation line (leading whitespace) before any header (RFC 3261 section 7.3.1)');
      raws[raws.length - 1] += `\r\n${line}`;
      continue;
    }
    raws.push(line);
    if (raws.length > maxHeaders) return refuse(SipError.TOO_LARGE, `more than ${maxHeaders} headers`);
  }
  const headers: SipHeader[] = [];
  for (const raw of raws) {
    const field = readHeaderField(raw);
    if (field === null) return refuse(SipError.HEADER, `not a header line "name: value" with a token name (RFC 3261 section 7.3): ${show(raw)}`);
    headers.push({ name: field.name, value: field.value, raw });
  }
  return ok(headers);
}

/** At most one of these (section 7.3.1 allows repeats only for comma-separated list headers). */
const SINGLE = ['Call-ID', 'CSeq', 'From', 'To', 'Max-Forwards'] as const;
const REQUIRED = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;

function checkHeaders(start: StartLine, headers: readonly SipHeader[], options: SipParseOptions): Result<true> {
  const msg = { headers };
  const required = start.kind === 'request' && options.requireMaxForwards ? [...REQUIRED, 'Max-Forwards'] : REQUIRED;
  for (const name of required) {
    if (headerValue(msg, name) === undefined) {
      const section = start.kind === 'request' ? '8.1.1' : '8.2.6';
      return refuse(SipError.MISSING_HEADER, `no ${name} header (RFC 3261 section ${section})`);
    }
  }
  for (const name of SINGLE) {
    if (headers.filter((h) => h.name === name).length > 1) return refuse(SipError.HEADER, `more than one ${name} header (RFC 3261 section 7.3.1)`);
  }
  const cseqText = headerValue(msg, 'CSeq')!;
  const cseq = /^(\d{1,10})\s+([^\s]+)$/.exec(cseqText);
  if (!cseq || Number(cseq[1]) >= 2 ** 31 || !TOKEN.test(cseq[2]!)) {
    return refuse(SipError.CSEQ, `CSeq ${show(cseqText, 40)} is not "number method" with the number below 2^31 (RFC 3261 section 8.1.1.5)`);
  }
  // Section 8.1.1.5: the CSeq method equals the request's, for ACK and CANCEL too.
  if (start.kind === 'request' && cseq[2] !== start.method) {
    return refuse(SipError.CSEQ, `CSeq method ${cseq[2]} differs from the request method ${start.method} (RFC 3261 section 8.1.1.5)`);
  }
  return ok(true);
}

/** The first `length` bytes of `rest`, or null when it holds fewer (or ends mid-character in text). */
function takeBody(rest: string, length: number, encoding: SipEncoding): string | null {
  if (encoding === 'bytes') return length > rest.length ? null : rest.slice(0, length);
  let bytes = 0;
  let i = 0;
  while (bytes < length && i < rest.length) {
    const c = rest.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && (rest.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    i += pair ? 2 : 1;
  }
  return bytes === length ? rest.slice(0, i) : null;
}

function readBody(headers: readonly SipHeader[], rest: string, options: SipParseOptions): Result<string> {
  const lengths = headers.filter((h) => h.name === 'Content-Length');
  if (lengths.length === 0) {
    if (options.requireContentLength) return refuse(SipError.CONTENT_LENGTH, 'no Content-Length, which a stream needs to find the end of a message (RFC 3261 section 18.3)');
    return ok(rest); // a datagram without Content-Length: the body is the rest (section 18.3)
  }
  if (new Set(lengths.map((h) => h.value)).size > 1) return refuse(SipError.CONTENT_LENGTH, 'two different Content-Length headers');
  const text = lengths[0]!.value;
  if (!/^\d{1,7}$/.test(text)) return refuse(SipError.CONTENT_LENGTH, `Content-Length ${show(text, 20)} is not a number of bytes (RFC 3261 section 20.14)`);
  // Section 18.3: fewer bytes than Content-Length says is an error; more are cut off (a datagram
  // may be padded), so that what is forwarded is exactly what the length announces.
  const body = takeBody(rest, Number(text), options.encoding ?? 'bytes');
  if (body === null) return refuse(SipError.CONTENT_LENGTH, `Content-Length ${text} but the body is shorter (RFC 3261 section 18.3)`);
  return ok(body);
}

/** One whole message: a datagram, or what the stream framer cut. */
export function parseSipMessage(bytes: string, options: SipParseOptions = {}): Result<SipMessage> {
  const limits: SipLimits = { ...DEFAULT_SIP_LIMITS, ...options };
  // UTF-8 is never shorter than UTF-16 code units, so the cheap count refuses most oversize text.
  const size = bytes.length > limits.maxMessageBytes || options.encoding !== 'text' ? bytes.length : utf8ByteLength(bytes);
  if (size > limits.maxMessageBytes) return refuse(SipError.TOO_LARGE, `message of ${size} bytes, more than ${limits.maxMessageBytes}`);
  if (bytes === '') return refuse(SipError.START_LINE, 'an empty message');
  const end = splitHead(bytes);
  const headText = end === null ? bytes.replace(/\r?\n$/, '') : bytes.slice(0, end.head);
  const lines = headText.split(/\r?\n/);
  for (const line of lines) {
    if (line.length > limits.maxLineBytes) return refuse(SipError.TOO_LARGE, `a line of ${line.length} bytes, more than ${limits.maxLineBytes}`);
    if (CONTROL.test(line)) return refuse(SipError.HEADER, `a control character (a bare CR, NUL, ...) in the header section (RFC 3261 section 25.1): ${show(line)}`);
  }
  const start = parseStartLine(lines[0]!);
  if (!start.ok) return start;
  const headers = parseHeaders(lines.slice(1), limits.maxHeaders);
  if (!headers.ok) return headers;
  const checked = checkHeaders(start.value, headers.value, options);
  if (!checked.ok) return checked;
  const body = readBody(headers.value, end === null ? '' : bytes.slice(end.body), options);
  if (!body.ok) return body;
  return ok({ ...start.value, headers: headers.value, body: body.value });
}
