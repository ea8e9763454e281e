/**
 * The transaction layer a stateful proxy needs (RFC 3261 section 17, with RFC 6026's handling of
 * 2xx): requests are matched to server transactions by their top Via (branch, sent-by, method; an
 * ACK to an INVITE's), retransmissions get the last response again, an ACK to a non-2xx final is
 * absorbed. Requests the proxy sends get a Via of ours with a fresh branch and are retransmitted
 * over UDP (timers A/E doubling from T1, capped at T2 for non-INVITE) until answered or timed out
 * (B/F at 64*T1); an INVITE answered with a failure is ACKed here. Over TCP nothing is
 * retransmitted. Finished transactions linger for 64*T1 to absorb stragglers, then go.
 */
import { randomBytes } from 'node:crypto';
import { parseVia } from '../../core/sip/headers.ts';
import { headerValue, headerValues, withHeaders, type SipRequest, type SipResponse } from '../../core/sip/message.ts';
import type { Peer, SipTransport } from './transport.ts';

export interface Timers {
  readonly t1: number;
  readonly t2: number;
  /** How long an INVITE may stay unanswered after a provisional response (timer C). */
  readonly proceedingMs: number;
}

export const RFC_TIMERS: Timers = { t1: 500, t2: 4000, proceedingMs: 180_000 };

export interface ServerTransaction {
  readonly key: string;
  readonly request: SipRequest;
  readonly source: Peer;
  lastResponse: SipResponse | null;
}

export interface ClientTransaction {
  readonly key: string;
  readonly branch: string;
  /** The request as sent, with our Via on top. */
  readonly request: SipRequest;
  readonly to: Peer;
  final: SipResponse | null;
}

type ClientState = ClientTransaction & {
  onResponse: (res: SipResponse, source: Peer) => void;
  onTimeout: () => void;
  timers: ReturnType<typeof setTimeout>[];
};

export type RequestMatch = { kind: 'new'; tx: ServerTransaction } | { kind: 'retransmission' } | { kind: 'ack-absorbed' } | { kind: 'ack-2xx' };

export function newBranch(): string {
  return `z9hG4bK${randomBytes(8).toString('hex')}`;
}

/** The server-side key: top Via's branch and sent-by, and the method an ACK or CANCEL belongs with. */
function serverKey(req: SipRequest, method: string): string | null {
  const top = headerValues(req, 'Via')[0];
  const via = top === undefined ? null : parseVia(top);
  if (!via || !via.ok) return null;
  return `${via.value.params.get('branch') ?? ''}|${via.value.host}:${via.value.port ?? ''}|${method}`;
}

export class TransactionLayer {
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientState>();

  constructor(
    private readonly transport: SipTransport,
    /** The sent-by of our Vias: host[:port] others reach us at. */
    private readonly sentBy: string,
    private readonly timers: Timers = RFC_TIMERS,
  ) {}

  /** Matches a request to a server transaction; a new one for a new request (an INVITE gets 100 Trying at once). */
  receiveRequest(req: SipRequest, source: Peer): RequestMatch {
    if (req.method === 'ACK') {
      const tx = this.servers.get(serverKey(req, 'INVITE') ?? '');
      // An ACK for a failure is the transaction's; an ACK for a 2xx is its own request (end to end).
      return tx && tx.lastResponse !== null && tx.lastResponse.status >= 300 ? { kind: 'ack-absorbed' } : { kind: 'ack-2xx' };
    }
    const key = serverKey(req, req.method);
    if (key === null) return { kind: 'retransmission' }; // no usable Via: nothing can be answered
    const existing = this.servers.get(key);
    if (existing) {
      if (existing.lastResponse) this.transport.send(existing.source, existing.lastResponse);
      return { kind: 'retransmission' };
    }
    const tx: ServerTransaction = { key, request: req, source, lastResponse: null };
    this.servers.set(key, tx);
    if (req.method === 'INVITE') this.respond(tx, responseTo(req, 100, 'Trying'));
    return { kind: 'new', tx };
  }

