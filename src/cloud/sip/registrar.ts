/**
 * Registrar and location service (RFC 3261 section 10) for the proxy's own domains. A binding
 * keeps the contact the phone registered and the address its REGISTER really came from (its flow:
 * source address, port and transport), so that a phone behind NAT is reached through the hole its
 * own registration opened rather than at the private address its Contact names.
 */
import { parseNameAddr, type SipUri } from '../../core/sip/headers.ts';
import { headerValue, headerValues, type SipRequest, type SipResponse } from '../../core/sip/message.ts';
import { responseTo } from './transactions.ts';
import type { Peer } from './transport.ts';

export interface Binding {
  readonly aor: string;
  /** The Contact URI as registered: the Request-URI of requests to this phone. */
  readonly contact: string;
  readonly source: Peer;
  readonly expiresAtMs: number;
}

export interface RegistrarOptions {
  readonly maxExpiresS: number;
  readonly defaultExpiresS: number;
  readonly now: () => number;
}

/** The address-of-record key: sip:user@host, host lower-cased, without port or parameters. */
export function aorOf(uri: SipUri): string {
  return `sip:${uri.user ?? ''}@${uri.host.toLowerCase()}`;
}

export class Registrar {
  private readonly bindings = new Map<string, Binding[]>();

  constructor(private readonly options: RegistrarOptions) {}

  /** Handles a REGISTER for one of our domains; returns the response to send. */
  register(req: SipRequest, source: Peer, toTag: string): SipResponse {
    const to = parseNameAddr(headerValue(req, 'To') ?? '');
    if (!to.ok || to.value.uri === null || to.value.uri.user === null) return responseTo(req, 400, 'Bad To (not a sip URI with a user)', toTag);
    const aor = aorOf(to.value.uri);
    const now = this.options.now();
    let current = (this.bindings.get(aor) ?? []).filter((b) => b.expiresAtMs > now);
    const contacts = headerValues(req, 'Contact');
    const headerExpires = headerValue(req, 'Expires');
    const defaultExpires = headerExpires !== undefined && /^\d{1,10}$/.test(headerExpires) ? Number(headerExpires) : this.options.defaultExpiresS;
    if (contacts.length === 1 && contacts[0] === '*') {
      if (defaultExpires !== 0) return responseTo(req, 400, 'Contact * needs Expires: 0', toTag);
      current = [];
    } else {
      for (const text of contacts) {
        const contact = parseNameAddr(text);
        if (!contact.ok) return responseTo(req, 400, `Bad Contact (${contact.error.message.slice(0, 60)})`, toTag);
        // The contact becomes a Request-URI: only a SIP URI that parses will do.
        if (contact.value.uri === null) return responseTo(req, 400, 'Bad Contact (not a sip or sips URI)', toTag);
        const asked = contact.value.params.get('expires');
        const expires = Math.min(asked !== undefined && /^\d{1,10}$/.test(asked) ? Number(asked) : defaultExpires, this.options.maxExpiresS);
        current = current.filter((b) => b.contact !== contact.value.uriText);
        if (expires > 0) current.push({ aor, contact: contact.value.uriText, source, expiresAtMs: now + expires * 1000 });
      }
    }
    if (current.length === 0) this.bindings.delete(aor);
    else this.bindings.set(aor, current);
    const listed = current.map((b) => ({ name: 'Contact', value: `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAtMs - now) / 1000))}` }));
    return responseTo(req, 200, 'OK', toTag, listed);
  }

  /** The live bindings of an address of record, newest first. */
  lookup(aor: string): Binding[] {
    const now = this.options.now();
    return (this.bindings.get(aor) ?? []).filter((b) => b.expiresAtMs > now).reverse();
  }

  /** Forgets the bindings that expired (a phone that stopped registering); returns how many addresses of record went. */
  purge(): number {
    const now = this.options.now();
    let gone = 0;
    for (const [aor, list] of this.bindings) {
      const live = list.filter((b) => b.expiresAtMs > now);
      if (live.length === list.length) continue;
      if (live.length === 0) {
        this.bindings.delete(aor);
        gone += 1;
      } else this.bindings.set(aor, live);
    }
    return gone;
  }

  get size(): number {
    return this.bindings.size;
  }
}
