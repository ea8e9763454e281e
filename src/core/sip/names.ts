/**
 * Header fields as text: canonical names (compact forms expanded), one field read from its raw
 * lines, list values split at top-level commas, and lookups/edits on a message's header list.
 *
 *   canonicalHeaderName('i')      -> 'Call-ID'
 *   readHeaderField(raw)          -> { name, value } of one (possibly folded) field, or null
 *   splitList(value)              -> the comma-separated values of a list header
 *   headerValue / headerValues    -> first value / every value of a header
 *   withHeaders(msg, change)      -> a copy with headers dropped, prepended or appended
 */
import type { SipHeader, SipMessage } from './types.ts';

/** token (RFC 3261 section 25.1). */
export const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/**
 * Compact forms: RFC 3261 section 7.3.3 (i m f t v l c k s e), and the ones later RFCs registered
 * that phones send: o and u (RFC 6665), r and b (RFC 3515, 3892), x (RFC 4028), a j d (RFC 3841),
 * y n (RFC 4474).
 */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'Call-ID', m: 'Contact', f: 'From', t: 'To', v: 'Via', l: 'Content-Length', c: 'Content-Type', k: 'Supported',
  s: 'Subject', e: 'Content-Encoding', o: 'Event', r: 'Refer-To', u: 'Allow-Events', x: 'Session-Expires',
  a: 'Accept-Contact', b: 'Referred-By', d: 'Request-Disposition', j: 'Reject-Contact', y: 'Identity', n: 'Identity-Info',
};

/** Names whose usual spelling is not plain capitalisation of the words. */
const SPECIAL: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'mime-version': 'MIME-Version',
  'p-media-authorization': 'P-Media-Authorization', rack: 'RAck', rseq: 'RSeq',
};

/** Header names compare case-insensitively (RFC 3261 section 7.3.1); one spelling makes lookups plain. */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  const compact = lower.length === 1 ? COMPACT[lower] : undefined;
  if (compact !== undefined) return compact;
  return SPECIAL[lower] ?? lower.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * One header field from its raw text (the first line and its continuation lines, joined by CRLF).
 * The value is the text after the colon with each line trimmed and the lines joined by one space:
 * folding is equivalent to a single SP (RFC 3261 section 7.3.1). Null when the first line is not
 * `token *WSP ":"`. Both the parser and the serialiser use this, so a raw field is trusted for
 * output only when it reads back to the same name and value.
 */
export function readHeaderField(raw: string): { name: string; value: string } | null {
  const colon = raw.indexOf(':');
  if (colon <= 0) return null;
  const name = raw.slice(0, colon).replace(/[ \t]+$/, '');
  if (!TOKEN.test(name)) return null;
  const value = raw
    .slice(colon + 1)
    .split(/\r?\n/)
    .map((piece) => piece.trim())
    .filter((piece) => piece !== '')
    .join(' ');
  return { name: canonicalHeaderName(name), value };
}

/**
 * Splits at `sep` outside quoted strings (a quoted value may hold the separator; `\\` escapes
 * inside quotes), and with `angleBrackets` also outside <...>. The pieces are as written.
 */
export function splitOutside(text: string, sep: string, angleBrackets = false): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (angleBrackets && c === '<') depth++;
    else if (angleBrackets && c === '>' && depth > 0) depth--;
    else if (c === sep && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/**
 * Splits a header value at commas outside quoted strings and <...> (RFC 3261 section 7.3.1): a
 * display name or a URI parameter may hold a comma without starting a new value.
 */
export function splitList(value: string): string[] {
  return splitOutside(value, ',', true)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

type HasHeaders = { readonly headers: readonly SipHeader[] };

/** The first value of a header (name in any case or compact form), or undefined. */
export function headerValue(msg: HasHeaders, name: string): string | undefined {
  const wanted = canonicalHeaderName(name);
  return msg.headers.find((h) => h.name === wanted)?.value;
}

/** Every value of a header, each field split at its top-level commas (Via, Route, Contact, ...). */
export function headerValues(msg: HasHeaders, name: string): string[] {
  const wanted = canonicalHeaderName(name);
  return msg.headers.filter((h) => h.name === wanted).flatMap((h) => splitList(h.value));
}

/** A copy with headers changed: `drop` removes every header of those names, `prepend`/`append` add. */
export function withHeaders<M extends SipMessage>(
  msg: M,
  change: { drop?: readonly string[]; prepend?: readonly SipHeader[]; append?: readonly SipHeader[] },
): M {
  const drop = new Set((change.drop ?? []).map(canonicalHeaderName));
  const kept = msg.headers.filter((h) => !drop.has(h.name));
  return { ...msg, headers: [...(change.prepend ?? []), ...kept, ...(change.append ?? [])] };
}
