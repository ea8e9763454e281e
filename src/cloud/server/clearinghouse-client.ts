/**
 * The policy server's side of the clearinghouse exchange: requests go out on
 * `callqos/v1/ch/<this server>/req`, answers come back on `…/res` with `corr` naming the request.
 * Each request waits up to a timeout; an answer nobody waits for any more is dropped.
 */
import type { Logger } from '../../core/log.ts';
import type { Message } from '../../core/protocol/envelope.ts';
import type { AuthRequestBody, AuthResponseBody, UsageConfirmationBody, UsageIndicationBody } from '../../core/protocol/messages/ch.ts';
import type { Result } from '../../core/result.ts';
import { PendingAnswers } from './pending-answers.ts';
import type { Outbox } from './outbox.ts';

export class ClearinghouseClient {
  private readonly pending = new PendingAnswers();

  constructor(
    private readonly outbox: Pick<Outbox, 'toClearinghouse' | 'serverId'>,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  authorize(body: AuthRequestBody): Promise<Result<AuthResponseBody>> {
    return this.ask('auth.request', body, 'auth.response');
  }

  reportUsage(body: UsageIndicationBody): Promise<Result<UsageConfirmationBody>> {
    return this.ask('usage.indication', body, 'usage.confirmation');
  }

  /** A validated message from this server's `res` topic. */
  receive(message: Message): void {
    if (!this.pending.deliver(message)) this.log.debug('clearinghouse answer that nothing waits for; dropped', { type: message.type, corr: message.corr ?? '' });
  }

  private ask<A>(type: 'auth.request' | 'usage.indication', body: AuthRequestBody | UsageIndicationBody, answerType: 'auth.response' | 'usage.confirmation'): Promise<Result<A>> {
    const sent = this.outbox.toClearinghouse(this.outbox.serverId, type, body as never);
    if (!sent.ok) return Promise.resolve(sent);
    return this.pending.wait<A>(sent.value.id, answerType, this.timeoutMs, `the clearinghouse did not answer ${type}`);
  }
}
