/**
 * Why a session or a media line has no QoS, as call control reads it: a stable code a program
 * matches on, then a detail for people. Refusals travel as `{code, detail}` and become text only
 * here, cut to the bound of `session.state`'s reason (REASON_MAX): a detail built from addresses,
 * router lists or another party's message can be any length, and a reason that did not fit
 * would make the answer fail to build and leave the request unanswered.
 */
import { REASON_MAX } from '../../core/protocol/limits.ts';
import { codedText } from '../../core/text/bounded.ts';

export const REASON_CODES = {
  /** The stream was removed (port 0) or is inactive: nothing to carry. */
  noStream: 'E_NO_STREAM',
  /** Neither the codec nor `b=AS` gives the stream's rate. */
  noRate: 'E_NO_RATE',
  /** The stream needs more than one gate admits. */
  rate: 'E_RATE',
  /** No router of this domain holds either end. */
  noRouter: 'E_NO_ROUTER',
  /** A router the call needs has never opened a session with the server. */
  routerUnknown: 'E_ROUTER_UNKNOWN',
  /** A router the call needs is offline (or went offline before installing). */
  routerOffline: 'E_ROUTER_OFFLINE',
  /** A router's EF budget has no room for the call in one direction. */
  budget: 'E_BUDGET',
  /** The clearinghouse refused the call, or a presented token was refused. */
  notAuthorized: 'E_NOT_AUTHORIZED',
  /** A router reported that it could not install a gate. */
  routerRefused: 'E_ROUTER_REFUSED',
  /** A router did not report its install within the decision deadline. */
  deadline: 'E_DEADLINE',
  /** A router removed an installed gate by itself. */
  gateRemoved: 'E_GATE_REMOVED',
  /** The peer domain's server did not make its end of the call active. */
  peer: 'E_PEER',
  /** An operator revoked a router the call used: its login is disabled and its gates end. */
  revoked: 'E_REVOKED',
  /** The server could not build what it had to send; a bug, logged at error. */
  internal: 'E_INTERNAL',
} as const;
export type ReasonCode = (typeof REASON_CODES)[keyof typeof REASON_CODES];

export interface Refusal {
  readonly code: ReasonCode;
  readonly detail: string;
}

export function refusal(code: ReasonCode, detail: string): Refusal {
  return { code, detail };
}

/** The refusal as a message carries it: `E_CODE: detail`, at most REASON_MAX units, cut at a character boundary. */
export function reasonText(r: Refusal): string {
  return codedText(r.code, r.detail, REASON_MAX);
}

/** An error from elsewhere (the session API's own errors, a peer's) as a reason: its code kept, bounded alike. */
export function errorReason(error: { readonly code: string; readonly message: string }): string {
  return codedText(error.code, error.message, REASON_MAX);
}
