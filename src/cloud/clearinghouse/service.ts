/**
 * The clearinghouse (seed 000 claims 13-15 and 29-31), with Open Settlement Protocol meaning:
 *
 *   auth.request      -> auth.response        may this call have QoS? If so: a signed token bound
 *                                             to the call, its parties and flows, with a
 *                                             transaction id, a validity window and a time limit
 *   usage.indication  -> usage.confirmation   the call ended: one rated CDR per transaction and
 *                                             end (the asking domain's and the far domain's), a
 *                                             retry confirmed again and never counted twice
 *
 * and settlement between domains per period. The requesting domain comes from the broker login
 * the request arrived through (its topic), through the policy's client table, never from the
 * message. A repeated request id gets the same answer without doing the work again.
 */
import { randomBytes } from 'node:crypto';
import { rateCall, settle, type SettlementLine } from '../../core/clearinghouse/rating.ts';
import { assembleToken, tokenSigningInput, type TokenClaims } from '../../core/clearinghouse/token.ts';
import type { Logger } from '../../core/log.ts';
import type { Message } from '../../core/protocol/envelope.ts';
import type { AuthRequestBody, AuthResponseBody, UsageConfirmationBody, UsageIndicationBody } from '../../core/protocol/messages/ch.ts';
import { REASON_MAX, TOKEN_MAX } from '../../core/protocol/limits.ts';
import { bounded, codedText } from '../../core/text/bounded.ts';
import type { Outbox } from '../server/outbox.ts';
import type { SigningKey } from './keys.ts';
import type { ClearinghousePolicy, DomainPolicy } from './policy.ts';
import type { Cdr, ClearinghouseStore, Transaction } from './store/index.ts';

export interface ClearinghouseDeps {
  readonly store: ClearinghouseStore;
  readonly key: SigningKey;
  readonly policy: ClearinghousePolicy;
  readonly outbox: Pick<Outbox, 'fromClearinghouse'>;
  readonly log: Logger;
  readonly now?: () => number;
}

type Answer = { type: 'auth.response'; body: AuthResponseBody } | { type: 'usage.confirmation'; body: UsageConfirmationBody };

const REMEMBERED_ANSWERS = 1024;

export class Clearinghouse {
  private readonly domainOfClient = new Map<string, DomainPolicy>();
  private readonly domains = new Map<string, DomainPolicy>();
  /** Answers to recent request ids, per client, so that a repeat gets the same answer. */
  private readonly answered = new Map<string, Answer>();
  private readonly now: () => number;

  constructor(private readonly deps: ClearinghouseDeps) {
    this.now = deps.now ?? Date.now;
    for (const d of deps.policy.domains) {
      this.domains.set(d.id, d);
      for (const c of d.clients) this.domainOfClient.set(c, d);
    }
  }

  /** A validated message that arrived on `callqos/v1/ch/<client>/req`. */
  async handle(client: string, message: Message): Promise<void> {
    if (message.device !== client) {
      this.deps.log.warn('clearinghouse request names another sender than its topic; dropped', { client, sender: message.device });
      return;
    }
    const key = `${client}\n${message.id}`;
    let answer = this.answered.get(key);
    if (!answer) {
      if (message.type === 'auth.request') answer = { type: 'auth.response', body: await this.authorize(client, message.body) };
      else if (message.type === 'usage.indication') answer = { type: 'usage.confirmation', body: await this.recordUsage(client, message.body) };
      else {
        this.deps.log.warn('message type not expected by the clearinghouse; dropped', { client, type: message.type });
        return;
      }
      this.answered.set(key, answer);
      if (this.answered.size > REMEMBERED_ANSWERS) this.answered.delete(this.answered.keys().next().value as string);
    }
    const sent = this.deps.outbox.fromClearinghouse(client, answer.type, answer.body as never, message.id);
    if (sent.ok) return;
    // The outbox logged it with the field's path. The policy server still gets its answer: the
    // protocol's refusal (an authorization refused, a usage not recorded) naming the error.
    const why = codedText('E_INTERNAL', `${answer.type} could not be built: ${sent.error.code} at ${sent.error.path ?? ''}: ${sent.error.message}`, REASON_MAX);
    const fallback =
      answer.type === 'auth.response'
        ? this.deps.outbox.fromClearinghouse(client, 'auth.response', { callId: answer.body.callId, allowed: false, reason: why, transactionId: null, token: null, validUntilMs: null, maxDurationS: null }, message.id)
        : this.deps.outbox.fromClearinghouse(client, 'usage.confirmation', { transactionId: answer.body.transactionId, recorded: false, error: why }, message.id);
    if (!fallback.ok) this.deps.log.error('no answer could be sent to the policy server', { client, type: answer.type, code: fallback.error.code, path: fallback.error.path ?? '' });
  }

