import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { makeMessage, type BodyOf, type Message } from '../../core/protocol/envelope.ts';
import { fail, ok, type CoreError, type Result } from '../../core/result.ts';
import type { Outbox } from '../server/outbox.ts';
import type { SigningKey } from './keys.ts';
import { parsePolicy } from './policy.ts';
import { Clearinghouse } from './service.ts';
import type { ClearinghouseStore } from './store/index.ts';

/** An outbox that refuses to build the first answer (as a field outside its schema would make it), then sends. */
class FailingOnce implements Pick<Outbox, 'fromClearinghouse'> {
  readonly sent: { type: string; body: unknown; corr: string }[] = [];
  private failed = false;
  fromClearinghouse<T extends 'auth.response' | 'usage.confirmation'>(_client: string, type: T, body: BodyOf<T>, corr: string): Result<Message> {
    if (!this.failed) {
      this.failed = true;
      const error: CoreError = { code: 'E_LENGTH', message: 'length 5000 is outside 1..4096', path: 'body.token' };
      return fail(error);
    }
    this.sent.push({ type, body, corr });
    return ok({} as Message);
  }
}

function request<T extends 'auth.request' | 'usage.indication'>(type: T, body: BodyOf<T>): Message {
  const m = makeMessage(type, { id: 'qos-x:1:1', device: 'qos-x', session: 1, seq: 1, ts: 1 }, body);
  if (!m.ok) throw new Error(m.error.message);
  return m.value;
}

describe('clearinghouse answers', () => {
  const policy = parsePolicy({ tokenTtlS: 60, tariff: { currency: 'EUR', perMinute: { voice: 1, video: 1 }, firstIncrementS: 1, nextIncrementS: 1 }, domains: [{ id: 'domain-a', clients: ['qos-a'] }] });
  const make = (outbox: FailingOnce) => new Clearinghouse({ store: {} as ClearinghouseStore, key: {} as SigningKey, policy, outbox, log: createLogger(() => {}) });

  it('answers an authorization whose answer cannot be built with the refusal, naming the error and its field', async () => {
    const outbox = new FailingOnce();
    const flows = [{ line: 0, offer: { address: '192.168.1.20', port: 4000 }, answer: { address: '198.51.100.9', port: 5000 }, dscp: 46 as const, kbps: 80 }];
    await make(outbox).handle('qos-x', request('auth.request', { callId: 'c1', caller: 'a', callee: 'b', sourceDevice: null, destinationDevice: null, destinationDomain: null, flows }));
    expect(outbox.sent).toEqual([{
      type: 'auth.response', corr: 'qos-x:1:1',
      body: { callId: 'c1', allowed: false, reason: 'E_INTERNAL: auth.response could not be built: E_LENGTH at body.token: length 5000 is outside 1..4096', transactionId: null, token: null, validUntilMs: null, maxDurationS: null },
    }]);
  });

  it('answers a usage indication whose confirmation cannot be built with recorded: false and the error', async () => {
    const outbox = new FailingOnce();
    const usage = { transactionId: 't1', callId: 'c1', startMs: 1, connectMs: null, endMs: 2, termination: { sipStatus: null, releasedBy: 'network' as const, reason: null }, codec: null, flows: [] };
    await make(outbox).handle('qos-x', request('usage.indication', usage));
    expect(outbox.sent).toMatchObject([{ type: 'usage.confirmation', corr: 'qos-x:1:1', body: { transactionId: 't1', recorded: false, error: expect.stringMatching(/^E_INTERNAL: usage.confirmation could not be built: E_LENGTH at body.token/) as unknown } }]);
  });
});
