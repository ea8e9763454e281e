/**
 * The built-in SIP proxy (RFC 3261 section 16, transaction stateful) that drives QoS: registrar
 * for its domains, Record-Route on dialog-creating requests so that BYE and re-INVITE pass
 * through it, and the session API fed from the SDP (seed 000 claims 3-5 and 18-20):
 *
 *   2xx answering an offer  -> session add (caller's and callee's SDP, the real source addresses);
 *                              with policy `hold` the 2xx waits until QoS is active (or the
 *                              deadline), RFC 3312 style, and carries the clearinghouse's token
 *                              (P-Media-Authorization, RFC 3313); with `forward` it goes at once
 *   BYE, CANCEL, a failure  -> session delete, saying who released the call
 *   a call silent too long  -> session delete (a lost BYE)
 */
import { randomBytes } from 'node:crypto';
import { detach } from '../../core/detach.ts';
import type { Logger } from '../../core/log.ts';
import { parseNameAddr, parseSipUri } from '../../core/sip/headers.ts';
import { headerValue, headerValues, withHeaders, type SipMessage, type SipRequest, type SipResponse } from '../../core/sip/message.ts';
import { CallTable, sessionRequestFor, type CallRecord } from './calls.ts';
import { aorOf, type Registrar } from './registrar.ts';
import { hostText, isOurs, nextHop, popOwnRoute, popVia, responseTarget, stampVia, topViaIsOurs, type ProxyAddress } from './routing.ts';
import { parseSdp, type SdpSession } from './sdp.ts';
import type { SessionClient } from './session-client.ts';
import { responseTo, type ServerTransaction, type TransactionLayer } from './transactions.ts';
import type { Peer, SipTransport } from './transport.ts';
import { REASON_CODES } from '../server/reasons.ts';
import { TOKEN_MAX } from '../../core/protocol/limits.ts';

export interface ProxyConfig {
  readonly address: ProxyAddress;
  /** Domains (host names) the registrar serves, lower case. */
  readonly domains: readonly string[];
  /** `hold`: the 2xx waits for QoS (up to the session API's deadline); `forward`: it goes at once. */
  readonly qos: 'hold' | 'forward';
  /** A dialog without any request or response for this long has lost its BYE. */
  readonly dialogTimeoutMs: number;
  /**
   * A call the clearinghouse did not authorize (or whose token was refused): `best-effort` lets it
   * go on without QoS; `refuse` ends it (with `hold` only: the callee's dialog is closed with ACK and
   * BYE, and the caller gets 403).
   */
  readonly unauthorized?: 'best-effort' | 'refuse';
}

/** Session answers that mean "not authorized" rather than "no room" or "no router": the reason's code says so. */
const UNAUTHORIZED = new RegExp(`^${REASON_CODES.notAuthorized}\\b`);

const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

function sdpOf(msg: SipMessage): SdpSession | null {
  const type = headerValue(msg, 'Content-Type')?.toLowerCase() ?? '';
  if (!type.startsWith('application/sdp') || msg.body === '') return null;
  const sdp = parseSdp(Buffer.from(msg.body, 'latin1').toString('utf8'));
  return sdp.ok ? sdp.value : null;
}

/** Whether the offer being answered now is the caller's (an initial INVITE, or the caller's re-INVITE). */
const offerFromCaller = (call: CallRecord): boolean => call.pendingOffer?.fromCaller ?? true;

const tagOf = (value: string | undefined): string | null => {
  if (value === undefined) return null;
  const p = parseNameAddr(value);
  return p.ok ? p.value.params.get('tag') ?? null : null;
};

export class SipProxy {
  readonly calls = new CallTable();
  private readonly toTag = randomBytes(6).toString('hex');

  constructor(
    private readonly transport: SipTransport,
    private readonly transactions: TransactionLayer,
    private readonly registrar: Registrar,
    private readonly sessions: SessionClient,
    private readonly config: ProxyConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    transport.onMessage((msg, source) => (msg.kind === 'request' ? this.onRequest(msg, source) : this.onResponse(msg, source)));
  }

