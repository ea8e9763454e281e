/**
 * SIP and SIPS URIs (RFC 3261 section 19.1) and the pieces other headers share with them:
 *
 *   parseParams(';a=1;b')   -> ordered map of parameters (names lower-cased, a flag has '')
 *   parseHostPort('[::1]:5060') -> host (IPv6 without brackets) and port
 *   parseSipUri(text)       -> scheme, user, password, host, port, uri-params, headers
 *   formatSipUri(uri)       -> the text again
 *   unescapeSip('%61b')     -> 'ab' (escapes decoded to bytes, for comparing user parts)
 *
 * A URI keeps its escapes as written (user, params, headers): a proxy forwards URIs, and
 * rewriting the escaping of one could change how the next hop compares it.
 */
import { parseIPv4, parseIPv6 } from '../net/ip.ts';
import { coreError, fail, ok, type Result } from '../result.ts';
import { splitOutside, TOKEN } from './names.ts';
import { SipError } from './types.ts';

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  /** As written, escapes kept; null when the URI has no user part. */
  readonly user: string | null;
  readonly password: string | null;
  /** A host name, an IPv4 address, or an IPv6 address without its brackets. */
  readonly host: string;
  readonly port: number | null;
  readonly params: ReadonlyMap<string, string>;
  /** What follows `?`, unparsed. */
  readonly headers: string;
}

const bad = (code: string, message: string): Result<never> => fail(coreError(code, message));
const show = (text: string, max = 80): string => JSON.stringify(text.slice(0, max));

/** hostname (RFC 3261 section 25.1): dot-separated labels, the last one starting with a letter. */
const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?$/;
/** A parameter value outside quotes: token characters plus what hosts and URI params add ([ ] : / & $). */
const PARAM_VALUE = /^[A-Za-z0-9.!%*_+`'~\-[\]:/&$=?@()]+$/;

/**
 * `;name=value;flag` -> ordered map. Whitespace around `;` and `=` is allowed (SEMI and EQUAL in
 * section 25.1 include SWS). A quoted value is kept without its quotes and escapes; a repeated
 * name keeps the last value.
 */
export function parseParams(text: string): Result<Map<string, string>> {
  const params = new Map<string, string>();
  const trimmed = text.trim();
  if (trimmed === '') return ok(params);
  if (trimmed[0] !== ';') return bad(SipError.PARAM, `parameters must start with ';': ${show(text, 40)}`);
  for (const raw of splitOutside(trimmed.slice(1), ';')) {
    const eq = raw.indexOf('=');
    const name = (eq === -1 ? raw : raw.slice(0, eq)).trim().toLowerCase();
    if (!TOKEN.test(name)) return bad(SipError.PARAM, `parameter name ${show(name, 32)} is not a token (RFC 3261 section 25.1)`);
    let value = eq === -1 ? '' : raw.slice(eq + 1).trim();
    if (value[0] === '"') {
      const q = /^"((?:[^"\\]|\\[\s\S])*)"$/.exec(value);
      if (!q) return bad(SipError.PARAM, `parameter ${name} has an unterminated quoted value`);
      value = q[1]!.replace(/\\([\s\S])/g, '$1');
    } else if (eq !== -1 && !PARAM_VALUE.test(value)) {
      return bad(SipError.PARAM, `parameter ${name} has the value ${show(value, 40)}, neither a token, a host nor a quoted string`);
    }
    params.set(name, value);
  }
  return ok(params);
}

/** An IPv6 address without brackets, or an IPv4 address: the text, checked strictly. */
export function isIpLiteral(text: string): boolean {
  return text.includes(':') ? parseIPv6(text).ok : parseIPv4(text).ok;
}

/** `host[:port]`: a host name, an IPv4 address or a bracketed IPv6 reference (section 19.1.1). */
export function parseHostPort(text: string): Result<{ host: string; port: number | null }> {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return bad(SipError.HOST, `IPv6 reference without ']': ${show(text, 60)}`);
    host = text.slice(1, close);
    if (!parseIPv6(host).ok) return bad(SipError.HOST, `not an IPv6 address: ${show(host, 60)}`);
    const after = text.slice(close + 1);
    if (after !== '' && after[0] !== ':') return bad(SipError.HOST, `unexpected text after the IPv6 reference: ${show(after, 20)}`);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    // Digits and dots only is an IPv4 address or nothing: a host name's last label starts with a letter.
    const valid = /^[\d.]+$/.test(host) ? parseIPv4(host).ok : host.length <= 253 && HOSTNAME.test(host);
    if (!valid) return bad(SipError.HOST, `not a host name or IPv4 address (an IPv6 address needs [brackets]): ${show(host, 60)}`);
  }
  if (portText === undefined) return ok({ host, port: null });
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535 || Number(portText) === 0) return bad(SipError.HOST, `port ${show(portText, 10)} is not 1..65535`);
  return ok({ host, port: Number(portText) });
}

/** sip: or sips: URI (RFC 3261 section 19.1). */
export function parseSipUri(text: string): Result<SipUri> {
  const t = text.trim();
  // Section 25.1: a URI is printable ASCII; spaces, quotes and angle brackets appear only escaped.
  if (!/^[\x21-\x7e]+$/.test(t) || /[<>"]/.test(t)) return bad(SipError.URI, `a SIP URI is printable ASCII without spaces, <, > or ": ${show(text)}`);
  if (/%(?![0-9A-Fa-f]{2})/.test(t)) return bad(SipError.URI, `'%' not followed by two hex digits (RFC 3261 section 19.1.2): ${show(text)}`);
  const m = /^(sips?):(.*)$/i.exec(t);
  if (!m) return bad(SipError.URI, `not a sip: or sips: URI: ${show(text)}`);
  const scheme = m[1]!.toLowerCase() as 'sip' | 'sips';
  let rest = m[2]!;
  let user: string | null = null;
  let password: string | null = null;
  // '@' appears unescaped only after the userinfo (neither params nor headers may hold one), while
  // the user part may hold ';' and '?' (user-unreserved): so the first '@' ends the userinfo.
  const at = rest.indexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    password = colon === -1 ? null : userinfo.slice(colon + 1);
    if (user === '') return bad(SipError.URI, `empty user part before '@' (RFC 3261 section 19.1.1): ${show(text)}`);
  }
  const q = rest.indexOf('?');
  const headers = q === -1 ? '' : rest.slice(q + 1);
  if (q !== -1) rest = rest.slice(0, q);
  // Parameters start at the first ';' after the host (an IPv6 reference has none).
  const semi = rest.indexOf(';');
  const hostPort = parseHostPort(semi === -1 ? rest : rest.slice(0, semi));
  if (!hostPort.ok) return hostPort;
  const params = parseParams(semi === -1 ? '' : rest.slice(semi));
  if (!params.ok) return params;
  return ok({ scheme, user, password, host: hostPort.value.host, port: hostPort.value.port, params: params.value, headers });
}

/** Writes a URI back: scheme:user:password@host:port;params?headers. */
export function formatSipUri(uri: SipUri): string {
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  const userinfo = uri.user === null ? '' : `${uri.user}${uri.password === null || uri.password === undefined ? '' : `:${uri.password}`}@`;
  const params = [...uri.params].map(([k, v]) => (v === '' ? `;${k}` : `;${k}=${v}`)).join('');
  return `${uri.scheme}:${userinfo}${host}${uri.port === null ? '' : `:${uri.port}`}${params}${uri.headers === '' ? '' : `?${uri.headers}`}`;
}

/** %XX escapes decoded, one character per byte (section 19.1.4 compares user parts unescaped). */
export function unescapeSip(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
