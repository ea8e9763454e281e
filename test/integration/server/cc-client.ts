/**
 * A call-control client of the session API over MQTT, played by the test: it publishes requests
 * as raw text on `cc/<id>/req` (valid ones, and ones that are not) and waits for the
 * `session.state` whose `corr` names each one on `cc/<id>/res`, so that a test can tell an
 * answer from a silence and how long the answer took.
 */
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import type { ServerMqttClient } from '../../../src/cloud/mqtt/client.ts';
import { decodeMessage } from '../../../src/core/protocol/envelope.ts';
import type { SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { ccTopic } from '../../../src/core/protocol/topics.ts';

export interface Answered {
  readonly state: SessionStateBody;
  /** From the request's publish to its answer. */
  readonly ms: number;
}

export class CcClient {
  private client!: ServerMqttClient;
  private seq = 0;
  private readonly waiting = new Map<string, (state: SessionStateBody) => void>();
  /** Every session.state received, in order (answers and notices). */
  readonly received: { corr: string | undefined; body: SessionStateBody }[] = [];

  constructor(readonly id: string) {}

  async connect(url: string): Promise<void> {
    const quiet = { info: () => {}, warn: () => {} };
    this.client = await connectServerMqtt({ url, clientId: this.id, username: this.id, protocolVersion: 4, log: quiet });
    await this.client.subscribe(ccTopic(this.id, 'res'), (_topic, text) => {
      const decoded = decodeMessage(text);
      if (!decoded.ok || decoded.value.type !== 'session.state') throw new Error(`client ${this.id} got an invalid answer: ${decoded.ok ? decoded.value.type : decoded.error.message}`);
      this.received.push({ corr: decoded.value.corr, body: decoded.value.body });
      if (decoded.value.corr !== undefined) this.waiting.get(decoded.value.corr)?.(decoded.value.body);
    });
  }

  nextId(): string {
    this.seq += 1;
    return `${this.id}:1:${this.seq}`;
  }

  /** A request with the envelope filled in; `envelope` overrides its fields (another sender, say). */
  request(type: string, body: unknown, timeoutMs: number, envelope: Record<string, unknown> = {}): Promise<Answered> {
    const id = (envelope.id as string | undefined) ?? this.nextId();
    const text = JSON.stringify({ v: 1, type, id, device: this.id, session: 1, seq: this.seq, ts: Date.now(), body, ...envelope });
    return this.raw(id, text, timeoutMs);
  }

  /** Publishes `text` as it is and waits for the answer naming `id`; rejects when none comes in time. */
  async raw(id: string, text: string, timeoutMs: number): Promise<Answered> {
    const started = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<SessionStateBody>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${id} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, resolve);
    });
    try {
      await this.client.publishAsync(ccTopic(this.id, 'req'), text);
      const state = await answer;
      return { state, ms: Date.now() - started };
    } finally {
      // Whether answered, timed out or never published: nothing of this request outlives it.
      clearTimeout(timer);
      this.waiting.delete(id);
      answer.catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