  // ---- requests ------------------------------------------------------------------------------

  private onRequest(received: SipRequest, source: Peer): void {
    const req = stampVia(received, source);
    const match = this.transactions.receiveRequest(req, source);
    if (match.kind === 'ack-absorbed') return this.transactions.absorbAck(req);
    if (match.kind === 'ack-2xx') return this.forwardStateless(req);
    if (match.kind === 'retransmission') return;
    const tx = match.tx;
    if (req.method === 'CANCEL') return this.cancel(tx);

    const maxForwards = Number(headerValue(req, 'Max-Forwards') ?? '70');
    if (!Number.isInteger(maxForwards) || maxForwards <= 0) return this.transactions.respond(tx, responseTo(req, 483, 'Too Many Hops', this.toTag));
    const uri = parseSipUri(req.uri);
    if (req.method === 'REGISTER' && uri.ok && isOurs(uri.value, this.config.address, this.config.domains)) {
      return this.transactions.respond(tx, this.registrar.register(req, source, this.toTag));
    }
    const { req: routed, routes } = popOwnRoute(withHeaders(req, { drop: ['Max-Forwards'], prepend: [{ name: 'Max-Forwards', value: String(maxForwards - 1) }] }), this.config.address, this.config.domains);
    let outgoing = routed;
    let hop: Peer | null;
    if (routes.length === 0 && uri.ok && isOurs(uri.value, this.config.address, this.config.domains)) {
      if (uri.value.user === null) {
        // Addressed to the proxy itself: OPTIONS is a keep-alive or a capability query.
        return this.transactions.respond(tx, responseTo(req, req.method === 'OPTIONS' ? 200 : 405, req.method === 'OPTIONS' ? 'OK' : 'Method Not Allowed', this.toTag));
      }
      const binding = this.registrar.lookup(aorOf(uri.value))[0];
      if (!binding) return this.transactions.respond(tx, responseTo(req, 404, 'Not Found', this.toTag));
      outgoing = { ...outgoing, uri: binding.contact };
      hop = binding.source;
    } else hop = nextHop(outgoing, routes);
    if (hop === null) return this.transactions.respond(tx, responseTo(req, 416, 'Unsupported URI Scheme', this.toTag));

    const inDialog = tagOf(headerValue(req, 'To')) !== null;
    if (DIALOG_CREATING.has(req.method) && !inDialog) {
      const rr = `<sip:${hostText(this.config.address.host)}:${this.config.address.port};lr${hop.transport === 'TCP' ? ';transport=tcp' : ''}>`;
      outgoing = withHeaders(outgoing, { prepend: [{ name: 'Record-Route', value: rr }] });
    }
    if (req.method === 'INVITE') this.noteInvite(req, source, inDialog);
    const ending = req.method === 'BYE' ? this.byeSeen(req) : null;
    this.forward(tx, outgoing, hop, ending ?? undefined);
  }

  private noteInvite(req: SipRequest, source: Peer, inDialog: boolean): void {
    const callId = headerValue(req, 'Call-ID')!;
    const sdp = sdpOf(req);
    let call = this.calls.get(callId);
    if (!inDialog && !call) {
      const from = parseNameAddr(headerValue(req, 'From')!);
      const to = parseNameAddr(headerValue(req, 'To')!);
      call = this.calls.start({
        callId,
        callerTag: tagOf(headerValue(req, 'From')) ?? '',
        callerUri: from.ok ? from.value.uriText : 'unknown',
        calleeUri: to.ok ? to.value.uriText : 'unknown',
        callerSource: source.host,
        pendingOffer: null,
        startedAtMs: this.now(),
      });
    }
    if (!call) return;
    call.lastSeenMs = this.now();
    // A token the caller was handed (by a clearinghouse, another domain) travels with its offer.
    const token = headerValue(req, 'P-Media-Authorization');
    if (sdp) call.pendingOffer = { sdp, fromCaller: tagOf(headerValue(req, 'From')) === call.callerTag, token: token !== undefined && token.length > 0 && token.length <= TOKEN_MAX ? token : null };
  }

