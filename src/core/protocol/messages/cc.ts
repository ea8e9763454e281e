/**
 * Session messages between call control (the SIP proxy, Kamailio, a PBX) and the QoS control
 * server: the session API of DESIGN.md section 6. The same bodies travel over MQTT
 * (`callqos/v1/cc/<client>/req` and `/res`) and over HTTP (`POST /v1/sessions/...`).
 *
 * A session is one call (`callId`) with one or more media lines, each from the SDP offer and
 * answer. Requests are idempotent by call id and media line: repeating one changes nothing and
 * gets the current state back.
 */
import { deviceId, gateDscp, gateId, hostAddress, sessionRef, text, familyOf } from '../fields.ts';
import { Code, arr, bool, int, keyPath, nullable, obj, oneOf, optional, refine, str, type Infer } from '../schema.ts';
import { CODEC_NAME_MAX, GATE_RATE_MAX_KBPS, PARTY_MAX, REASON_MAX, RELEASE_REASON_MAX, TOKEN_MAX } from '../limits.ts';

export const MAX_MEDIA_LINES = 16;
/** Gates a `session.state` line lists (one per router end, with room for a change in flight). */
export const MAX_LINE_GATES = 4;
export const MEDIA_TYPES = ['audio', 'video'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];
/** SDP direction attributes (RFC 4566 section 6), as the offerer declared them. */
export const MEDIA_DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const;
export type MediaDirection = (typeof MEDIA_DIRECTIONS)[number];

/** Where one side receives this stream: SDP `c=` and `m=` port; port 0 means the stream was removed. */
const mediaEnd = obj({ address: hostAddress, port: int({ min: 0, max: 65535 }) });

/** The codec the answer chose (first payload type of the answer's m-line) and what SDP says of its rate. */
const codec = obj({
  /** The rtpmap encoding name, e.g. PCMU, opus, H264. */
  name: str({ min: 1, max: CODEC_NAME_MAX, pattern: /^[A-Za-z0-9._+-]+$/, format: 'codec name' }),
  clockRate: int({ min: 1000, max: 192000 }),
  channels: optional(int({ min: 1, max: 8 })),
  /** `a=ptime`, milliseconds of media per packet. */
  ptimeMs: optional(int({ min: 1, max: 1000 })),
  /** `b=AS`, application-level bandwidth in kbit/s. */
  bandwidthKbps: optional(int({ min: 1, max: 100000 })),
});

export const mediaLine = refine(
  obj({
    /** Index of the m-line in the SDP (0-based): with the call id, the idempotency key. */
    line: int({ min: 0, max: 63 }),
    type: oneOf(MEDIA_TYPES),
    offer: mediaEnd,
    answer: mediaEnd,
    direction: oneOf(MEDIA_DIRECTIONS),
    codec,
  }),
  (m, path) =>
    familyOf(m.offer.address) === familyOf(m.answer.address)
      ? undefined
      : { code: Code.FAMILY, message: 'offer and answer addresses must be of one IP family', path: keyPath(keyPath(path, 'answer'), 'address') },
);

/**
 * One side of the call as call control saw it: `source` is the address its signalling really came
 * from (the packet's source, RFC 3261 received/rport), never a header the client wrote. It selects
 * the router when the SDP address is private; null when call control cannot tell. `uri`: the
 * party's identity (From or To URI), which the clearinghouse authorizes and a token binds.
 */
const party = obj({ source: nullable(hostAddress), uri: optional(text(PARTY_MAX, 1)) });

/**
 * `session.add` / `session.modify` (call control -> server): the media of a call once the answer is
 * known, or after a re-INVITE or UPDATE changed it. `wait`: answer only when the session is
 * QoS-active or has failed (up to the server's deadline), rather than at once. `token`: the
 * clearinghouse's authorization token, when call control has one.
 */
export const sessionAddBody = obj({
  callId: sessionRef,
  caller: party,
  callee: party,
  media: arr(mediaLine, { min: 1, max: MAX_MEDIA_LINES, unique: { key: (m) => String(m.line), field: 'line' } }),
  wait: optional(bool()),
  token: optional(text(TOKEN_MAX, 1)),
});
export const sessionModifyBody = sessionAddBody;

/**
 * `session.delete` (call control -> server): the call ended (BYE, CANCEL, failure, timeout).
 * `releasedBy` and `sipStatus` say who ended it and with which final SIP status, for the usage
 * record (network: a timeout or a failure, not a party).
 */
export const sessionDeleteBody = obj({
  callId: sessionRef,
  reason: optional(text(RELEASE_REASON_MAX, 1)),
  releasedBy: optional(oneOf(['caller', 'callee', 'network'] as const)),
  sipStatus: optional(int({ min: 100, max: 699 })),
});

export const SESSION_STATES = ['pending', 'active', 'rejected', 'failed', 'ending', 'ended'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

const rateKbps = int({ min: 1, max: GATE_RATE_MAX_KBPS });

/**
 * `session.state` (server -> call control; corr = the request it answers, absent in a later notice):
 * where the session stands. It is `active` only when every router involved reported its gates
 * installed; `rejected` (admission or authorization refused: the call goes best effort) and
 * `failed` (a router failed or did not answer in time; what was installed is rolled back) carry
 * the reason.
 */
export const sessionStateBody = obj({
  callId: sessionRef,
  state: oneOf(SESSION_STATES),
  reason: nullable(text(REASON_MAX)),
  lines: arr(
    obj({
      line: int({ min: 0, max: 63 }),
      state: oneOf(SESSION_STATES),
      reason: nullable(text(REASON_MAX)),
      gates: arr(obj({ device: deviceId, id: gateId, dscp: gateDscp, rateKbps }), { max: MAX_LINE_GATES }),
    }),
    { max: MAX_MEDIA_LINES },
  ),
  /** The clearinghouse's token for the call, for call control to carry in SIP (P-Media-Authorization, RFC 3313). */
  token: optional(text(TOKEN_MAX, 1)),
});

export type MediaLine = Infer<typeof mediaLine>;
export type SessionAddBody = Infer<typeof sessionAddBody>;
export type SessionDeleteBody = Infer<typeof sessionDeleteBody>;
export type SessionStateBody = Infer<typeof sessionStateBody>;
