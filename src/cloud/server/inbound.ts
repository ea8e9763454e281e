/**
 * Every message the server receives comes in here: the topic says who sent it and on which
 * channel, the text is decoded and validated, and the message goes to the device link or the
 * session API, one at a time per sender. Anything malformed is counted and logged with its reason
 * (at most once a second per reason, so a flood cannot fill the log) and dropped; nothing a client
 * sends can stop the server.
 */
import { Rejections } from '../../core/rejections.ts';
import type { Logger } from '../../core/log.ts';
import { MAX_MESSAGE_BYTES, decodeMessage } from '../../core/protocol/envelope.ts';
import type { Message } from '../../core/protocol/envelope.ts';
import { TOPIC_ROOT, parseTopic, type ParsedTopic } from '../../core/protocol/topics.ts';
import type { CoreError } from '../../core/result.ts';
import { KeyedQueue } from './keyed-queue.ts';

export interface InboundHandlers {
  device(device: string, message: Message): Promise<void>;
  callControl(client: string, message: Message): Promise<void>;
  /**
   * A call-control request that did not validate: answered with the error when it can be (see
   * CcApi.refuseInvalid); true when it was. It is counted and logged as rejected either way.
   */
  invalidRequest?(client: string, text: string, error: CoreError): boolean;
  /** A router's enrolment request, by the hardware id its topic names; absent: enrolment is off here. */
  enrol?(hardwareId: string, message: Message): Promise<void>;
  /** An enrolment request that did not validate: answered with the error when it names itself well enough. */
  invalidEnrol?(hardwareId: string, text: string, error: CoreError): void;
}

export interface InboundStats {
  received: number;
  handled: number;
  rejected: number;
  failed: number;
  readonly rejectedBy: Record<string, number>;
}

/** The topics the server takes messages on: devices' uplinks and status, call control's and enrolling routers' requests. */
function takenFrom(where: ParsedTopic | undefined, enrols: boolean): { kind: 'dev' | 'cc' | 'enrol'; id: string } | undefined {
  if (where === undefined) return undefined;
  if (where.kind === 'dev') return where.channel === 'up' || where.channel === 'status' ? { kind: 'dev', id: where.id } : undefined;
  if (where.kind === 'enrol') return enrols && where.channel === 'req' ? { kind: 'enrol', id: where.id } : undefined;
  return where.kind === 'cc' && where.channel === 'req' ? { kind: 'cc', id: where.id } : undefined;
}

export class Inbound {
  private readonly queue = new KeyedQueue();
  private readonly rejections: Rejections;
  readonly stats: InboundStats = { received: 0, handled: 0, rejected: 0, failed: 0, rejectedBy: {} };

  constructor(
    private readonly handlers: InboundHandlers,
    private readonly log: Logger,
    now: () => number = Date.now,
    /** The tree of this server's domain (topics elsewhere are not its to take). */
    private readonly root: string = TOPIC_ROOT,
  ) {
    this.rejections = new Rejections(log, 'message rejected', now);
  }

  /** Takes one received message; resolves once it has been handled or dropped. */
  receive(topic: string, text: string): Promise<void> {
    this.stats.received += 1;
    const where = takenFrom(parseTopic(topic, this.root), this.handlers.enrol !== undefined);
    if (where === undefined) {
      this.reject('E_TOPIC', 'not a topic the server takes messages on', { topic: topic.slice(0, 128) });
      return Promise.resolve();
    }
    const decoded = decodeMessage(text);
    if (!decoded.ok) {
      this.reject(decoded.error.code, decoded.error.message, { from: where.id, field: decoded.error.path ?? '' });
      // A text far beyond any message is not parsed again only to find whom to answer.
      if (where.kind !== 'dev' && text.length <= 4 * MAX_MESSAGE_BYTES) this.answerInvalid(where.kind, where.id, text, decoded.error);
      return Promise.resolve();
    }
    const message = decoded.value;
    const key = `${where.kind}:${where.id}`;
    return this.queue.run(key, async () => {
      try {
        if (where.kind === 'dev') await this.handlers.device(where.id, message);
        else if (where.kind === 'enrol') await this.handlers.enrol!(where.id, message);
        else await this.handlers.callControl(where.id, message);
        this.stats.handled += 1;
      } catch (err) {
        this.stats.failed += 1;
        this.log.error('handling a message failed', { from: where.id, type: message.type, id: message.id, error: String(err) });
      }
    });
  }

  private answerInvalid(kind: 'cc' | 'enrol', client: string, text: string, error: CoreError): void {
    try {
      if (kind === 'enrol') this.handlers.invalidEnrol?.(client, text, error);
      else this.handlers.invalidRequest?.(client, text, error);
    } catch (err) {
      this.log.error('answering an invalid request failed', { from: client, error: String(err) });
    }
  }

  private reject(code: string, reason: string, fields: Record<string, string>): void {
    this.stats.rejected += 1;
    this.stats.rejectedBy[code] = (this.stats.rejectedBy[code] ?? 0) + 1;
    this.rejections.note(code, { reason, ...fields });
  }
}