  /**
   * A BYE takes the call out of the table; its session ends once the BYE's transaction does (a
   * final response, or its timeout), not as the BYE passes. The party that gets the BYE talks until
   * it arrives, and its router counts that media as sent: removing the gates at the other end
   * before then would book those packets as lost between the routers.
   */
  private byeSeen(req: SipRequest): ((status: number) => void) | null {
    const call = this.calls.end(headerValue(req, 'Call-ID')!);
    if (!call) return null;
    const side = tagOf(headerValue(req, 'From')) === call.callerTag ? 'caller' : 'callee';
    return (status) => this.endSession(call, { releasedBy: side, sipStatus: status, reason: status === 408 ? `BYE from ${side}, unanswered` : `BYE from ${side}` });
  }

  /** CANCEL (RFC 3261 section 9.2): 200 for the CANCEL; the INVITE's downstream branch is cancelled, its 487 comes back. */
  private cancel(tx: ServerTransaction): void {
    const invite = this.transactions.inviteFor(tx.request);
    if (!invite) return this.transactions.respond(tx, responseTo(tx.request, 481, 'Call/Transaction Does Not Exist', this.toTag));
    this.transactions.respond(tx, responseTo(tx.request, 200, 'OK', this.toTag));
    const branch = this.downstream.get(invite.key);
    if (branch) this.transactions.cancel(branch);
    else if (invite.lastResponse === null || invite.lastResponse.status < 200) this.transactions.respond(invite, responseTo(invite.request, 487, 'Request Terminated', this.toTag));
    const call = this.calls.get(headerValue(tx.request, 'Call-ID')!);
    if (call && !call.answered) {
      this.calls.end(call.callId);
      this.endSession(call, { releasedBy: 'caller', sipStatus: 487, reason: 'CANCEL' });
    }
  }

  /** The INVITE client transaction forwarding each server transaction, for CANCEL. */
  private readonly downstream = new Map<string, ReturnType<TransactionLayer['sendRequest']>>();

  /** Forwards statefully; `onFinal` runs once, with the first final response's status or 408 at the timeout. */
  private forward(tx: ServerTransaction, req: SipRequest, hop: Peer, onFinal?: (status: number) => void): void {
    let final = onFinal;
    const finish = (status: number) => {
      final?.(status);
      final = undefined;
    };
    const client = this.transactions.sendRequest(
      req,
      hop,
      (res, from) => {
        if (res.status >= 200) finish(res.status);
        const back = popVia(res);
        // No Via left under ours: the response was meant for the proxy itself (RFC 3261 section 16.7).
        if (headerValue(back, 'Via') !== undefined) this.relay(tx, req, back, from);
      },
      () => {
        finish(408);
        this.downstream.delete(tx.key);
        if (tx.lastResponse === null || tx.lastResponse.status < 200) this.transactions.respond(tx, responseTo(tx.request, 408, 'Request Timeout', this.toTag));
        this.failed(tx.request, 408);
      },
    );
    if (req.method === 'INVITE') this.downstream.set(tx.key, client);
  }

  // ---- responses -----------------------------------------------------------------------------

  private onResponse(res: SipResponse, source: Peer): void {
    if (this.transactions.receiveResponse(res, source)) return;
    // Not ours to match (a 2xx repeated after its transaction ended): pass it back by its Via.
    if (!topViaIsOurs(res, this.config.address)) return;
    const back = popVia(res);
    const target = responseTarget(back);
    if (target) this.transport.send(target, back);
  }

