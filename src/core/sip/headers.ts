/**
 * The header values a proxy reads (RFC 3261 sections 19-20, 25): SIP URIs, Via, name-addr
 * (From, To, Contact, Route, Record-Route), CSeq. Each parser takes one value (see splitList for
 * lists) and returns a Result; parameters keep their order, names lower-cased, a flag parameter
 * (`;lr`, `;rport`) has the value ''.
 */
import { coreError, fail, ok, type Result } from '../result.ts';

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | null;
  /** A host name, an IPv4 address, or an IPv6 address without its brackets. */
  readonly host: string;
  readonly port: number | null;
  readonly params: ReadonlyMap<string, string>;
  /** What follows `?`, unparsed. */
  readonly headers: string;
}

export interface Via {
  /** `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`, upper-cased. */
  readonly transport: string;
  readonly host: string;
  readonly port: number | null;
  readonly params: ReadonlyMap<string, string>;
}

export interface NameAddr {
  readonly displayName: string | null;
  /** The URI text as written (for forwarding), and parsed when it is a SIP URI. */
  readonly uriText: string;
  readonly uri: SipUri | null;
  /** Header parameters (`tag`, `expires`, `q`), not the URI's own. */
  readonly params: ReadonlyMap<string, string>;
}

const bad = (code: string, message: string): Result<never> => fail(coreError(code, message));
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?\.?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** `;name=value;flag` -> ordered map; values may be quoted strings (kept with their quotes removed). */
export function parseParams(text: string): Result<Map<string, string>> {
  const params = new Map<string, string>();
  if (text.trim() === '') return ok(params);
  if (!text.trimStart().startsWith(';')) return bad('E_SIP_PARAM', `parameters must start with ';': ${JSON.stringify(text.slice(0, 40))}`);
  for (const raw of text.trim().slice(1).split(';')) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    let value = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (!TOKEN.test(name)) return bad('E_SIP_PARAM', `parameter name ${JSON.stringify(name.slice(0, 32))} is not a token`);
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    params.set(name, value);
  }
  return ok(params);
}

/** `host[:port]`, the host a name, IPv4 or a bracketed IPv6 reference. */
export function parseHostPort(text: string): Result<{ host: string; port: number | null }> {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return bad('E_SIP_HOST', `IPv6 reference without ']': ${JSON.stringify(text.slice(0, 60))}`);
    host = text.slice(1, close);
    if (!IPV6.test(host) || !host.includes(':')) return bad('E_SIP_HOST', `not an IPv6 address: ${JSON.stringify(host.slice(0, 60))}`);
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return bad('E_SIP_HOST', `unexpected text after the IPv6 reference: ${JSON.stringify(after.slice(0, 20))}`);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    if (!IPV4.test(host) && !HOSTNAME.test(host)) return bad('E_SIP_HOST', `not a host name or IPv4 address: ${JSON.stringify(host.slice(0, 60))}`);
  }
  if (portText === undefined) return ok({ host, port: null });
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535 || Number(portText) === 0) return bad('E_SIP_HOST', `port ${JSON.stringify(portText.slice(0, 10))} is not 1..65535`);
  return ok({ host, port: Number(portText) });
}