  /** Finds the INVITE server transaction a CANCEL names (same branch and sent-by). */
  inviteFor(cancel: SipRequest): ServerTransaction | undefined {
    return this.servers.get(serverKey(cancel, 'INVITE') ?? '');
  }

  /** Sends a response back the way the request came (its source: received and rport, RFC 3581). */
  respond(tx: ServerTransaction, res: SipResponse): void {
    tx.lastResponse = res;
    this.transport.send(tx.source, res);
    if (res.status < 200) return;
    const linger = 64 * this.timers.t1;
    if (tx.request.method === 'INVITE' && res.status >= 300 && tx.source.transport === 'UDP') {
      // Timer G: the failure again until the ACK comes (or timer H).
      let interval = this.timers.t1;
      const again = () => {
        if (this.servers.get(tx.key) !== tx || interval > linger) return;
        this.transport.send(tx.source, res);
        interval = Math.min(interval * 2, this.timers.t2);
        setTimeout(again, interval).unref();
      };
      setTimeout(again, interval).unref();
    }
    setTimeout(() => {
      if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
    }, linger).unref();
  }

  /** An ACK for a failure ends the failure's retransmissions. */
  absorbAck(ack: SipRequest): void {
    const key = serverKey(ack, 'INVITE');
    const tx = key === null ? undefined : this.servers.get(key);
    if (tx) this.servers.delete(tx.key);
  }

  /** Our Via for a request going to `to`. */
  private via(to: Peer, branch: string): { name: string; value: string } {
    return { name: 'Via', value: `SIP/2.0/${to.transport} ${this.sentBy};branch=${branch};rport` };
  }

  /** Sends a request that no transaction follows (an ACK for a 2xx, RFC 3261 section 17.1.1.3): our Via on top, a fresh branch. */
  sendStateless(req: SipRequest, to: Peer): void {
    this.transport.send(to, withHeaders(req, { prepend: [this.via(to, newBranch())] }));
  }

  /** Sends a request on as a client transaction: our Via on top, retransmitted over UDP until answered. */
  sendRequest(req: SipRequest, to: Peer, onResponse: (res: SipResponse, source: Peer) => void, onTimeout: () => void, branch = newBranch()): ClientTransaction {
    const request = withHeaders(req, { prepend: [this.via(to, branch)] });
    const key = `${branch}|${req.method}`;
    const tx: ClientState = { key, branch, request, to, final: null, onResponse, onTimeout, timers: [] };
    this.clients.set(key, tx);
    this.transport.send(to, request);
    const invite = req.method === 'INVITE';
    if (to.transport === 'UDP') {
      let interval = this.timers.t1;
      const again = () => {
        if (this.clients.get(key) !== tx || tx.final !== null || (invite && this.provisional.has(key))) return;
        this.transport.send(to, request);
        interval = invite ? interval * 2 : Math.min(interval * 2, this.timers.t2);
        tx.timers.push(setTimeout(again, interval));
      };
      tx.timers.push(setTimeout(again, interval));
    }
    tx.timers.push(setTimeout(() => this.timeout(tx), 64 * this.timers.t1));
    return tx;
  }

  /** INVITE client transactions that got a provisional response: no retransmission, timer C instead of B. */
  private readonly provisional = new Set<string>();

  private timeout(tx: ClientState): void {
    if (this.clients.get(tx.key) !== tx || tx.final !== null) return;
    if (tx.request.method === 'INVITE' && this.provisional.has(tx.key)) return; // timer C runs instead
    this.finish(tx);
    tx.onTimeout();
  }

  private finish(tx: ClientState): void {
    for (const t of tx.timers) clearTimeout(t);
    this.provisional.delete(tx.key);
    setTimeout(() => {
      if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
    }, 64 * this.timers.t1).unref();
  }

