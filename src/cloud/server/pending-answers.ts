/**
 * Requests sent over the broker that wait for their answer: an answer names its request in `corr`;
 * a request unanswered within its timeout resolves to E_TIMEOUT, and an answer that comes later,
 * or names nothing waiting, is reported to the caller as not taken.
 */
import type { Message } from '../../core/protocol/envelope.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';

export class PendingAnswers {
  private readonly waiting = new Map<string, (answer: Message) => boolean>();

  /** Waits for the answer to request `id` of type `answerType`; `what` names the request in the timeout error. */
  wait<T>(id: string, answerType: Message['type'], timeoutMs: number, what: string): Promise<Result<T>> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(fail(coreError('E_TIMEOUT', `${what} within ${timeoutMs} ms`)));
      }, timeoutMs);
      timer.unref?.();
      this.waiting.set(id, (answer) => {
        if (answer.type !== answerType) return false; // not the answer to this request: keep waiting
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(ok(answer.body as T));
        return true;
      });
    });
  }

  /** Hands an answer to the request it names; false when nothing waits for it. */
  deliver(answer: Message): boolean {
    const waiter = answer.corr === undefined ? undefined : this.waiting.get(answer.corr);
    return waiter !== undefined && waiter(answer);
  }
}
