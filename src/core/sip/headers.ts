/**
 * The header values a proxy reads (RFC 3261 sections 20 and 25), each parser taking one value
 * (see splitList for lists, or parseViaList/parseContact that split themselves) and returning a
 * Result with a stable code:
 *
 *   parseVia / parseViaList   Via: protocol, transport, sent-by, branch, received, rport, maddr, ttl
 *   parseNameAddr             From, To, Route, Record-Route, Contact entries, Refer-To
 *   parseContact              Contact: `*` or a list of name-addrs
 *   parseCSeq, parseMaxForwards, parseContentLength, parseExpires   the scalar headers
 *
 * URIs, host:port and parameters live in uri.ts and are re-exported here. Parameter maps keep
 * their order, names lower-cased, a flag parameter (`;lr`, `;rport`) has the value ''.
 */
import { coreError, fail, ok, type Result } from '../result.ts';
import { splitList, TOKEN } from './names.ts';
import { SipError } from './types.ts';
import { isIpLiteral, parseHostPort, parseParams, parseSipUri, type SipUri } from './uri.ts';

export { formatSipUri, isIpLiteral, parseHostPort, parseParams, parseSipUri, unescapeSip, type SipUri } from './uri.ts';

export interface Via {
  /** `SIP/2.0` as written (the only version there is). */
  readonly protocol: string;
  /** `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`, upper-cased. */
  readonly transport: string;
  /** sent-by: a host name, IPv4, or IPv6 without brackets; the port when written. */
  readonly host: string;
  readonly port: number | null;
  readonly params: ReadonlyMap<string, string>;
  /** The transaction id (section 17.2.3); RFC 3261 ones start with z9hG4bK. */
  readonly branch: string | null;
  /** The address the request came from, brackets of an IPv6 one removed (section 18.2.1). */
  readonly received: string | null;
  /** RFC 3581: null when absent, 'requested' for a bare `;rport`, else the port filled in. */
  readonly rport: number | 'requested' | null;
  readonly maddr: string | null;
  readonly ttl: number | null;
}

export interface NameAddr {
  readonly displayName: string | null;
  /** The URI text as written (for forwarding), and parsed when it is a SIP URI. */
  readonly uriText: string;
  readonly uri: SipUri | null;
  /** Header parameters (`tag`, `expires`, `q`), not the URI's own. */
  readonly params: ReadonlyMap<string, string>;
}

export type Contact = { readonly star: true } | { readonly star: false; readonly addresses: readonly NameAddr[] };

const bad = (code: string, message: string): Result<never> => fail(coreError(code, message));
const show = (text: string, max = 80): string => JSON.stringify(text.slice(0, max));

/**
 * `SIP / 2.0 / UDP host : port ;params`. LWS may surround the slashes and the colon (SLASH and
 * COLON in section 25.1 include SWS), which is why this is a regular expression over pieces.
 */
const VIA = /^(SIP\s*\/\s*2\.0)\s*\/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(\[[^\]]*\]|[^\s;:[]+)(?:\s*:\s*([^\s;]*))?\s*(;[\s\S]*)?$/i;