  /** A downstream response to a forwarded request, our Via already off; `from`: where the packet came from. */
  private relay(tx: ServerTransaction, forwarded: SipRequest, res: SipResponse, from: Peer): void {
    const callId = headerValue(res, 'Call-ID')!;
    const call = this.calls.get(callId);
    if (call) call.lastSeenMs = this.now();
    if (res.status >= 200) this.downstream.delete(tx.key);
    if (forwarded.method !== 'INVITE' || !call) return this.transactions.respond(tx, res);
    if (res.status >= 300) {
      this.failed(tx.request, res.status);
      return this.transactions.respond(tx, res);
    }
    if (res.status < 200) return this.transactions.respond(tx, res);
    // A 2xx: repeated by the callee until the ACK. Held: the copies wait with it; sent: sent again.
    if (call.holding) return;
    if (call.forwarded2xx?.txKey === tx.key) return this.transactions.respond(tx, call.forwarded2xx.res);
    call.answered = true;
    // The callee is located by where its answer really came from, never by a header it wrote.
    if (offerFromCaller(call)) call.calleeSource = from.host;
    const answer = sdpOf(res);
    const offer = call.pendingOffer;
    if (!answer || !offer) {
      call.forwarded2xx = { txKey: tx.key, res };
      return this.transactions.respond(tx, res);
    }
    call.pendingOffer = null;
    call.token = offer.token;
    if (offer.fromCaller) {
      call.callerSdp = offer.sdp;
      call.calleeSdp = answer;
    } else {
      call.calleeSdp = offer.sdp;
      call.callerSdp = answer;
    }
    detach(this.sendSession(tx, call, res, from), (error) => {
      // The callee's 2xx must not stay held: the call goes on, best effort.
      this.log.error('asking for QoS failed; the call goes on best effort', { call: call.callId, error: String(error) });
      call.holding = false;
      if (call.forwarded2xx !== null) return;
      call.forwarded2xx = { txKey: tx.key, res };
      this.transactions.respond(tx, res);
    });
  }

  /** Adds (or changes) the session; with `hold` the 2xx goes on only after the answer, carrying the token. */
  private async sendSession(tx: ServerTransaction, call: CallRecord, res: SipResponse, from: Peer): Promise<void> {
    const hold = this.config.qos === 'hold';
    const request = sessionRequestFor(call, hold);
    if (!request.ok) {
      this.log.info('no QoS for this call', { call: call.callId, reason: request.error.message });
      call.forwarded2xx = { txKey: tx.key, res };
      return this.transactions.respond(tx, res);
    }
    call.inSessionApi = true;
    if (!hold) {
      call.forwarded2xx = { txKey: tx.key, res };
      this.transactions.respond(tx, res);
      const added = await this.sessions.add(request.value.body);
      if (!added.ok) this.log.warn('session API did not answer', { call: call.callId, reason: added.error.message });
      return;
    }
    call.holding = true;
    const added = await this.sessions.add(request.value.body);
    call.holding = false;
    let out = res;
    if (added.ok && this.config.unauthorized === 'refuse' && added.value.state === 'rejected' && UNAUTHORIZED.test(added.value.reason ?? '')) {
      this.log.warn('call refused: not authorized', { call: call.callId, reason: added.value.reason ?? '' });
      this.hangUpCallee(res, from);
      this.calls.end(call.callId);
      this.endSession(call, { releasedBy: 'network', sipStatus: 403, reason: 'not authorized' });
      return this.transactions.respond(tx, responseTo(tx.request, 403, 'Forbidden (QoS not authorized)', this.toTag));
    }
    if (added.ok) {
      this.log.info('QoS for call', { call: call.callId, state: added.value.state, reason: added.value.reason ?? '' });
      if (added.value.token !== undefined) out = withHeaders(res, { append: [{ name: 'P-Media-Authorization', value: added.value.token }] });
    } else this.log.warn('session API did not answer; the call goes on best effort', { call: call.callId, reason: added.error.message });
    call.forwarded2xx = { txKey: tx.key, res: out };
    this.transactions.respond(tx, out);
  }

