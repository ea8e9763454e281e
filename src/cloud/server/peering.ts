/**
 * Calls between policy domains (seed 000 claims 7 and 22): each domain's server is local to its
 * own routers. When an end of a call lies in a prefix another domain's server serves (`--peer`),
 * this server installs its own end and asks that server, as a call-control client on the broker
 * (`callqos/v1/cc/<this server>/req`, bridged between the domains' brokers; on one shared broker,
 * under the peer domain's root), to install the other
 * with the same request and the clearinghouse's token, which names the far domain too. The call is
 * QoS-active for the caller only when the peer's end is active as well; a deletion goes to the
 * peer too. Each domain reports its own end's usage on the one transaction.
 *
 * Which calls went to a peer is kept in memory; after a restart it is worked out again from the
 * call as stored (an end in a peer's prefixes that no gate of ours holds). A request never goes
 * back to the server it came from, so two servers that are each other's peers do not bounce it.
 */
import { parseIp, prefixContains } from '../../core/net/ip.ts';
import type { Logger } from '../../core/log.ts';
import type { MediaLine, SessionAddBody, SessionDeleteBody, SessionStateBody } from '../../core/protocol/messages/cc.ts';
import type { Result } from '../../core/result.ts';
import type { PeerConfig } from './config.ts';
import type { Gate } from '../../core/protocol/messages/gates.ts';
import type { JsonObject } from '../store/types.ts';
import { REASON_CODES, reasonText, refusal } from './reasons.ts';

/** A media line and the gates of ours it has (planned, or as stored). */
interface LineEnds {
  readonly media: MediaLine;
  readonly plan: { readonly gates: readonly { readonly gate: Gate }[] };
}

/** What a stored call offers to work out its peer from. */
interface StoredCall {
  readonly lines: readonly { readonly line: number; readonly spec: JsonObject }[];
  readonly gates: readonly { readonly line: number; readonly gate: Gate }[];
}

/** The session API of another server, as this server asks it. */
export interface PeerClient {
  add(body: SessionAddBody): Promise<Result<SessionStateBody>>;
  remove(body: SessionDeleteBody): Promise<Result<SessionStateBody>>;
}

export class Peering {
  /** Calls handed to a peer, by call id. */
  private readonly calls = new Map<string, PeerConfig>();

  constructor(
    private readonly peers: readonly PeerConfig[],
    /** The session API of a peer's server (one client per topic tree). */
    private readonly clientFor: (peer: PeerConfig) => PeerClient,
    private readonly log: Logger,
  ) {}

  /** The peer serving an end of these lines that no router of ours holds, if any. */
  peerFor(plans: readonly LineEnds[]): PeerConfig | null {
    for (const { media, plan } of plans) {
      for (const end of [media.offer.address, media.answer.address]) {
        if (plan.gates.some((g) => g.gate.lan.address === end)) continue;
        const address = parseIp(end);
        if (!address.ok) continue;
        const peer = this.peers.find((p) => p.prefixes.some((x) => x.address.family === address.value.family && prefixContains(x.address, x.length, address.value)));
        if (peer) return peer;
      }
    }
    return null;
  }

  /** Asks the peer to install its end; the answer the caller gets says where the peer's end stands. */
  async add(peer: PeerConfig, body: SessionAddBody, token: string | undefined): Promise<Result<SessionStateBody>> {
    this.calls.set(body.callId, peer);
    const answer = await this.clientFor(peer).add({ ...body, wait: true, ...(token !== undefined ? { token } : {}) });
    if (!answer.ok) this.log.warn('peer did not answer', { call: body.callId, peer: peer.serverId, reason: answer.error.message });
    else this.log.info('peer answered', { call: body.callId, peer: peer.serverId, state: answer.value.state });
    return answer;
  }

  /**
   * Passes a deletion on to the peer that has the call, if one has: the one asked, or after a
   * restart the one the stored call points at. `from`: the client that asked for the deletion.
   */
  remove(body: SessionDeleteBody, from: string, stored: StoredCall): void {
    const peer = this.calls.get(body.callId) ?? this.peerFor(stored.lines.map((l) => ({
      media: l.spec.media as unknown as MediaLine,
      plan: { gates: stored.gates.filter((g) => g.line === l.line) },
    })));
    this.calls.delete(body.callId);
    if (!peer || peer.serverId === from) return;
    void this.clientFor(peer)
      .remove(body)
      .then((r) => {
        if (!r.ok) this.log.warn('peer did not answer a deletion', { call: body.callId, peer: peer.serverId, reason: r.error.message });
      })
      .catch((err: unknown) => this.log.error('passing a deletion to the peer failed', { call: body.callId, peer: peer.serverId, error: String(err) }));
  }
}

/** The call as the caller sees it: active only when the peer's end is active too. */
export function withPeer(view: SessionStateBody, peer: PeerConfig, answer: Result<SessionStateBody>): SessionStateBody {
  if (answer.ok && answer.value.state === 'active') return view;
  const why = answer.ok ? `${answer.value.state}${answer.value.reason ? `: ${answer.value.reason}` : ''}` : `no answer: ${answer.error.message}`;
  const state = answer.ok && view.state === 'active' ? (answer.value.state === 'pending' ? 'pending' : 'failed') : view.state === 'active' ? 'failed' : view.state;
  // The peer's own reason is quoted whole here and cut, with the rest, when it becomes text.
  return { ...view, state, reason: reasonText(refusal(REASON_CODES.peer, `peer domain ${peer.domain}: ${why}`)) };
}