/** One Via value (RFC 3261 section 20.42, RFC 3581); a header holding several: parseViaList. */
export function parseVia(value: string): Result<Via> {
  const m = VIA.exec(value.trim());
  if (!m) return bad(SipError.VIA, `not a Via value "SIP/2.0/<transport> host[:port][;params]" (RFC 3261 section 20.42): ${show(value)}`);
  const hostPort = parseHostPort(m[4] === undefined ? m[3]! : `${m[3]}:${m[4]}`);
  if (!hostPort.ok) return bad(SipError.VIA, `Via sent-by: ${hostPort.error.message}`);
  const parsed = parseParams(m[5] ?? '');
  if (!parsed.ok) return bad(SipError.VIA, `Via parameters: ${parsed.error.message}`);
  const params = parsed.value;
  const branch = params.get('branch');
  if (branch !== undefined && !TOKEN.test(branch)) return bad(SipError.VIA, `Via branch ${show(branch, 40)} is not a token (RFC 3261 section 20.42)`);
  let received = params.get('received');
  if (received !== undefined) {
    // The grammar says a bare address; some stacks bracket an IPv6 one, which reads the same.
    if (/^\[.*\]$/.test(received)) received = received.slice(1, -1);
    if (!isIpLiteral(received)) return bad(SipError.VIA, `Via received ${show(received, 50)} is not an IP address (RFC 3261 section 20.42)`);
  }
  const rportText = params.get('rport');
  if (rportText !== undefined && rportText !== '' && !(/^\d{1,5}$/.test(rportText) && Number(rportText) >= 1 && Number(rportText) <= 65535)) {
    return bad(SipError.VIA, `Via rport ${show(rportText, 10)} is not a port (RFC 3581 section 3)`);
  }
  const ttlText = params.get('ttl');
  if (ttlText !== undefined && !(/^\d{1,3}$/.test(ttlText) && Number(ttlText) <= 255)) return bad(SipError.VIA, `Via ttl ${show(ttlText, 10)} is not 0..255 (RFC 3261 section 20.42)`);
  const maddr = params.get('maddr');
  if (maddr !== undefined) {
    const host = parseHostPort(maddr);
    if (!host.ok || host.value.port !== null) return bad(SipError.VIA, `Via maddr ${show(maddr, 50)} is not a host (RFC 3261 section 20.42)`);
  }
  return ok({
    protocol: m[1]!.replace(/\s+/g, ''),
    transport: m[2]!.toUpperCase(),
    host: hostPort.value.host,
    port: hostPort.value.port,
    params,
    branch: branch ?? null,
    received: received ?? null,
    rport: rportText === undefined ? null : rportText === '' ? 'requested' : Number(rportText),
    maddr: maddr ?? null,
    ttl: ttlText === undefined ? null : Number(ttlText),
  });
}

/** Every Via in one header value, top first (`Via: a, b` is two hops). */
export function parseViaList(value: string): Result<Via[]> {
  const out: Via[] = [];
  for (const one of splitList(value)) {
    const via = parseVia(one);
    if (!via.ok) return via;
    out.push(via.value);
  }
  if (out.length === 0) return bad(SipError.VIA, 'an empty Via header');
  return ok(out);
}

/** A quoted string at the start of `text`: its content unescaped and the text after it, or null. */
function quotedPrefix(text: string): { content: string; rest: string } | null {
  const m = /^"((?:[^"\\]|\\[\s\S])*)"/.exec(text);
  return m ? { content: m[1]!.replace(/\\([\s\S])/g, '$1'), rest: text.slice(m[0].length) } : null;
}

/**
 * From, To, Contact, Route, Record-Route: `"Name" <uri>;params`, `Name <uri>;params`, `<uri>` or a
 * bare addr-spec, whose `;params` are then the header's, not the URI's (RFC 3261 section 20.10).
 */
export function parseNameAddr(value: string): Result<NameAddr> {
  const text = value.trim();
  let displayName: string | null = null;
  let uriText: string;
  let paramText: string;
  let afterName = text;
  if (text[0] === '"') {
    // A quoted display name may hold '<', '>', ',' and escaped quotes: read past it first.
    const q = quotedPrefix(text);
    if (!q) return bad(SipError.NAME_ADDR, `unterminated quoted display name: ${show(text, 60)}`);
    displayName = q.content;
    afterName = q.rest.trimStart();
    if (afterName[0] !== '<') return bad(SipError.NAME_ADDR, `a quoted display name must be followed by <URI> (RFC 3261 section 20.10): ${show(text)}`);
  }
  const open = afterName.indexOf('<');
  if (open !== -1) {
    if (displayName === null) {
      const name = afterName.slice(0, open).trim();
      if (name.includes('"')) return bad(SipError.NAME_ADDR, `a stray quote in the display name: ${show(name, 60)}`);
      if (name !== '') displayName = name.replace(/\s+/g, ' ');
    }
    const close = afterName.indexOf('>', open);
    if (close === -1) return bad(SipError.NAME_ADDR, `'<' without '>': ${show(text)}`);
    uriText = afterName.slice(open + 1, close).trim();
    paramText = afterName.slice(close + 1);
  } else {
    // addr-spec: a URI holding ',', ';' or '?' must be in <...> (section 20), so ';' ends it here.
    const semi = afterName.indexOf(';');
    uriText = semi === -1 ? afterName : afterName.slice(0, semi).trim();
    paramText = semi === -1 ? '' : afterName.slice(semi);
  }
  if (uriText === '' || /\s/.test(uriText)) return bad(SipError.NAME_ADDR, `no URI, or one with spaces: ${show(uriText)}`);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uriText)) return bad(SipError.NAME_ADDR, `${show(uriText)} is not an absolute URI (RFC 3261 section 25.1)`);
  const params = parseParams(paramText);
  if (!params.ok) return bad(SipError.NAME_ADDR, `header parameters: ${params.error.message}`);
  const uri = /^sips?:/i.test(uriText) ? parseSipUri(uriText) : null;
  if (uri && !uri.ok) return uri;
  return ok({ displayName, uriText, uri: uri ? uri.value : null, params: params.value });
}

