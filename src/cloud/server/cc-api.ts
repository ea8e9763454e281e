/**
 * The session API over MQTT: call control publishes `session.add` / `session.modify` /
 * `session.delete` on `callqos/v1/cc/<client>/req` and gets `session.state` (corr = its request)
 * on `callqos/v1/cc/<client>/res`, plus later notices when the session becomes active or fails.
 * The same semantics as the HTTP front (http-api.ts); a repeated request id gets the same answer.
 */
import type { Logger } from '../../core/log.ts';
import type { Message } from '../../core/protocol/envelope.ts';
import type { SessionStateBody } from '../../core/protocol/messages/cc.ts';
import type { Result } from '../../core/result.ts';
import type { SessionApi } from './http-api.ts';
import type { Outbox } from './outbox.ts';

export class CcApi {
  /** Answers to recent request ids, per client, for repeats. */
  private readonly answered = new Map<string, Map<string, SessionStateBody>>();

  constructor(
    private readonly api: SessionApi,
    private readonly outbox: Outbox,
    private readonly log: Logger,
  ) {}

  async handle(client: string, message: Message): Promise<void> {
    // This server's own requests to a peer domain's server pass through the same broker: not ours to take.
    if (client === this.outbox.serverId) return;
    if (message.device !== client) {
      this.log.warn('session request names another sender than its topic; dropped', { client, sender: message.device });
      return;
    }
    const earlier = this.answered.get(client)?.get(message.id);
    if (earlier) {
      this.outbox.toClient(client, earlier, message.id);
      return;
    }
    let result: Result<SessionStateBody>;
    switch (message.type) {
      case 'session.add':
        result = await this.api.add(client, message.body);
        break;
      case 'session.modify':
        result = await this.api.modify(client, message.body);
        break;
      case 'session.delete':
        result = await this.api.remove(client, message.body);
        break;
      default:
        this.log.warn('message type not expected from call control; dropped', { client, type: message.type });
        return;
    }
    if (!result.ok) {
      // The envelope has no error reply of its own: the state says it, with the reason.
      const callId = 'callId' in message.body ? message.body.callId : '';
      const state: SessionStateBody = { callId, state: 'rejected', reason: `${result.error.code}: ${result.error.message}`.slice(0, 256), lines: [] };
      this.remember(client, message.id, state);
      this.outbox.toClient(client, state, message.id);
      return;
    }
    this.remember(client, message.id, result.value);
    this.outbox.toClient(client, result.value, message.id);
  }

  private remember(client: string, id: string, state: SessionStateBody): void {
    let ids = this.answered.get(client);
    if (!ids) this.answered.set(client, (ids = new Map()));
    ids.set(id, state);
    if (ids.size > 256) ids.delete(ids.keys().next().value as string);
  }
}
