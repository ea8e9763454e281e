/**
 * The session API in SIP terms, for a proxy that cannot read SDP itself (Kamailio's configuration
 * language, a PBX's dialplan): it posts the offer and the answer as they were (base64, so that no
 * escaping is needed in the proxy's configuration) with where each side's signalling came from,
 * and this turns them into a session request with the same SDP reading the built-in proxy uses.
 *
 *   POST /v1/sip/answered   {callId, caller: {source, uri?}, callee: {source, uri?}, offer, answer, token?, wait?}
 *
 * `wait` (default true): answer once the routers installed the gates; false: once the call is
 * authorized and admitted and the decisions are sent, which holds a blocking proxy worker for
 * less time.
 *   POST /v1/sip/ended      {callId, reason?, releasedBy?, sipStatus?}   (a session.delete body)
 */
import { hostAddress, sessionRef, text } from '../../core/protocol/fields.ts';
import type { SessionAddBody } from '../../core/protocol/messages/cc.ts';
import { bool, nullable, obj, optional, str, validate, type Infer } from '../../core/protocol/schema.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import { PARTY_MAX, TOKEN_MAX } from '../../core/protocol/limits.ts';
import { mediaLines, parseSdp, MAX_SDP_BYTES } from './sdp.ts';

const party = obj({ source: nullable(hostAddress), uri: optional(text(PARTY_MAX, 1)) });
const base64Sdp = str({ min: 4, max: Math.ceil((MAX_SDP_BYTES * 4) / 3) + 4, pattern: /^[A-Za-z0-9+/]+={0,2}$/, format: 'base64 SDP' });

export const sipAnsweredBody = obj({
  callId: sessionRef,
  caller: party,
  callee: party,
  offer: base64Sdp,
  answer: base64Sdp,
  token: optional(text(TOKEN_MAX, 1)),
  wait: optional(bool()),
});

export type SipAnsweredBody = Infer<typeof sipAnsweredBody>;

function sdpOf(encoded: string, which: string) {
  const parsed = parseSdp(Buffer.from(encoded, 'base64').toString('utf8'));
  return parsed.ok ? parsed : fail(coreError('E_SDP', `${which}: ${parsed.error.message}`, which));
}

/** Validates the posted body and reads both SDPs into a session add (wait: the answer is held for it). */
export function sessionFromAnswered(input: unknown): Result<SessionAddBody> {
  const body = validate(sipAnsweredBody, input);
  if (!body.ok) return body;
  const { callId, caller, callee, token, wait } = body.value;
  const offer = sdpOf(body.value.offer, 'offer');
  if (!offer.ok) return offer;
  const answer = sdpOf(body.value.answer, 'answer');
  if (!answer.ok) return answer;
  const media = mediaLines(offer.value, answer.value);
  if (!media.ok) return media;
  if (media.value.lines.length === 0) {
    return fail(coreError('E_SDP', `no audio or video line to give QoS${media.value.skipped.length ? `: ${media.value.skipped.join('; ')}` : ''}`, 'answer'));
  }
  return ok({ callId, caller, callee, media: media.value.lines, wait: wait ?? true, ...(token !== undefined ? { token } : {}) });
}
