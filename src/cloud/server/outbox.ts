/**
 * Everything the server sends goes through here: it fills in the envelope (a unique id, this
 * instance as sender, its boot counter, and a sequence number per recipient, so that a device can
 * tell a lost message from a reordering: a gap makes it resynchronise), validates and encodes the
 * message, and publishes it on the right topic. A message that fails to build (a field outside its
 * schema) is logged here at error with the field's path, so that no caller can lose one silently;
 * the caller gets the failure too, to send the error reply its protocol has.
 */
import { randomInt } from 'node:crypto';
import { encodeValidated, makeMessage } from '../../core/protocol/envelope.ts';
import type { BodyOf, Message, MessageType } from '../../core/protocol/envelope.ts';
import { TOPIC_ROOT, ccTopic, chTopic, deviceTopic, enrolTopic } from '../../core/protocol/topics.ts';
import type { Logger } from '../../core/log.ts';
import type { Result } from '../../core/result.ts';

/** The broker as the server sees it: publish text, QoS 1, optionally retained. */
export interface Publisher {
  publish(topic: string, text: string, options?: { retain?: boolean }): void;
}

/**
 * A sender's `session` for this start: random rather than the clock, which two starts within one
 * second would share, reusing message ids a receiver has already seen and hiding the restart.
 */
export function newSenderSession(): number {
  return randomInt(1, 2147483647);
}

export class Outbox {
  /** Next sequence number per recipient (device or call-control client). */
  private readonly seqs = new Map<string, number>();
  private counter = 0;

  constructor(
    private readonly publisher: Publisher,
    /** Where a message that cannot be built is reported. */
    private readonly log: Logger,
    /** This server instance: the envelope's `device`. */
    readonly serverId: string,
    /** New on every start, so receivers see a restart (`newSenderSession`). */
    readonly bootSession: number,
    private readonly now: () => number = Date.now,
    /** The tree of this sender's domain: devices and call control (the clearinghouse is always on the plain root). */
    private readonly root: string = TOPIC_ROOT,
  ) {}

  private nextId(): string {
    this.counter += 1;
    return `${this.serverId}:${this.bootSession}:${this.counter}`;
  }

  private nextSeq(recipient: string): number {
    const seq = (this.seqs.get(recipient) ?? 0) + 1;
    this.seqs.set(recipient, seq);
    return seq;
  }

  /** Builds the message for `recipient` without sending it (for tests and for replies kept for replay). */
  build<T extends MessageType>(recipient: string, type: T, body: BodyOf<T>, corr?: string): Result<Message> {
    const header = { id: this.nextId(), device: this.serverId, session: this.bootSession, seq: this.nextSeq(recipient), ts: Math.round(this.now()) };
    return makeMessage(type, corr === undefined ? header : { ...header, corr }, body);
  }

  /** Sends to a device's downlink; returns the message (its id is what the device's reports will name). */
  toDevice<T extends MessageType>(device: string, type: T, body: BodyOf<T>, corr?: string): Result<Message> {
    return this.send(deviceTopic(device, 'down', this.root), device, type, body, corr);
  }

  /**
   * The device's retained desired-state summary. It has a sequence of its own: the broker hands a
   * retained message over again at every subscribe, out of step with the downlink.
   */
  desired(device: string, body: BodyOf<'desired'>): Result<Message> {
    return this.send(deviceTopic(device, 'desired', this.root), `desired:${device}`, 'desired', body, undefined, true);
  }

  /** An answer or notice to a call-control client. */
  toClient(client: string, body: BodyOf<'session.state'>, corr?: string): Result<Message> {
    return this.send(ccTopic(client, 'res', this.root), `cc:${client}`, 'session.state', body, corr);
  }

  /**
   * A clearinghouse exchange on `client`'s channel: a policy server's request (`req`, the client
   * being the server itself) or the clearinghouse's answer to that client (`res`).
   */
  toClearinghouse<T extends 'auth.request' | 'usage.indication'>(client: string, type: T, body: BodyOf<T>): Result<Message> {
    return this.send(chTopic(client, 'req'), `ch-req:${client}`, type, body, undefined);
  }

  fromClearinghouse<T extends 'auth.response' | 'usage.confirmation'>(client: string, type: T, body: BodyOf<T>, corr: string): Result<Message> {
    return this.send(chTopic(client, 'res'), `ch-res:${client}`, type, body, corr);
  }

  /**
   * The answer to a router's enrolment request, on its hardware id's `enrol/<hwid>/res` topic. One
   * sequence for all of them: an answer is matched by its corr, and a sequence per hardware id
   * would keep a counter for every made-up id a flood of bogus requests brought.
   */
  toEnrolling(hardwareId: string, body: BodyOf<'enrol.answer'>, corr: string): Result<Message> {
    return this.send(enrolTopic(hardwareId, 'res', this.root), 'enrol', 'enrol.answer', body, corr);
  }

  /** A call-control client's request to the session API, on its own `cc/<client>/req` topic. */
  toSessionApi<T extends 'session.add' | 'session.modify' | 'session.delete'>(client: string, type: T, body: BodyOf<T>): Result<Message> {
    return this.send(ccTopic(client, 'req', this.root), `cc-req:${client}`, type, body, undefined);
  }

  private send<T extends MessageType>(topic: string, recipient: string, type: T, body: BodyOf<T>, corr: string | undefined, retain = false): Result<Message> {
    const message = this.build(recipient, type, body, corr);
    if (!message.ok) {
      this.log.error('cannot build a message; not sent', { type, to: recipient, code: message.error.code, path: message.error.path ?? '', reason: message.error.message });
      return message;
    }
    // build() has just validated it.
    const text = encodeValidated(message.value);
    if (!text.ok) {
      this.log.error('cannot encode a message; not sent', { type, to: recipient, code: text.error.code, reason: text.error.message });
      return text;
    }
    this.publisher.publish(topic, text.value, retain ? { retain: true } : undefined);
    return message;
  }
}
