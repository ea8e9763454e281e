/**
 * SIP messages (RFC 3261 section 7), parsed and serialised without I/O. The input is a byte
 * string (one character per byte, as a datagram or a framed stream message arrives), so that
 * Content-Length counts what it counts on the wire and a header is forwarded exactly as received.
 *
 *   parseSipMessage(bytes)   -> a request or a response: start line, headers in order (compact
 *                               names expanded, folded lines joined), body by Content-Length
 *   serializeSipMessage(msg) -> CRLF text with a Content-Length computed from the body
 *
 * Bounded: the whole message, each line and the number of headers have limits, checked before
 * any work grows with them. Every refusal has a stable code and names what is wrong.
 */
import { coreError, fail, ok, type Result } from '../result.ts';

export const MAX_SIP_MESSAGE_BYTES = 64 * 1024;
export const MAX_SIP_HEADERS = 200;
export const MAX_SIP_LINE_BYTES = 8 * 1024;

export const SipError = {
  TOO_LARGE: 'E_SIP_TOO_LARGE',
  START_LINE: 'E_SIP_START_LINE',
  HEADER: 'E_SIP_HEADER',
  MISSING_HEADER: 'E_SIP_MISSING_HEADER',
  CONTENT_LENGTH: 'E_SIP_CONTENT_LENGTH',
  CSEQ: 'E_SIP_CSEQ',
} as const;

export interface SipHeader {
  /** Canonical spelling (`Via`, `Call-ID`), compact forms expanded. */
  readonly name: string;
  /** As received, folded lines joined with one space, outer whitespace trimmed. */
  readonly value: string;
}

interface SipCommon {
  readonly headers: readonly SipHeader[];
  /** Byte string; empty when there is none. */
  readonly body: string;
}

export interface SipRequest extends SipCommon {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
}

export interface SipResponse extends SipCommon {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/** RFC 3261 section 7.3.3 compact forms, and RFC 3265/3515/4028 ones in common use. */
const COMPACT: Record<string, string> = {
  i: 'Call-ID', m: 'Contact', f: 'From', t: 'To', v: 'Via', l: 'Content-Length', c: 'Content-Type', k: 'Supported',
  s: 'Subject', e: 'Content-Encoding', o: 'Event', r: 'Refer-To', u: 'Allow-Events', x: 'Session-Expires', a: 'Accept-Contact',
  b: 'Referred-By', d: 'Request-Disposition', j: 'Reject-Contact', y: 'Identity', n: 'Identity-Info',
};

/** Names whose usual spelling is not plain capitalisation of the words. */
const SPECIAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'mime-version': 'MIME-Version',
  'p-media-authorization': 'P-Media-Authorization', 'rack': 'RAck', 'rseq': 'RSeq',
};

/** token (RFC 3261 section 25.1). */
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1 && COMPACT[lower] !== undefined) return COMPACT[lower]!;
  return SPECIAL[lower] ?? lower.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

const refuse = (code: string, message: string): Result<never> => fail(coreError(code, message));

/** The first value of a header (case-insensitive name), or undefined. */
export function headerValue(msg: { headers: readonly SipHeader[] }, name: string): string | undefined {
  const wanted = canonicalHeaderName(name);
  return msg.headers.find((h) => h.name === wanted)?.value;
}

/** Every value of a header, each header line split at its top-level commas (Via, Route, Contact, ...). */
export function headerValues(msg: { headers: readonly SipHeader[] }, name: string): string[] {
  const wanted = canonicalHeaderName(name);
  return msg.headers.filter((h) => h.name === wanted).flatMap((h) => splitList(h.value));
}

/** Splits a header value at commas outside quotes and angle brackets (RFC 3261 section 7.3.1). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') depth++;
    else if (c === '>' && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v !== '');
}

/** Where the header block ends: the index of the empty line's end, and the line-ending style. */
function headEnd(bytes: string): { head: number; body: number } | null {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { head: crlf, body: crlf + 4 };
  if (lf !== -1) return { head: lf, body: lf + 2 };
  return null;
}

function parseStartLine(line: string): Result<Omit<SipRequest, 'headers' | 'body'> | Omit<SipResponse, 'headers' | 'body'>> {
  if (line.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/.exec(line);
    if (!m) return refuse(SipError.START_LINE, `not a SIP/2.0 status line (RFC 3261 section 7.2): ${JSON.stringify(line.slice(0, 80))}`);
    return ok({ kind: 'response', status: Number(m[1]), reason: m[2]! });
  }
  const parts = line.split(' ');
  if (parts.length !== 3 || parts[2] !== 'SIP/2.0') return refuse(SipError.START_LINE, `not a SIP/2.0 request line (RFC 3261 section 7.1): ${JSON.stringify(line.slice(0, 80))}`);
  const [method, uri] = parts as [string, string, string];
  if (!TOKEN.test(method)) return refuse(SipError.START_LINE, `method ${JSON.stringify(method.slice(0, 32))} is not a token`);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/.test(uri)) return refuse(SipError.START_LINE, `Request-URI ${JSON.stringify(uri.slice(0, 80))} is not an absolute URI`);
  return ok({ kind: 'request', method, uri });
}

