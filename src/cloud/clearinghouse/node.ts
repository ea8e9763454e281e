/**
 * The clearinghouse on the broker: takes requests on `callqos/v1/ch/+/req` (shared among
 * instances where the broker has shared subscriptions), one at a time per client, and answers on
 * the client's `res` topic. Malformed messages are dropped with a rate-limited log line.
 */
import type { Logger } from '../../core/log.ts';
import { decodeMessage } from '../../core/protocol/envelope.ts';
import { allChFilter, parseTopic } from '../../core/protocol/topics.ts';
import { Rejections } from '../../core/rejections.ts';
import type { Bus } from '../server/server.ts';
import { KeyedQueue } from '../server/keyed-queue.ts';
import { Outbox, newSenderSession } from '../server/outbox.ts';
import type { SigningKey } from './keys.ts';
import type { ClearinghousePolicy } from './policy.ts';
import { Clearinghouse } from './service.ts';
import type { ClearinghouseStore } from './store/index.ts';

export interface ClearinghouseNodeOptions {
  readonly id: string;
  readonly bus: Bus;
  readonly store: ClearinghouseStore;
  readonly key: SigningKey;
  readonly policy: ClearinghousePolicy;
  readonly log: Logger;
  readonly shareGroup?: string;
  readonly now?: () => number;
}

export interface ClearinghouseNode {
  readonly service: Clearinghouse;
  /** Resolves when every message received so far has been handled (for tests and shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startClearinghouse(options: ClearinghouseNodeOptions): Promise<ClearinghouseNode> {
  const { bus, log } = options;
  const now = options.now ?? Date.now;
  const outbox = new Outbox(bus, log, options.id, newSenderSession(), now);
  const service = new Clearinghouse({ store: options.store, key: options.key, policy: options.policy, outbox, log, now });
  const rejections = new Rejections(log, 'clearinghouse message rejected', now);
  const queue = new KeyedQueue();
  const pending = new Set<Promise<void>>();

  const receive = (topic: string, text: string): void => {
    const where = parseTopic(topic);
    if (where?.kind !== 'ch' || where.channel !== 'req') {
      rejections.note('E_TOPIC', { topic: topic.slice(0, 128) });
      return;
    }
    const decoded = decodeMessage(text);
    if (!decoded.ok) {
      rejections.note(decoded.error.code, { from: where.id, field: decoded.error.path ?? '', reason: decoded.error.message.slice(0, 200) });
      return;
    }
    const work = queue
      .run(where.id, () => service.handle(where.id, decoded.value))
      .catch((err: unknown) => log.error('handling a clearinghouse request failed', { from: where.id, type: decoded.value.type, error: String(err) }));
    pending.add(work);
    const forget = () => pending.delete(work);
    work.then(forget, forget);
  };
  await bus.subscribe(allChFilter('req', options.shareGroup), receive);
  log.info('clearinghouse running', { id: options.id, issuer: options.key.issuer, key: options.key.kid, store: options.store.backend, domains: options.policy.domains.length });
  return {
    service,
    idle: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    stop: () => bus.close(),
  };
}
