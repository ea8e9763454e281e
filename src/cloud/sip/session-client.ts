/**
 * Call control's side of the session API over MQTT: `session.add` / `session.delete` on
 * `callqos/v1/cc/<proxy>/req` (or under another domain's root, for a server asking its peer on a
 * shared broker), answers (`session.state`, corr = the request) on `…/res`. Each
 * request waits up to a timeout; later notices (no corr, or nobody waiting) are passed to a
 * listener. The same interface can be served in-process by the session manager.
 */
import type { Logger } from '../../core/log.ts';
import { decodeMessage } from '../../core/protocol/envelope.ts';
import type { SessionAddBody, SessionDeleteBody, SessionStateBody } from '../../core/protocol/messages/cc.ts';
import { TOPIC_ROOT, ccTopic } from '../../core/protocol/topics.ts';
import type { Result } from '../../core/result.ts';
import { PendingAnswers } from '../server/pending-answers.ts';
import type { Bus } from '../server/server.ts';
import { Outbox, newSenderSession } from '../server/outbox.ts';

export interface SessionClient {
  add(body: SessionAddBody): Promise<Result<SessionStateBody>>;
  remove(body: SessionDeleteBody): Promise<Result<SessionStateBody>>;
}

export class MqttSessionClient implements SessionClient {
  private readonly outbox: Outbox;
  private readonly pending = new PendingAnswers();

  private constructor(
    bus: Bus,
    private readonly clientId: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    root: string,
  ) {
    this.outbox = new Outbox(bus, log, clientId, newSenderSession(), Date.now, root);
  }

  static async connect(bus: Bus, clientId: string, timeoutMs: number, log: Logger, root = TOPIC_ROOT): Promise<MqttSessionClient> {
    const client = new MqttSessionClient(bus, clientId, timeoutMs, log, root);
    await bus.subscribe(ccTopic(clientId, 'res', root), (_topic, text) => client.receive(text));
    return client;
  }

  private receive(text: string): void {
    const decoded = decodeMessage(text);
    if (!decoded.ok || decoded.value.type !== 'session.state') {
      this.log.warn('unexpected message on the session answer topic; dropped', { reason: decoded.ok ? decoded.value.type : decoded.error.message.slice(0, 200) });
      return;
    }
    if (!this.pending.deliver(decoded.value)) this.log.debug('session notice', { call: decoded.value.body.callId, state: decoded.value.body.state });
  }

  private ask(type: 'session.add' | 'session.delete', body: SessionAddBody | SessionDeleteBody, timeoutMs: number): Promise<Result<SessionStateBody>> {
    const sent = this.outbox.toSessionApi(this.clientId, type, body as never);
    if (!sent.ok) return Promise.resolve(sent);
    return this.pending.wait<SessionStateBody>(sent.value.id, 'session.state', timeoutMs, `no answer to ${type}`);
  }

  /** With `wait`, the server answers when the session is QoS-active or failed: allow for its deadline. */
  add(body: SessionAddBody): Promise<Result<SessionStateBody>> {
    return this.ask('session.add', body, this.timeoutMs);
  }

  remove(body: SessionDeleteBody): Promise<Result<SessionStateBody>> {
    return this.ask('session.delete', body, this.timeoutMs);
  }
}
