/**
 * The answer to a session request, alike over MQTT (cc-api.ts) and HTTP (http-api.ts). A refused
 * session is an answer like any other: `session.state` with `state: "rejected"` and the reason
 * (over HTTP with status 200). Every body is checked against the `session.state` schema before it
 * goes out, so both fronts send the same thing; one that does not fit is logged at error with the
 * offending field's path and becomes a rejection that names the error, never a silence.
 */
import type { Logger } from '../../core/log.ts';
import { sessionRef } from '../../core/protocol/fields.ts';
import { sessionStateBody, type SessionStateBody } from '../../core/protocol/messages/cc.ts';
import { validate } from '../../core/protocol/schema.ts';
import type { CoreError } from '../../core/result.ts';
import { REASON_CODES, reasonText, refusal } from './reasons.ts';

/** Stands for the call id in an answer to a request whose own call id was unusable. */
export const UNKNOWN_CALL_ID = '-';

/** The request's call id when it is a valid one, else UNKNOWN_CALL_ID: an answer must carry one. */
export function answerCallId(callId: unknown): string {
  const valid = sessionRef.check(callId, 'callId');
  return valid.ok ? valid.value : UNKNOWN_CALL_ID;
}

/** `rejected`, nothing installed: for a request refused as a whole. `reason` is already bounded (reasons.ts). */
export function rejectedState(callId: unknown, reason: string): SessionStateBody {
  return { callId: answerCallId(callId), state: 'rejected', reason, lines: [] };
}

/** The rejection that answers in place of a body the server could not build. */
export function internalRejection(callId: unknown, what: string, error: CoreError): SessionStateBody {
  const where = error.path ? `${error.path}: ` : '';
  return rejectedState(callId, reasonText(refusal(REASON_CODES.internal, `${what} could not be built: ${error.code} at ${where}${error.message}`)));
}

/** `body` if it fits the schema; otherwise logged, and the rejection that names why. */
export function checkedState(body: SessionStateBody, log: Pick<Logger, 'error'>): SessionStateBody {
  const valid = validate(sessionStateBody, body);
  if (valid.ok) return valid.value;
  log.error('cannot build session.state; answered rejected', { call: String(body.callId).slice(0, 64), code: valid.error.code, path: valid.error.path ?? '', reason: valid.error.message });
  return internalRejection(body.callId, 'session.state', valid.error);
}
