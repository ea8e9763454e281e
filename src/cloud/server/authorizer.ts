/**
 * Authorization of a call's QoS by the clearinghouse (seed 000 claims 13-15), before admission:
 *
 *   - call control presented a token (from a SIP P-Media-Authorization header, or the other
 *     domain's policy server): verified here, without a round trip, against the clearinghouse's
 *     public keys: signature, validity window, this domain as audience, the call, the parties
 *     and every flow with its class and rate; then the replay check (a token serves one call);
 *   - otherwise the clearinghouse is asked (`auth.request`) and its token kept for the call.
 *
 * A refusal gives the lines best effort with the reason; it never half-installs. With policy
 * `optional` a clearinghouse that does not answer lets the call have QoS unauthorized (logged);
 * with `required` it does not.
 */
import { verifyToken, type TokenExpectation, type VerifierFor } from '../../core/clearinghouse/token.ts';
import type { Logger } from '../../core/log.ts';
import type { SessionAddBody } from '../../core/protocol/messages/cc.ts';
import type { RequestedFlow } from '../../core/protocol/messages/ch.ts';
import type { CallAuthorization, Store } from '../store/types.ts';
import type { ClearinghouseClient } from './clearinghouse-client.ts';
import { REASON_CODES, reasonText, refusal, type Refusal } from './reasons.ts';

export type AuthorizationPolicy = 'off' | 'optional' | 'required';

export type AuthorizationOutcome =
  | { readonly ok: true; readonly authorization: CallAuthorization | null }
  | { readonly ok: false; readonly reason: Refusal };

export interface AuthorizerDeps {
  readonly policy: Exclude<AuthorizationPolicy, 'off'>;
  /** This server's policy domain: the audience tokens must name. */
  readonly domain: string;
  readonly verifierFor: VerifierFor | null;
  readonly clearinghouse: ClearinghouseClient | null;
  readonly store: Pick<Store, 'useToken' | 'putAuthorization'>;
  readonly log: Logger;
  readonly now: () => number;
}

/** The ends of the call that have routers of ours, for the clearinghouse's record. */
export interface CallEnds {
  readonly sourceDevice: string | null;
  readonly destinationDevice: string | null;
  /** The far end's policy domain, when it is another domain's (a peer's). */
  readonly destinationDomain: string | null;
}

/** A refusal of authorization: its detail, which may quote the clearinghouse or the token check at any length, is cut when it becomes text. */
function refused(detail: string): AuthorizationOutcome {
  return { ok: false, reason: refusal(REASON_CODES.notAuthorized, detail) };
}

export class Authorizer {
  constructor(private readonly deps: AuthorizerDeps) {}

  /** Authorizes `flows` (the lines about to get gates); on success the call's authorization is stored (the first one stays). */
  async authorize(body: SessionAddBody, flows: readonly RequestedFlow[], ends: CallEnds): Promise<AuthorizationOutcome> {
    const outcome = body.token !== undefined ? await this.checkToken(body, body.token, flows) : await this.ask(body, flows, ends);
    if (!outcome.ok) {
      this.deps.log.warn('session not authorized: best effort', { call: body.callId, reason: reasonText(outcome.reason) });
      return outcome;
    }
    if (outcome.authorization === null) return outcome;
    return { ok: true, authorization: await this.deps.store.putAuthorization(outcome.authorization) };
  }

  private async checkToken(body: SessionAddBody, token: string, flows: readonly RequestedFlow[]): Promise<AuthorizationOutcome> {
    if (this.deps.verifierFor === null) return refused('a token was presented, but this server has no clearinghouse keys to verify it');
    const expected: TokenExpectation = {
      audience: this.deps.domain,
      callId: body.callId,
      ...(body.caller.uri !== undefined ? { from: body.caller.uri } : {}),
      ...(body.callee.uri !== undefined ? { to: body.callee.uri } : {}),
      flows,
    };
    const verified = verifyToken(token, expected, { nowMs: this.deps.now(), verifierFor: this.deps.verifierFor });
    if (!verified.ok) return refused(`token refused: ${verified.error.code}: ${verified.error.message}`);
    const claims = verified.value;
    if (!(await this.deps.store.useToken(claims.jti, body.callId, this.deps.now()))) {
      return refused(`token refused: E_TOKEN_REPLAYED: transaction ${claims.jti} was used by another call`);
    }
    return { ok: true, authorization: this.record(body.callId, claims.jti, 'token', token, claims.maxs) };
  }

  private async ask(body: SessionAddBody, flows: readonly RequestedFlow[], ends: CallEnds): Promise<AuthorizationOutcome> {
    if (this.deps.clearinghouse === null) return refused('no token presented, and no clearinghouse to ask');
    const answer = await this.deps.clearinghouse.authorize({
      callId: body.callId,
      caller: body.caller.uri ?? body.caller.source ?? 'anonymous',
      callee: body.callee.uri ?? body.callee.source ?? 'anonymous',
      sourceDevice: ends.sourceDevice,
      destinationDevice: ends.destinationDevice,
      destinationDomain: ends.destinationDomain,
      flows: [...flows],
    });
    if (!answer.ok) {
      if (this.deps.policy === 'optional') {
        this.deps.log.warn('clearinghouse unavailable; QoS given unauthorized (policy optional)', { call: body.callId, reason: answer.error.message });
        return { ok: true, authorization: null };
      }
      return refused(answer.error.message);
    }
    const a = answer.value;
    if (!a.allowed || a.transactionId === null || a.token === null || a.maxDurationS === null) return refused(a.reason ?? 'refused by the clearinghouse');
    // Our own token, so nobody else can present it for another call.
    await this.deps.store.useToken(a.transactionId, body.callId, this.deps.now());
    return { ok: true, authorization: this.record(body.callId, a.transactionId, 'clearinghouse', a.token, a.maxDurationS) };
  }

  private record(callId: string, transactionId: string, source: CallAuthorization['source'], token: string, maxDurationS: number): CallAuthorization {
    return { callId, transactionId, source, token, maxDurationS, authorizedAtMs: this.deps.now(), release: null, usage: null, usageConfirmedAtMs: null };
  }
}
