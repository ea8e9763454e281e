/**
 * The calls the proxy follows for QoS: per Call-ID the caller's tag and identities, where each
 * side's signalling really came from, the latest SDP of each side, and whether the session API has
 * the call. Media lines always run caller (offer end) to callee (answer end), also when the callee
 * sends a re-INVITE, so that a line keeps its gates' identity across changes.
 */
import type { SessionAddBody } from '../../core/protocol/messages/cc.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import { coreError } from '../../core/result.ts';
import type { SipResponse } from '../../core/sip/message.ts';
import { mediaLines, type SdpSession } from './sdp.ts';
import { PARTY_MAX } from '../../core/protocol/limits.ts';
import { bounded } from '../../core/text/bounded.ts';

export interface CallRecord {
  readonly callId: string;
  readonly callerTag: string;
  readonly callerUri: string;
  readonly calleeUri: string;
  /** The source address of the caller's INVITE packet (RFC 3261 received), never a header. */
  readonly callerSource: string;
  calleeSource: string | null;
  callerSdp: SdpSession | null;
  calleeSdp: SdpSession | null;
  /** An offer waiting for its answer, which side made it, and the token its request presented (RFC 3313). */
  pendingOffer: { sdp: SdpSession; fromCaller: boolean; token: string | null } | null;
  /** The token presented with the offer being answered, for the session request. */
  token: string | null;
  /** The session API has the call (an add was sent). */
  inSessionApi: boolean;
  /** A 2xx to the INVITE held until QoS is active, or the 2xx as forwarded (sent again on retransmissions). */
  holding: boolean;
  forwarded2xx: { readonly txKey: string; readonly res: SipResponse } | null;
  /** The call was answered: a BYE ends it, a failure before that a CANCEL or error does. */
  answered: boolean;
  readonly startedAtMs: number;
  lastSeenMs: number;
}

export class CallTable {
  private readonly calls = new Map<string, CallRecord>();

  start(record: Omit<CallRecord, 'calleeSource' | 'callerSdp' | 'calleeSdp' | 'inSessionApi' | 'holding' | 'forwarded2xx' | 'answered' | 'lastSeenMs' | 'token'>): CallRecord {
    const call: CallRecord = { ...record, token: null, calleeSource: null, callerSdp: null, calleeSdp: null, inSessionApi: false, holding: false, forwarded2xx: null, answered: false, lastSeenMs: record.startedAtMs };
    this.calls.set(record.callId, call);
    return call;
  }

  get(callId: string): CallRecord | undefined {
    return this.calls.get(callId);
  }

  end(callId: string): CallRecord | undefined {
    const call = this.calls.get(callId);
    this.calls.delete(callId);
    return call;
  }

  /** Calls silent for longer than `maxIdleMs` (a lost BYE): taken out and returned, for their sessions to end. */
  expire(nowMs: number, maxIdleMs: number): CallRecord[] {
    const gone: CallRecord[] = [];
    for (const call of this.calls.values()) if (nowMs - call.lastSeenMs > maxIdleMs) gone.push(call);
    for (const call of gone) this.calls.delete(call.callId);
    return gone;
  }

  get size(): number {
    return this.calls.size;
  }
}

/**
 * A party as the session API takes it: the URI cut to its bound at a character boundary (slice()
 * could leave half a surrogate pair, and the request would not build), none when there is none.
 */
function party(source: string | null, uri: string): SessionAddBody['caller'] {
  return uri === '' ? { source } : { source, uri: bounded(uri, PARTY_MAX) };
}

/** The session request for a call whose offer was just answered (`answerFromCallee`: who answered). */
export function sessionRequestFor(call: CallRecord, wait: boolean): Result<{ body: SessionAddBody; skipped: string[] }> {
  if (call.callerSdp === null || call.calleeSdp === null) return fail(coreError('E_SDP', 'no offer and answer to take media from'));
  const media = mediaLines(call.callerSdp, call.calleeSdp);
  if (!media.ok) return media;
  if (media.value.lines.length === 0) return fail(coreError('E_SDP', `no audio or video line to give QoS${media.value.skipped.length ? `: ${media.value.skipped.join('; ')}` : ''}`));
  return ok({
    body: {
      callId: call.callId,
      caller: party(call.callerSource, call.callerUri),
      callee: party(call.calleeSource, call.calleeUri),
      media: media.value.lines,
      wait,
      ...(call.token !== null ? { token: call.token } : {}),
    },
    skipped: media.value.skipped,
  });
}