  // ---- ending --------------------------------------------------------------------------------

  /**
   * Closes the dialog a callee's 2xx opened, on the caller's behalf (RFC 3261 section 13.2.2.4:
   * a 2xx that is not wanted is ACKed and then ended with BYE): both go to the callee's Contact
   * along the Record-Route set below ours.
   */
  private hangUpCallee(ok: SipResponse, from: Peer): void {
    const contact = parseNameAddr(headerValue(ok, 'Contact') ?? '');
    if (!contact.ok || contact.value.uri === null) return;
    const own = `<sip:${hostText(this.config.address.host)}:${this.config.address.port};lr`;
    const routes = headerValues(ok, 'Record-Route').filter((r) => !r.startsWith(own)).reverse();
    const seq = Number((headerValue(ok, 'CSeq') ?? '1').split(/\s+/)[0]);
    const request = (method: string, cseq: number): SipRequest => ({
      kind: 'request',
      method,
      uri: contact.value.uriText,
      headers: [
        ...(routes.length > 0 ? [{ name: 'Route', value: routes.join(', ') }] : []),
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: headerValue(ok, 'From')! },
        { name: 'To', value: headerValue(ok, 'To')! },
        { name: 'Call-ID', value: headerValue(ok, 'Call-ID')! },
        { name: 'CSeq', value: `${cseq} ${method}` },
      ],
      body: '',
    });
    const hop = routes.length > 0 ? nextHop(request('ACK', seq), routes) ?? from : from;
    this.transactions.sendStateless(request('ACK', seq), hop);
    this.transactions.sendRequest(request('BYE', seq + 1), hop, () => {}, () => {});
  }

  private failed(req: SipRequest, status: number): void {
    const call = this.calls.get(headerValue(req, 'Call-ID')!);
    if (!call || call.answered) return;
    this.calls.end(call.callId);
    this.endSession(call, { releasedBy: status === 408 ? 'network' : 'callee', sipStatus: status, reason: `INVITE failed: ${status}` });
  }

  private endSession(call: CallRecord, how: { releasedBy: 'caller' | 'callee' | 'network'; sipStatus: number | null; reason: string }): void {
    if (!call.inSessionApi) return;
    const removed = this.sessions
      .remove({ callId: call.callId, reason: how.reason, releasedBy: how.releasedBy, ...(how.sipStatus !== null ? { sipStatus: how.sipStatus } : {}) })
      .then((r) => {
        if (!r.ok) this.log.warn('session delete not answered', { call: call.callId, reason: r.error.message });
      });
    detach(removed, (error) => this.log.error('session delete failed', { call: call.callId, error: String(error) }));
  }

  /** Ends the sessions of dialogs silent for too long (their BYE was lost); returns how many. */
  expireDialogs(): number {
    const gone = this.calls.expire(this.now(), this.config.dialogTimeoutMs);
    for (const call of gone) this.endSession(call, { releasedBy: 'network', sipStatus: null, reason: 'dialog timed out' });
    return gone.length;
  }

  /** An ACK for a 2xx (end to end) or anything else forwarded without a transaction. */
  private forwardStateless(req: SipRequest): void {
    const call = this.calls.get(headerValue(req, 'Call-ID') ?? '');
    if (call) call.lastSeenMs = this.now();
    const { req: routed, routes } = popOwnRoute(req, this.config.address, this.config.domains);
    const uri = parseSipUri(routed.uri);
    let hop = nextHop(routed, routes);
    let out = routed;
    if (routes.length === 0 && uri.ok && isOurs(uri.value, this.config.address, this.config.domains) && uri.value.user !== null) {
      const binding = this.registrar.lookup(aorOf(uri.value))[0];
      if (!binding) return;
      out = { ...routed, uri: binding.contact };
      hop = binding.source;
    }
    if (hop === null) return;
    this.transactions.sendStateless(out, hop);
  }
}