function parseHeaders(lines: readonly string[]): Result<SipHeader[]> {
  const headers: SipHeader[] = [];
  for (const line of lines) {
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') {
      // Folding (RFC 3261 section 7.3.1): continues the previous header's value.
      const last = headers.pop();
      if (!last) return refuse(SipError.HEADER, 'a continuation line before any header');
      headers.push({ name: last.name, value: `${last.value} ${line.trim()}`.trim() });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return refuse(SipError.HEADER, `not a header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim();
    if (!TOKEN.test(name)) return refuse(SipError.HEADER, `header name ${JSON.stringify(name.slice(0, 40))} is not a token`);
    headers.push({ name: canonicalHeaderName(name), value: line.slice(colon + 1).trim() });
    if (headers.length > MAX_SIP_HEADERS) return refuse(SipError.TOO_LARGE, `more than ${MAX_SIP_HEADERS} headers`);
  }
  return ok(headers);
}

const REQUIRED_REQUEST = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;
const REQUIRED_RESPONSE = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;

/** One whole message (a datagram, or what the stream framer cut). */
export function parseSipMessage(bytes: string): Result<SipMessage> {
  if (bytes.length > MAX_SIP_MESSAGE_BYTES) return refuse(SipError.TOO_LARGE, `message of ${bytes.length} bytes, more than ${MAX_SIP_MESSAGE_BYTES}`);
  const end = headEnd(bytes);
  const headText = end === null ? bytes.replace(/\r?\n$/, '') : bytes.slice(0, end.head);
  const rest = end === null ? '' : bytes.slice(end.body);
  const lines = headText.split(/\r?\n/);
  for (const line of lines) {
    if (line.length > MAX_SIP_LINE_BYTES) return refuse(SipError.TOO_LARGE, `a line of ${line.length} bytes, more than ${MAX_SIP_LINE_BYTES}`);
  }
  const start = parseStartLine(lines[0]!);
  if (!start.ok) return start;
  const headers = parseHeaders(lines.slice(1));
  if (!headers.ok) return headers;
  const msg = { headers: headers.value };

  for (const name of start.value.kind === 'request' ? REQUIRED_REQUEST : REQUIRED_RESPONSE) {
    if (headerValue(msg, name) === undefined) return refuse(SipError.MISSING_HEADER, `no ${name} header (RFC 3261 section 8.1.1)`);
  }
  const cseq = /^(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)$/.exec(headerValue(msg, 'CSeq')!);
  if (!cseq || Number(cseq[1]) >= 2 ** 31) return refuse(SipError.CSEQ, `CSeq ${JSON.stringify(headerValue(msg, 'CSeq')!.slice(0, 40))} is not "number method" with number below 2^31 (RFC 3261 section 8.1.1.5)`);
  if (start.value.kind === 'request' && cseq[2] !== start.value.method) {
    return refuse(SipError.CSEQ, `CSeq method ${cseq[2]} differs from the request method ${start.value.method}`);
  }

  let body = rest;
  const lengths = msg.headers.filter((h) => h.name === 'Content-Length');
  if (lengths.length > 1 && new Set(lengths.map((h) => h.value)).size > 1) return refuse(SipError.CONTENT_LENGTH, 'two different Content-Length headers');
  if (lengths.length > 0) {
    const text = lengths[0]!.value;
    if (!/^\d{1,7}$/.test(text)) return refuse(SipError.CONTENT_LENGTH, `Content-Length ${JSON.stringify(text.slice(0, 20))} is not a number of bytes`);
    const length = Number(text);
    if (length > rest.length) return refuse(SipError.CONTENT_LENGTH, `Content-Length ${length} but only ${rest.length} bytes of body (RFC 3261 section 18.3)`);
    body = rest.slice(0, length);
  }
  return ok({ ...start.value, headers: msg.headers, body });
}

/** CRLF text; Content-Length is set from the body (an existing one replaced in place). */
export function serializeSipMessage(msg: SipMessage): string {
  const start = msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  const lines = [start];
  let hasLength = false;
  for (const h of msg.headers) {
    if (h.name === 'Content-Length') {
      if (hasLength) continue;
      hasLength = true;
      lines.push(`Content-Length: ${msg.body.length}`);
    } else lines.push(`${h.name}: ${h.value}`);
  }
  if (!hasLength) lines.push(`Content-Length: ${msg.body.length}`);
  return `${lines.join('\r\n')}\r\n\r\n${msg.body}`;
}

/** A copy with headers changed: `drop` removes every header of those names, `prepend`/`append` add. */
export function withHeaders<M extends SipMessage>(msg: M, change: { drop?: readonly string[]; prepend?: readonly SipHeader[]; append?: readonly SipHeader[] }): M {
  const drop = new Set((change.drop ?? []).map(canonicalHeaderName));
  const kept = msg.headers.filter((h) => !drop.has(h.name));
  return { ...msg, headers: [...(change.prepend ?? []), ...kept, ...(change.append ?? [])] };
}
