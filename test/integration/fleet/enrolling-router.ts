/**
 * A router without a login of its own, played over MQTT.js for the enrolment tests: the shared
 * enrolment login, its own answer topic, one enrol.request at a time (sent as it is when it does
 * not validate, since the server must answer that too).
 */
import { expect } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { ENROL_PASSWORD, ENROL_USERNAME } from '../../../src/core/protocol/acl.ts';
import { decodeMessage, encodeMessage, makeMessage } from '../../../src/core/protocol/envelope.ts';
import type { EnrolAnswerBody, EnrolRequestBody } from '../../../src/core/protocol/messages/enrol.ts';
import { enrolTopic } from '../../../src/core/protocol/topics.ts';
import { EXPECTED_WITHIN_MS } from '../../support/wait.ts';

/** A router without a login of its own: the shared enrolment login, its own answer topic. */
export class EnrollingRouter {
  private client!: MqttClient;
  private seq = 0;
  private readonly answers = new Map<string, (body: EnrolAnswerBody) => void>();

  constructor(readonly hardwareId: string) {}

  async connect(url: string, protocolVersion: 4 | 5 = 4): Promise<void> {
    this.client = await mqtt.connectAsync(url, { clientId: `enrol-${this.hardwareId}`, username: ENROL_USERNAME, password: ENROL_PASSWORD, protocolVersion, reconnectPeriod: 0 });
    this.client.on('message', (_topic, payload) => {
      const m = decodeMessage(payload.toString());
      if (!m.ok || m.value.type !== 'enrol.answer' || m.value.corr === undefined) return;
      this.answers.get(m.value.corr)?.(m.value.body);
    });
    const granted = await this.client.subscribeAsync(enrolTopic(this.hardwareId, 'res'), { qos: 1 });
    expect(granted[0]?.qos, 'the answer topic granted at QoS 1').toBe(1);
  }

  /** Sends one enrol.request and waits for its answer. */
  async enrol(key: string, password: string, over: Partial<EnrolRequestBody> = {}): Promise<EnrolAnswerBody> {
    this.seq += 1;
    const body: EnrolRequestBody = {
      key,
      hardwareId: this.hardwareId,
      password,
      hostname: `gw-${this.hardwareId}`,
      hardware: { model: 'Lab Router', boardName: 'lab,router', release: '23.05.3', target: 'x86/64', kernel: '5.15.150' },
      versions: { agent: '0.1.0', quickjs: '2021-03-27' },
      features: { cake: false, fqCodel: true, ctinfo: false, flowOffload: false, nft: '1.0.8' },
      ...over,
    };
    const id = `${this.hardwareId}:1:${this.seq}`;
    const header = { id, device: this.hardwareId, session: 1, seq: this.seq, ts: Date.now() };
    const built = makeMessage('enrol.request', header, body);
    if (!built.ok) {
      // Sent as it is: the server is to answer a request that does not validate too.
      return this.publish(id, JSON.stringify({ v: 1, type: 'enrol.request', ...header, body }));
    }
    const text = encodeMessage(built.value);
    if (!text.ok) throw new Error(text.error.message);
    return this.publish(id, text.value);
  }

  private async publish(id: string, text: string): Promise<EnrolAnswerBody> {
    const answered = new Promise<EnrolAnswerBody>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.hardwareId}: no enrol.answer within ${EXPECTED_WITHIN_MS} ms`)), EXPECTED_WITHIN_MS);
      this.answers.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
    await this.client.publishAsync(enrolTopic(this.hardwareId, 'req'), text, { qos: 1 });
    return answered;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Connects with a device login; resolves to the client, or to the refusal's message. */
export async function loginAs(url: string, user: string, password: string): Promise<MqttClient | string> {
  try {
    return await mqtt.connectAsync(url, { clientId: `dev-${user}-${Math.random().toString(36).slice(2, 8)}`, username: user, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
  } catch (error) {
    return String(error);
  }
}

/** A broker password as a router makes one (32 characters of the allowed set). */
export function routerPassword(n: string): string {
  return `${n}-${'x'.repeat(30)}`.slice(0, 32);
}
