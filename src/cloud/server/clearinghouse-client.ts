/**
 * The policy server's side of the clearinghouse exchange: requests go out on
 * `callqos/v1/ch/<this server>/req`, answers come back on `…/res` with `corr` naming the request.
 * Each request waits up to a timeout; an answer nobody waits for any more is dropped.
 */
import type { Logger } from '../../core/log.ts';
import type { Message } from '../../core/protocol/envelope.ts';
import type { AuthRequestBody, AuthResponseBody, UsageConfirmationBody, UsageIndicationBody } from '../../core/protocol/messages/ch.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import type { Outbox } from './outbox.ts';

export class ClearinghouseClient {
  private readonly pending = new Map<string, (answer: Message) => void>();

  constructor(
    private readonly outbox: Pick<Outbox, 'toClearinghouse' | 'serverId'>,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  authorize(body: AuthRequestBody): Promise<Result<AuthResponseBody>> {
    return this.ask('auth.request', body, 'auth.response') as Promise<Result<AuthResponseBody>>;
  }

  reportUsage(body: UsageIndicationBody): Promise<Result<UsageConfirmationBody>> {
    return this.ask('usage.indication', body, 'usage.confirmation') as Promise<Result<UsageConfirmationBody>>;
  }

  /** A validated message from this server's `res` topic. */
  receive(message: Message): void {
    const waiter = message.corr === undefined ? undefined : this.pending.get(message.corr);
    if (!waiter) {
      this.log.debug('clearinghouse answer that nothing waits for; dropped', { type: message.type, corr: message.corr ?? '' });
      return;
    }
    waiter(message);
  }

  private ask<T extends 'auth.request' | 'usage.indication'>(type: T, body: T extends 'auth.request' ? AuthRequestBody : UsageIndicationBody, answerType: string): Promise<Result<unknown>> {
    const sent = this.outbox.toClearinghouse(this.outbox.serverId, type, body as never);
    if (!sent.ok) return Promise.resolve(sent);
    const id = sent.value.id;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(fail(coreError('E_TIMEOUT', `the clearinghouse did not answer ${type} within ${this.timeoutMs} ms`)));
      }, this.timeoutMs);
      timer.unref?.();
      this.pending.set(id, (answer) => {
        if (answer.type !== answerType) return; // not the answer to this request: keep waiting
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(ok(answer.body));
      });
    });
  }
}
