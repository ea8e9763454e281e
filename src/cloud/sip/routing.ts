/**
 * Where the proxy sends things (RFC 3261 sections 16.4-16.6, 18.2.1; RFC 3581): the received and
 * rport stamps on a request's top Via, loose routing (our own Route entry taken off), the next hop
 * from a Route or a Request-URI, and a response's way back by its Via.
 */
import { parseNameAddr, parseSipUri, parseVia, type SipUri } from '../../core/sip/headers.ts';
import { headerValues, type SipMessage, type SipRequest, type SipResponse } from '../../core/sip/message.ts';
import type { Peer, SipTransportName } from './transport.ts';

export interface ProxyAddress {
  /** The host others reach the proxy at (IP literal or name), as written in Via and Record-Route. */
  readonly host: string;
  readonly port: number;
}

export const hostText = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** Whether a URI names this proxy (host and port, default 5060). */
export function isOurs(uri: SipUri, me: ProxyAddress, domains: readonly string[]): boolean {
  const host = uri.host.toLowerCase();
  if (host === me.host.toLowerCase() && (uri.port ?? 5060) === me.port) return true;
  return uri.port === null && domains.includes(host);
}

/** The request with its top Via stamped with where it really came from (received, and rport when asked). */
export function stampVia(req: SipRequest, source: Peer): SipRequest {
  const index = req.headers.findIndex((h) => h.name === 'Via');
  if (index === -1) return req;
  const [top, ...rest] = headerValues({ headers: [req.headers[index]!] }, 'Via');
  const via = parseVia(top ?? '');
  if (!via.ok) return req;
  let value = top!;
  if (via.value.params.has('rport') && via.value.params.get('rport') === '') value = value.replace(/;\s*rport(?=;|$)/i, `;rport=${source.port}`);
  if (via.value.host !== source.host && !via.value.params.has('received')) value = `${value};received=${source.host}`;
  const headers = [...req.headers];
  headers[index] = { name: 'Via', value: [value, ...rest].join(', ') };
  return { ...req, headers };
}

function transportOf(uri: SipUri): SipTransportName {
  return (uri.params.get('transport') ?? '').toLowerCase() === 'tcp' ? 'TCP' : 'UDP';
}

export function peerOfUri(uri: SipUri): Peer {
  return { transport: transportOf(uri), host: uri.host, port: uri.port ?? 5060 };
}

/** Takes our own entry off the top of Route (loose routing); returns the request and the Route set left. */
export function popOwnRoute(req: SipRequest, me: ProxyAddress, domains: readonly string[]): { req: SipRequest; routes: string[] } {
  const routes = headerValues(req, 'Route');
  const first = routes[0] === undefined ? null : parseNameAddr(routes[0]);
  if (first && first.ok && first.value.uri && isOurs(first.value.uri, me, domains)) {
    const left = routes.slice(1);
    const headers = req.headers.filter((h) => h.name !== 'Route');
    const at = req.headers.findIndex((h) => h.name === 'Route');
    if (left.length > 0) headers.splice(at, 0, { name: 'Route', value: left.join(', ') });
    return { req: { ...req, headers }, routes: left };
  }
  return { req, routes };
}

/** The next hop of a request: its first Route, else its Request-URI; null when neither is a SIP URI. */
export function nextHop(req: SipRequest, routes: readonly string[]): Peer | null {
  if (routes.length > 0) {
    const route = parseNameAddr(routes[0]!);
    return route.ok && route.value.uri ? peerOfUri(route.value.uri) : null;
  }
  const uri = parseSipUri(req.uri);
  return uri.ok ? peerOfUri(uri.value) : null;
}

/** Where a response goes once our Via is off: the next Via's received/rport, else its sent-by. */
export function responseTarget(res: SipResponse): Peer | null {
  const top = headerValues(res, 'Via')[0];
  const via = top === undefined ? null : parseVia(top);
  if (!via || !via.ok) return null;
  const p = via.value.params;
  const rport = p.get('rport');
  return {
    transport: via.value.transport === 'TCP' ? 'TCP' : 'UDP',
    host: p.get('received') ?? via.value.host,
    port: rport !== undefined && /^\d+$/.test(rport) ? Number(rport) : via.value.port ?? 5060,
  };
}

/** The message without its top Via value (ours, on a response going back). */
export function popVia<M extends SipMessage>(msg: M): M {
  const index = msg.headers.findIndex((h) => h.name === 'Via');
  if (index === -1) return msg;
  const rest = headerValues({ headers: [msg.headers[index]!] }, 'Via').slice(1);
  const headers = [...msg.headers];
  if (rest.length > 0) headers[index] = { name: 'Via', value: rest.join(', ') };
  else headers.splice(index, 1);
  return { ...msg, headers };
}

/** Whether the top Via is one this proxy wrote. */
export function topViaIsOurs(msg: SipMessage, me: ProxyAddress): boolean {
  const top = headerValues(msg, 'Via')[0];
  const via = top === undefined ? null : parseVia(top);
  return !!via && via.ok && via.value.host.toLowerCase() === me.host.toLowerCase() && (via.value.port ?? 5060) === me.port;
}