/** sip: or sips: URI (RFC 3261 section 19.1). */
export function parseSipUri(text: string): Result<SipUri> {
  // RFC 3261 section 25.1: a URI is printable ASCII; spaces, quotes and angle brackets only escaped.
  if (!/^[\x21-\x7e]+$/.test(text.trim()) || /[<>"]/.test(text)) return bad('E_SIP_URI', `a SIP URI is printable ASCII without <, > or ": ${JSON.stringify(text.slice(0, 80))}`);
  const m = /^(sips?):([^?]*)(?:\?(.*))?$/i.exec(text.trim());
  if (!m) return bad('E_SIP_URI', `not a sip: or sips: URI: ${JSON.stringify(text.slice(0, 80))}`);
  const scheme = m[1]!.toLowerCase() as 'sip' | 'sips';
  let rest = m[2]!;
  let user: string | null = null;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === '') return bad('E_SIP_URI', 'empty user part before @');
  }
  // Parameters start at the first ';' after the host (an IPv6 reference has no ';').
  const semi = rest.indexOf(';');
  const hostPort = parseHostPort(semi === -1 ? rest : rest.slice(0, semi));
  if (!hostPort.ok) return hostPort;
  const params = parseParams(semi === -1 ? '' : rest.slice(semi));
  if (!params.ok) return params;
  return ok({ scheme, user, host: hostPort.value.host, port: hostPort.value.port, params: params.value, headers: m[3] ?? '' });
}

/** One Via value: `SIP/2.0/UDP host:port;branch=...;rport` (RFC 3261 section 20.42, RFC 3581). */
export function parseVia(value: string): Result<Via> {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+([^;\s]+)\s*(;.*)?$/i.exec(value.trim());
  if (!m) return bad('E_SIP_VIA', `not a Via value (SIP/2.0/<transport> host[:port]): ${JSON.stringify(value.slice(0, 80))}`);
  const hostPort = parseHostPort(m[2]!);
  if (!hostPort.ok) return hostPort;
  const params = parseParams(m[3] ?? '');
  if (!params.ok) return params;
  return ok({ transport: m[1]!.toUpperCase(), host: hostPort.value.host, port: hostPort.value.port, params: params.value });
}

/**
 * From, To, Contact, Route, Record-Route: `"Name" <uri>;params`, `Name <uri>;params`, `<uri>` or a
 * bare addr-spec, whose `;params` are then the header's (RFC 3261 section 20.10).
 */
export function parseNameAddr(value: string): Result<NameAddr> {
  const text = value.trim();
  let displayName: string | null = null;
  let uriText: string;
  let paramText: string;
  const open = text.indexOf('<');
  if (open !== -1) {
    const name = text.slice(0, open).trim();
    if (name.startsWith('"')) {
      const q = /^"((?:[^"\\]|\\.)*)"$/.exec(name);
      if (!q) return bad('E_SIP_NAME_ADDR', `unterminated quoted display name: ${JSON.stringify(name.slice(0, 60))}`);
      displayName = q[1]!.replace(/\\(.)/g, '$1');
    } else if (name !== '') displayName = name;
    const close = text.indexOf('>', open);
    if (close === -1) return bad('E_SIP_NAME_ADDR', `'<' without '>': ${JSON.stringify(text.slice(0, 80))}`);
    uriText = text.slice(open + 1, close);
    paramText = text.slice(close + 1);
  } else {
    if (text.startsWith('"')) return bad('E_SIP_NAME_ADDR', 'a display name needs the URI in <...>');
    const semi = text.indexOf(';');
    uriText = semi === -1 ? text : text.slice(0, semi);
    paramText = semi === -1 ? '' : text.slice(semi);
  }
  if (uriText === '' || /\s/.test(uriText)) return bad('E_SIP_NAME_ADDR', `no URI, or one with spaces: ${JSON.stringify(uriText.slice(0, 80))}`);
  const params = parseParams(paramText);
  if (!params.ok) return params;
  const uri = /^sips?:/i.test(uriText) ? parseSipUri(uriText) : null;
  if (uri && !uri.ok) return uri;
  return ok({ displayName, uriText, uri: uri ? uri.value : null, params: params.value });
}

export function parseCSeq(value: string): Result<{ seq: number; method: string }> {
  const m = /^(\d{1,10})\s+(\S+)$/.exec(value.trim());
  if (!m || Number(m[1]) >= 2 ** 31 || !TOKEN.test(m[2]!)) return bad('E_SIP_CSEQ', `not a CSeq value: ${JSON.stringify(value.slice(0, 40))}`);
  return ok({ seq: Number(m[1]), method: m[2]! });
}

/** Writes a URI back (for Request-URIs the proxy builds): user@host:port;params. */
export function formatSipUri(uri: SipUri): string {
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  const params = [...uri.params].map(([k, v]) => (v === '' ? `;${k}` : `;${k}=${v}`)).join('');
  return `${uri.scheme}:${uri.user === null ? '' : `${uri.user}@`}${host}${uri.port === null ? '' : `:${uri.port}`}${params}${uri.headers === '' ? '' : `?${uri.headers}`}`;
}
