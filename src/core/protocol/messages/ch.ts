/**
 * Clearinghouse messages between a policy server and the clearinghouse, with the meaning of the
 * Open Settlement Protocol (ETSI TS 101 321): AuthorisationRequest/Response and
 * UsageIndication/Confirmation, carried over MQTT (`callqos/v1/ch/<client>/req` and `/res`).
 *
 * The requesting domain is never a body field: the clearinghouse takes it from the sender the
 * broker authenticated (the topic's client id), so a policy server cannot ask in another's name.
 */
import { deviceId, messageId, sessionRef, text, timestamp, counter, gateDscp, hostAddress, familyOf } from '../fields.ts';
import { Code, arr, bool, int, keyPath, nullable, obj, oneOf, refine, type Infer } from '../schema.ts';
import { CODEC_NAME_MAX, GATE_RATE_MAX_KBPS, PARTY_MAX, REASON_MAX, RELEASE_REASON_MAX, TOKEN_MAX } from '../limits.ts';

const endpoint = obj({ address: hostAddress, port: int({ min: 0, max: 65535 }) });

/** One media flow to authorize: a media line's two ends, the class asked for and its rate (also what a token binds). */
export const requestedFlow = refine(
  obj({ line: int({ min: 0, max: 63 }), offer: endpoint, answer: endpoint, dscp: gateDscp, kbps: int({ min: 1, max: GATE_RATE_MAX_KBPS }) }),
  (f, path) =>
    familyOf(f.offer.address) === familyOf(f.answer.address)
      ? undefined
      : { code: Code.FAMILY, message: 'offer and answer addresses must be of one IP family', path: keyPath(keyPath(path, 'answer'), 'address') },
);

/** A party as SIP named it: a SIP or tel URI, or a number. */
const identity = text(PARTY_MAX, 1);

/** `auth.request` (policy server -> clearinghouse): may this call have QoS, and for how long? */
export const authRequestBody = obj({
  callId: sessionRef,
  caller: identity,
  callee: identity,
  /** The routers the policy server located at each end; null where an end has none of ours. */
  sourceDevice: nullable(deviceId),
  destinationDevice: nullable(deviceId),
  /** The domain of the far end, when it is another policy domain (for settlement); null when local. */
  destinationDomain: nullable(deviceId),
  flows: arr(requestedFlow, { min: 1, max: 16, unique: { key: (f) => String(f.line), field: 'line' } }),
});

/**
 * `auth.response` (clearinghouse -> policy server; corr = the request): allowed with a signed token,
 * its transaction id, validity and time limit; or refused with the reason.
 */
export const authResponseBody = refine(
  obj({
    callId: sessionRef,
    allowed: bool(),
    reason: nullable(text(REASON_MAX, 1)),
    transactionId: nullable(messageId),
    token: nullable(text(TOKEN_MAX, 1)),
    /** Milliseconds since the epoch until which the token may be presented. */
    validUntilMs: nullable(timestamp),
    maxDurationS: nullable(int({ min: 1, max: 7 * 86400 })),
  }),
  (r, path) => {
    const complete = r.transactionId !== null && r.token !== null && r.validUntilMs !== null && r.maxDurationS !== null;
    if (r.allowed && !complete) return { code: Code.REQUIRED, message: 'an allowed authorization carries transactionId, token, validUntilMs and maxDurationS', path };
    if (!r.allowed && r.reason === null) return { code: Code.REQUIRED, message: 'a refusal carries its reason', path: keyPath(path, 'reason') };
    return undefined;
  },
);

/** Flows a usage indication carries: each media line's two directions, with room to spare. */
export const MAX_USED_FLOWS = 64;

export const RELEASE_SIDES = ['caller', 'callee', 'network'] as const;
export const FLOW_DIRECTIONS = ['forward', 'reverse'] as const;

/** What one media flow carried in one direction (forward: caller to callee), from the routers' counters. */
const usedFlow = obj({
  line: int({ min: 0, max: 63 }),
  direction: oneOf(FLOW_DIRECTIONS),
  packets: counter,
  bytes: counter,
  /** Packets the sending end's router counted that the receiving end's did not; null when one end has no router of ours. */
  lost: nullable(counter),
});

/**
 * `usage.indication` (policy server -> clearinghouse): the call ended; what it used. Idempotent by
 * transaction id: a retry is confirmed again and counted once.
 */
export const usageIndicationBody = refine(
  obj({
    transactionId: messageId,
    callId: sessionRef,
    startMs: timestamp,
    /** When the call was answered (QoS active); null for a call that never connected. */
    connectMs: nullable(timestamp),
    endMs: timestamp,
    termination: obj({
      /** The SIP status that ended it (e.g. 200 for a BYE, 487 for a CANCEL), when there was one. */
      sipStatus: nullable(int({ min: 100, max: 699 })),
      releasedBy: oneOf(RELEASE_SIDES),
      reason: nullable(text(RELEASE_REASON_MAX, 1)),
    }),
    codec: nullable(text(CODEC_NAME_MAX, 1)),
    flows: arr(usedFlow, { max: MAX_USED_FLOWS }),
  }),
  (u, path) => {
    if (u.endMs < u.startMs) return { code: Code.RANGE, message: 'endMs is before startMs', path: keyPath(path, 'endMs') };
    if (u.connectMs !== null && (u.connectMs < u.startMs || u.connectMs > u.endMs)) {
      return { code: Code.RANGE, message: 'connectMs is outside startMs..endMs', path: keyPath(path, 'connectMs') };
    }
    return undefined;
  },
);

/** `usage.confirmation` (clearinghouse -> policy server; corr = the indication). */
export const usageConfirmationBody = obj({
  transactionId: messageId,
  /** False when this indication was a repeat of one already recorded (nothing counted twice). */
  recorded: bool(),
  /** Why it could not be recorded (an unknown transaction id, another domain's transaction); null when it was, or was already. */
  error: nullable(text(REASON_MAX, 1)),
});

export type AuthRequestBody = Infer<typeof authRequestBody>;
export type AuthResponseBody = Infer<typeof authResponseBody>;
export type UsageIndicationBody = Infer<typeof usageIndicationBody>;
export type UsageConfirmationBody = Infer<typeof usageConfirmationBody>;
export type RequestedFlow = AuthRequestBody['flows'][number];