/**
 * A whole Contact value: `*` (only in a REGISTER that removes every binding, with Expires: 0,
 * section 10.2.2, which the caller checks), or one or more name-addrs.
 */
export function parseContact(value: string): Result<Contact> {
  const entries = splitList(value);
  if (entries.length === 1 && entries[0] === '*') return ok({ star: true });
  if (entries.length === 0) return bad(SipError.CONTACT, 'an empty Contact header');
  const addresses: NameAddr[] = [];
  for (const entry of entries) {
    if (entry === '*') return bad(SipError.CONTACT, "'*' mixed with addresses in Contact (RFC 3261 section 20.10)");
    const addr = parseNameAddr(entry);
    if (!addr.ok) return addr;
    addresses.push(addr.value);
  }
  return ok({ star: false, addresses });
}

/** `1*DIGIT` within [0, max]; null otherwise. Up to 10 digits so that Number() stays exact. */
function boundedNumber(value: string, max: number): number | null {
  const t = value.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  const n = Number(t);
  return n <= max ? n : null;
}

/** `314159 INVITE`: the number below 2^31 (section 8.1.1.5), the method a token. */
export function parseCSeq(value: string): Result<{ seq: number; method: string }> {
  const m = /^(\d{1,10})\s+(\S+)$/.exec(value.trim());
  if (!m || Number(m[1]) >= 2 ** 31 || !TOKEN.test(m[2]!)) return bad(SipError.CSEQ, `not a CSeq value "number method", number below 2^31 (RFC 3261 section 8.1.1.5): ${show(value, 40)}`);
  return ok({ seq: Number(m[1]), method: m[2]! });
}

/** 0..255 (RFC 3261 section 8.1.1.6; RFC 4475 section 3.1.2.4 treats 256 and up as malformed). */
export function parseMaxForwards(value: string): Result<number> {
  const n = boundedNumber(value, 255);
  return n === null ? bad(SipError.MAX_FORWARDS, `Max-Forwards ${show(value, 20)} is not 0..255 (RFC 3261 section 8.1.1.6)`) : ok(n);
}

/** A number of body bytes (RFC 3261 section 20.14). */
export function parseContentLength(value: string): Result<number> {
  const n = boundedNumber(value, Number.MAX_SAFE_INTEGER);
  return n === null ? bad(SipError.CONTENT_LENGTH, `Content-Length ${show(value, 20)} is not a number of bytes (RFC 3261 section 20.14)`) : ok(n);
}

/**
 * delta-seconds 0..2^32-1 (RFC 3261 section 20.19). A larger or malformed value is an error here;
 * RFC 4475 section 3.1.2.4 lets the caller fall back to its default expiry instead of refusing.
 */
export function parseExpires(value: string): Result<number> {
  const n = boundedNumber(value, 2 ** 32 - 1);
  return n === null ? bad(SipError.EXPIRES, `Expires ${show(value, 20)} is not delta-seconds 0..2^32-1 (RFC 3261 section 20.19)`) : ok(n);
}