  /** Matches a response to a client transaction by our branch and the CSeq method; false when none. */
  receiveResponse(res: SipResponse, source: Peer): boolean {
    const top = headerValues(res, 'Via')[0];
    const via = top === undefined ? null : parseVia(top);
    const method = headerValue(res, 'CSeq')?.split(/\s+/)[1];
    if (!via || !via.ok || method === undefined) return false;
    const tx = this.clients.get(`${via.value.params.get('branch') ?? ''}|${method}`);
    if (!tx) return false;
    if (res.status < 200) {
      if (tx.request.method === 'INVITE' && !this.provisional.has(tx.key)) {
        this.provisional.add(tx.key);
        tx.timers.push(setTimeout(() => {
          this.provisional.delete(tx.key);
          this.timeout(tx);
        }, this.timers.proceedingMs));
      }
      if (tx.final === null) tx.onResponse(res, source);
      return true;
    }
    const first = tx.final === null;
    if (first) {
      tx.final = res;
      this.finish(tx);
    }
    if (tx.request.method === 'INVITE' && res.status >= 300) {
      // The ACK for a failure is ours to send (hop by hop), for every copy of the failure.
      this.transport.send(tx.to, ackFor(tx.request, res));
      if (first) tx.onResponse(res, source);
      return true;
    }
    // A 2xx to an INVITE is passed on each time it comes (the callee repeats it until the ACK).
    if (first || (tx.request.method === 'INVITE' && res.status < 300)) tx.onResponse(res, source);
    return true;
  }

  /** CANCEL for an INVITE client transaction still unanswered (same branch, RFC 3261 section 9.1). */
  cancel(tx: ClientTransaction): void {
    if (tx.final !== null) return;
    const inv = tx.request;
    const cancel: SipRequest = {
      kind: 'request',
      method: 'CANCEL',
      uri: inv.uri,
      headers: [
        { name: 'Via', value: headerValues(inv, 'Via')[0]! },
        ...inv.headers.filter((h) => ['From', 'To', 'Call-ID', 'Route', 'Max-Forwards'].includes(h.name)),
        { name: 'CSeq', value: `${headerValue(inv, 'CSeq')!.split(/\s+/)[0]} CANCEL` },
      ],
      body: '',
    };
    const key = `${tx.branch}|CANCEL`;
    const state: ClientState = { key, branch: tx.branch, request: cancel, to: tx.to, final: null, onResponse: () => {}, onTimeout: () => {}, timers: [] };
    this.clients.set(key, state);
    this.transport.send(tx.to, cancel);
    state.timers.push(setTimeout(() => this.finish(state), 64 * this.timers.t1));
  }

  get sizes(): { servers: number; clients: number } {
    return { servers: this.servers.size, clients: this.clients.size };
  }

  close(): void {
    for (const tx of this.clients.values()) for (const t of tx.timers) clearTimeout(t);
    this.clients.clear();
    this.servers.clear();
  }
}

/** A response to `req` (RFC 3261 section 8.2.6): Via, From, To (with `toTag` if it has none), Call-ID, CSeq copied. */
export function responseTo(req: SipRequest, status: number, reason: string, toTag?: string, extra: SipResponse['headers'] = []): SipResponse {
  const copied = req.headers.filter((h) => ['Via', 'From', 'To', 'Call-ID', 'CSeq'].includes(h.name)).map((h) => {
    if (h.name !== 'To' || toTag === undefined || /;\s*tag=/i.test(h.value)) return h;
    return { name: 'To', value: `${h.value};tag=${toTag}` };
  });
  return { kind: 'response', status, reason, headers: [...copied, ...extra], body: '' };
}

/** The ACK a client transaction sends for a failure to its INVITE (RFC 3261 section 17.1.1.3). */
function ackFor(invite: SipRequest, failure: SipResponse): SipRequest {
  return {
    kind: 'request',
    method: 'ACK',
    uri: invite.uri,
    headers: [
      { name: 'Via', value: headerValues(invite, 'Via')[0]! },
      ...invite.headers.filter((h) => ['From', 'Call-ID', 'Route', 'Max-Forwards'].includes(h.name)),
      { name: 'To', value: headerValue(failure, 'To')! },
      { name: 'CSeq', value: `${headerValue(invite, 'CSeq')!.split(/\s+/)[0]} ACK` },
    ],
    body: '',
  };
}