  /** OSP authorisation: the policy's checks, then a transaction and its signed token. */
  async authorize(client: string, request: AuthRequestBody): Promise<AuthResponseBody> {
    const refuse = (detail: string): AuthResponseBody => {
      // Details quote domain and client names: cut to the answer's bound, so the answer always builds.
      const reason = bounded(detail, REASON_MAX);
      this.deps.log.info('authorization refused', { client, call: request.callId, reason });
      return { callId: request.callId, allowed: false, reason, transactionId: null, token: null, validUntilMs: null, maxDurationS: null };
    };
    const domain = this.domainOfClient.get(client);
    if (!domain) return refuse(`client ${client} belongs to no domain this clearinghouse serves`);
    const far = request.destinationDomain;
    if (far !== null && far !== domain.id) {
      if (!this.domains.has(far)) return refuse(`destination domain ${far} is not served by this clearinghouse`);
      if (!domain.peers.includes(far)) return refuse(`no settlement agreement between ${domain.id} and ${far}`);
    }
    const tooFast = request.flows.find((f) => f.kbps > domain.maxKbpsPerFlow);
    if (tooFast) return refuse(`media line ${tooFast.line} asks for ${tooFast.kbps} kbit/s, more than ${domain.maxKbpsPerFlow} allowed per flow`);

    const issuedAtMs = this.now();
    const validUntilMs = issuedAtMs + this.deps.policy.tokenTtlS * 1000;
    const transaction: Transaction = {
      id: newTransactionId(),
      domain: domain.id,
      client,
      callId: request.callId,
      caller: request.caller,
      callee: request.callee,
      destinationDomain: far,
      flows: request.flows,
      issuedAtMs,
      validUntilMs,
      maxDurationS: domain.maxDurationS,
    };
    const claims: TokenClaims = {
      iss: this.deps.key.issuer,
      aud: domain.id,
      ...(far !== null && far !== domain.id ? { dst: far } : {}),
      jti: transaction.id,
      iat: Math.floor(issuedAtMs / 1000),
      nbf: Math.floor(issuedAtMs / 1000),
      exp: Math.floor(validUntilMs / 1000),
      call: request.callId,
      from: request.caller,
      to: request.callee,
      flows: request.flows.map(({ line, offer, answer, dscp, kbps }) => ({ line, offer, answer, dscp, kbps })),
      maxs: domain.maxDurationS,
    };
    const input = tokenSigningInput(this.deps.key.kid, claims);
    if (!input.ok) return refuse(`cannot issue a token for this request: ${input.error.message}`);
    const token = assembleToken(input.value, this.deps.key.sign(new TextEncoder().encode(input.value)));
    // Long parties and many flows make a long token; one beyond what the answer may carry is refused, not left unanswered.
    if (token.length > TOKEN_MAX) return refuse(`E_TOKEN_TOO_LONG: the token for this call would be ${token.length} characters, more than ${TOKEN_MAX}`);
    await this.deps.store.putTransaction(transaction);
    this.deps.log.info('authorized', { client, domain: domain.id, call: request.callId, transaction: transaction.id });
    return { callId: request.callId, allowed: true, reason: null, transactionId: transaction.id, token, validUntilMs, maxDurationS: domain.maxDurationS };
  }

  /**
   * OSP usage: the transaction must be the call's, and the sender's domain one of its two ends
   * (the domain that asked reports the source side, the far domain the destination side); rated
   * and recorded once per side.
   */
  async recordUsage(client: string, usage: UsageIndicationBody): Promise<UsageConfirmationBody> {
    const refuse = (detail: string): UsageConfirmationBody => {
      const error = bounded(detail, REASON_MAX);
      this.deps.log.warn('usage indication not recorded', { client, transaction: usage.transactionId, reason: error });
      return { transactionId: usage.transactionId, recorded: false, error };
    };
    const domain = this.domainOfClient.get(client);
    if (!domain) return refuse(`client ${client} belongs to no domain this clearinghouse serves`);
    const transaction = await this.deps.store.getTransaction(usage.transactionId);
    if (!transaction) return refuse(`no transaction ${usage.transactionId}`);
    const side = domain.id === transaction.domain ? 'source' : domain.id === transaction.destinationDomain ? 'destination' : null;
    if (side === null) return refuse(`transaction ${usage.transactionId} belongs to other domains`);
    if (transaction.callId !== usage.callId) return refuse(`transaction ${usage.transactionId} is for another call`);
    const rating = rateCall({ connectMs: usage.connectMs, endMs: usage.endMs, dscps: transaction.flows.map((f) => f.dscp) }, this.deps.policy.tariff);
    const recorded = await this.deps.store.insertCdr({
      transactionId: transaction.id,
      side,
      domain: transaction.domain,
      destinationDomain: transaction.destinationDomain,
      callId: transaction.callId,
      caller: transaction.caller,
      callee: transaction.callee,
      startMs: usage.startMs,
      connectMs: usage.connectMs,
      endMs: usage.endMs,
      sipStatus: usage.termination.sipStatus,
      releasedBy: usage.termination.releasedBy,
      reason: usage.termination.reason,
      codec: usage.codec,
      flows: usage.flows,
      serviceClass: rating.serviceClass,
      durationS: rating.durationS,
      billableS: rating.billableS,
      amount: rating.amount,
      currency: rating.currency,
      receivedAtMs: this.now(),
    });
    if (recorded) this.deps.log.info('CDR recorded', { domain: domain.id, side, call: usage.callId, transaction: transaction.id, durationS: rating.durationS, amount: rating.amount });
    else this.deps.log.info('usage indication repeated; already recorded', { transaction: transaction.id });
    return { transactionId: transaction.id, recorded, error: null };
  }

  settlement(fromMs: number, toMs: number): Promise<SettlementLine[]> {
    return settlementOf(this.deps.store, fromMs, toMs);
  }
}

/**
 * What each domain owes another for the calls that ended in [fromMs, toMs), from the stored CDRs:
 * each call once, by the source side's record, or the destination's where the source sent none.
 */
export async function settlementOf(store: ClearinghouseStore, fromMs: number, toMs: number): Promise<SettlementLine[]> {
  const byTransaction = new Map<string, Cdr>();
  for (const cdr of await store.listCdrs({ endFromMs: fromMs, endToMs: toMs })) {
    const seen = byTransaction.get(cdr.transactionId);
    if (!seen || (seen.side === 'destination' && cdr.side === 'source')) byTransaction.set(cdr.transactionId, cdr);
  }
  return settle(byTransaction.values(), fromMs, toMs);
}

/** Unique across instances and restarts without coordination: time plus 64 random bits. */
function newTransactionId(): string {
  return `t${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
}
