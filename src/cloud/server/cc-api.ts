/**
 * The session API over MQTT: call control publishes `session.add` / `session.modify` /
 * `session.delete` on `callqos/v1/cc/<client>/req` and gets `session.state` (corr = its request)
 * on `callqos/v1/cc/<client>/res`, plus later notices when the session becomes active or fails.
 * The same semantics as the HTTP front (http-api.ts); a repeated request id gets the same answer.
 *
 * Every request that names itself gets an answer: a refusal, an error of the session API, a
 * request that does not validate, a failure inside the server and an answer that cannot be built
 * are all `rejected` with a reason that says which (session-answer.ts). The envelope has no error
 * reply of its own, and a client waiting for its `corr` must not wait out its timeout.
 */
import type { Logger } from '../../core/log.ts';
import { MESSAGE_ID } from '../../core/protocol/fields.ts';
import type { Message } from '../../core/protocol/envelope.ts';
import type { SessionStateBody } from '../../core/protocol/messages/cc.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import type { CoreError, Result } from '../../core/result.ts';
import type { SessionApi } from './http-api.ts';
import type { Outbox } from './outbox.ts';
import { REASON_CODES, errorReason, reasonText, refusal } from './reasons.ts';
import { checkedState, internalRejection, rejectedState } from './session-answer.ts';

const SESSION_REQUESTS: readonly string[] = ['session.add', 'session.modify', 'session.delete'];

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
    const callId = 'callId' in message.body ? message.body.callId : undefined;
    if (message.device !== client) {
      this.log.warn('session request names another sender than its topic; refused', { client, sender: message.device });
      this.answer(client, message.id, rejectedState(callId, errorReason({ code: 'E_SENDER', message: `the request names ${message.device} as its sender, on the topic of ${client}` })));
      return;
    }
    const earlier = this.answered.get(client)?.get(message.id);
    if (earlier) {
      this.answer(client, message.id, earlier);
      return;
    }
    let result: Result<SessionStateBody>;
    try {
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
          this.log.warn('message type not expected from call control; refused', { client, type: message.type });
          this.answer(client, message.id, rejectedState(callId, errorReason({ code: 'E_UNEXPECTED_TYPE', message: `${message.type} is not a session request` })));
          return;
      }
    } catch (err) {
      // Not remembered: a repeat may well succeed.
      this.log.error('session request failed', { client, type: message.type, id: message.id, error: String(err) });
      this.answer(client, message.id, rejectedState(callId, reasonText(refusal(REASON_CODES.internal, `the request failed: ${String(err)}`))));
      return;
    }
    const state = result.ok ? checkedState(result.value, this.log) : rejectedState(callId, errorReason(result.error));
    this.remember(client, message.id, state);
    this.answer(client, message.id, state);
  }

  /**
   * A request on `client`'s topic that did not validate: answered `rejected` with the error and its
   * path, when its envelope names it well enough to be answered (a session request type, an id to
   * put in `corr`, this client as its sender); anything less is only counted and logged by Inbound.
   */
  refuseInvalid(client: string, text: string, error: CoreError): boolean {
    if (client === this.outbox.serverId) return false;
    const parsed = parseStrictJson(text);
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return false;
    const envelope = parsed.value as Record<string, unknown>;
    const { id, type, device, body } = envelope;
    if (typeof id !== 'string' || !MESSAGE_ID.test(id) || device !== client || typeof type !== 'string' || !SESSION_REQUESTS.includes(type)) return false;
    const callId = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).callId : undefined;
    const where = error.path ? `${error.path}: ` : '';
    this.answer(client, id, rejectedState(callId, errorReason({ code: error.code, message: `${where}${error.message}` })));
    return true;
  }

  /** Sends the answer; one that cannot be built (Outbox logged it with the path) is replaced by a rejection naming why. */
  private answer(client: string, corr: string, state: SessionStateBody): void {
    const sent = this.outbox.toClient(client, state, corr);
    if (sent.ok) return;
    const fallback = this.outbox.toClient(client, internalRejection(state.callId, 'session.state', sent.error), corr);
    if (!fallback.ok) this.log.error('no answer could be sent to call control', { client, corr, code: fallback.error.code, path: fallback.error.path ?? '' });
  }

  private remember(client: string, id: string, state: SessionStateBody): void {
    let ids = this.answered.get(client);
    if (!ids) this.answered.set(client, (ids = new Map()));
    ids.set(id, state);
    if (ids.size > 256) ids.delete(ids.keys().next().value as string);
  }
}
