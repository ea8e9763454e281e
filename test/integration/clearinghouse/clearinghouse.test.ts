/**
 * The clearinghouse on the embedded broker with SQLite, asked over MQTT as policy servers ask it:
 * authorizations carry a token that verifies with the public key set alone and binds the call;
 * the policy refuses unknown clients, domains without a settlement agreement and flows over the
 * limit; usage is recorded once per transaction and only by its own domain; settlement sums the
 * calls between domains; malformed input is dropped without stopping it.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPECTED_WITHIN_MS } from '../../support/wait.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { generateSigningKey, loadPublicKeys } from '../../../src/cloud/clearinghouse/keys.ts';
import { startClearinghouse, type ClearinghouseNode } from '../../../src/cloud/clearinghouse/node.ts';
import { parsePolicy } from '../../../src/cloud/clearinghouse/policy.ts';
import { openClearinghouseStore, type ClearinghouseStore } from '../../../src/cloud/clearinghouse/store/index.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { verifyToken, TokenError } from '../../../src/core/clearinghouse/token.ts';
import { createLogger } from '../../../src/core/log.ts';
import { decodeMessage, encodeMessage, makeMessage, type BodyOf, type Message } from '../../../src/core/protocol/envelope.ts';
import type { AuthRequestBody, AuthResponseBody, UsageConfirmationBody, UsageIndicationBody } from '../../../src/core/protocol/messages/ch.ts';
import { chTopic } from '../../../src/core/protocol/topics.ts';
import { PARTY_MAX, SESSION_REF_MAX, TOKEN_MAX } from '../../../src/core/protocol/limits.ts';
import { makeTempDir } from '../../support/temp.ts';

const quiet = { info: () => {}, warn: () => {} };
const NOW = 1_800_000_000_000;

/** A policy server as the clearinghouse sees it: a client on its own ch topics. */
class PolicyClient {
  private client!: mqtt.MqttClient;
  private seq = 0;
  private readonly waiting = new Map<string, (m: Message) => void>();
  constructor(readonly id: string) {}

  async connect(url: string): Promise<void> {
    this.client = await mqtt.connectAsync(url, { clientId: `${this.id}-test`, protocolVersion: 4 });
    this.client.on('message', (_topic, payload) => {
      const m = decodeMessage(payload.toString());
      if (m.ok && m.value.corr !== undefined) this.waiting.get(m.value.corr)?.(m.value);
    });
    await this.client.subscribeAsync(chTopic(this.id, 'res'), { qos: 1 });
  }

  async ask<T extends 'auth.request' | 'usage.indication'>(type: T, body: BodyOf<T>, id = `${this.id}:1:${++this.seq}`): Promise<Message> {
    const m = makeMessage(type, { id, device: this.id, session: 1, seq: ++this.seq, ts: NOW }, body);
    if (!m.ok) throw new Error(m.error.message);
    // Waiting before publishing: the answer may come in before the publish's acknowledgement.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<Message>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${type} ${id}`)), EXPECTED_WITHIN_MS);
      this.waiting.set(id, (reply) => (clearTimeout(timer), resolve(reply)));
    });
    try {
      await this.client.publishAsync(chTopic(this.id, 'req'), (encodeMessage(m.value) as { value: string }).value, { qos: 1 });
    } catch (error) {
      // No answer is coming: the wait must not fail a later test with its timeout.
      clearTimeout(timer);
      this.waiting.delete(id);
      throw error;
    }
    return answer;
  }

  async authorize(body: AuthRequestBody, id?: string): Promise<AuthResponseBody> {
    return (await this.ask('auth.request', body, id)).body as AuthResponseBody;
  }

  async usage(body: UsageIndicationBody): Promise<UsageConfirmationBody> {
    return (await this.ask('usage.indication', body)).body as UsageConfirmationBody;
  }

  publishRaw(text: string): Promise<unknown> {
    return this.client.publishAsync(chTopic(this.id, 'req'), text, { qos: 1 });
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

function request(callId: string, destinationDomain: string | null = 'domain-b', kbps = 80): AuthRequestBody {
  return {
    callId, caller: 'sip:alice@a.example', callee: 'sip:bob@b.example', sourceDevice: 'rt-a', destinationDevice: null, destinationDomain,
    flows: [{ line: 0, offer: { address: '192.168.1.20', port: 49170 }, answer: { address: '198.51.100.9', port: 3456 }, dscp: 46, kbps }],
  };
}

function usage(transactionId: string, callId: string, connectMs: number, endMs: number): UsageIndicationBody {
  return {
    transactionId, callId, startMs: connectMs - 3000, connectMs, endMs, termination: { sipStatus: 200, releasedBy: 'caller', reason: 'BYE' }, codec: 'PCMU',
    flows: [{ line: 0, direction: 'forward', packets: 3000, bytes: 516_000, lost: 1 }, { line: 0, direction: 'reverse', packets: 2999, bytes: 515_828, lost: 0 }],
  };
}

describe('clearinghouse (embedded broker, SQLite)', () => {
  const temp = makeTempDir('clearinghouse');
  let broker: EmbeddedBroker;
  let store: ClearinghouseStore;
  let node: ClearinghouseNode;
  const logs: string[] = [];
  const a = new PolicyClient('qos-a');
  const b = new PolicyClient('qos-b');
  const c = new PolicyClient('qos-c');
  const stranger = new PolicyClient('qos-x');
  let clock = NOW;

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const key = generateSigningKey('ch-1', join(temp.path, 'ch.pem'), join(temp.path, 'ch-keys.json'));
    store = openClearinghouseStore(`sqlite:${join(temp.path, 'ch.db')}`);
    await store.migrate();
    const policy = parsePolicy({
      tokenTtlS: 120,
      tariff: { currency: 'EUR', perMinute: { voice: 2, video: 8 }, firstIncrementS: 30, nextIncrementS: 6 },
      domains: [
        { id: 'domain-a', clients: ['qos-a'], peers: ['domain-b'], maxKbpsPerFlow: 2000 },
        { id: 'domain-b', clients: ['qos-b'], peers: ['domain-a'] },
        { id: 'domain-c', clients: ['qos-c'] },
      ],
    });
    const bus = await connectServerMqtt({ url, clientId: 'ch-1', log: quiet });
    node = await startClearinghouse({ id: 'ch-1', bus, store, key, policy, log: createLogger((l) => logs.push(l), 'debug'), now: () => clock });
    for (const p of [a, b, c, stranger]) await p.connect(url);
  });

  afterAll(async () => {
    for (const p of [a, b, c, stranger]) await p.close();
    await node.stop();
    await store.close();
    await broker.close();
  });

  it('authorizes with a token that verifies with the public key set alone and binds the call and its flows', async () => {
    const answer = await a.authorize(request('call-1'));
    expect(answer).toMatchObject({ callId: 'call-1', allowed: true, reason: null, validUntilMs: NOW + 120_000, maxDurationS: 14_400 });
    const keys = loadPublicKeys(join(temp.path, 'ch-keys.json'));
    const flow = request('call-1').flows[0]!;
    const verified = verifyToken(answer.token!, { audience: 'domain-a', callId: 'call-1', from: 'sip:alice@a.example', flows: [{ ...flow, kbps: 80 }] }, { nowMs: NOW + 1000, verifierFor: keys });
    expect(verified.ok && verified.value).toMatchObject({ iss: 'ch-1', aud: 'domain-a', jti: answer.transactionId, call: 'call-1', maxs: 14_400 });
    // Bound: another call, another domain, or a later time do not verify.
    expect(verifyToken(answer.token!, { audience: 'domain-a', callId: 'call-2', flows: [] }, { nowMs: NOW, verifierFor: keys }).ok).toBe(false);
    const late = verifyToken(answer.token!, { audience: 'domain-a', callId: 'call-1', flows: [] }, { nowMs: NOW + 200_000, verifierFor: keys });
    expect(!late.ok && late.error.code).toBe(TokenError.EXPIRED);
    expect(await store.getTransaction(answer.transactionId!)).toMatchObject({ domain: 'domain-a', client: 'qos-a', callId: 'call-1', destinationDomain: 'domain-b' });
  });

  it('answers a repeated request id with the same answer, and a new request with a new transaction', async () => {
    const first = await a.authorize(request('call-r'), 'qos-a:1:repeat');
    const again = await a.authorize(request('call-r'), 'qos-a:1:repeat');
    expect(again).toEqual(first);
    const fresh = await a.authorize(request('call-r'));
    expect(fresh.transactionId).not.toBe(first.transactionId);
  });

  it('refuses an unknown client, a domain without a settlement agreement, and a flow over the limit, saying why', async () => {
    expect(await stranger.authorize(request('call-x'))).toMatchObject({ allowed: false, token: null, reason: 'client qos-x belongs to no domain this clearinghouse serves' });
    expect(await c.authorize(request('call-c', 'domain-a'))).toMatchObject({ allowed: false, reason: 'no settlement agreement between domain-c and domain-a' });
    expect(await c.authorize(request('call-c2', 'domain-z'))).toMatchObject({ allowed: false, reason: 'destination domain domain-z is not served by this clearinghouse' });
    expect(await a.authorize(request('call-big', 'domain-b', 2001))).toMatchObject({ allowed: false, reason: 'media line 0 asks for 2001 kbit/s, more than 2000 allowed per flow' });
    // Within one domain no agreement is needed.
    expect(await c.authorize(request('call-local', null))).toMatchObject({ allowed: true });
    expect(logs.some((l) => l.includes('authorization refused') && l.includes('qos-x'))).toBe(true);
  });

  it('answers a request with every field at its maximum: a token longer than a message may carry is refused, never left unanswered', async () => {
    const flows = Array.from({ length: 16 }, (_, line) => ({
      line, offer: { address: `2001:db8:aaaa:bbbb:cccc:dddd:eeee:${(0x1000 + line).toString(16)}`, port: 65535 },
      answer: { address: `2001:db8:ffff:eeee:dddd:cccc:bbbb:${(0x1000 + line).toString(16)}`, port: 65535 }, dscp: 46 as const, kbps: 2000,
    }));
    const widest: AuthRequestBody = {
      callId: 'c'.repeat(SESSION_REF_MAX), caller: `sip:${'a'.repeat(PARTY_MAX - 4)}`, callee: `sip:${'b'.repeat(PARTY_MAX - 4)}`,
      sourceDevice: 'r'.repeat(64), destinationDevice: 's'.repeat(64), destinationDomain: 'domain-b', flows,
    };
    const answer = await a.authorize(widest);
    expect(answer).toMatchObject({ callId: widest.callId, allowed: false, token: null, transactionId: null });
    expect(answer.reason).toMatch(new RegExp(`^E_TOKEN_TOO_LONG: the token for this call would be \\d+ characters, more than ${TOKEN_MAX}$`));
    // Nothing was recorded for a token never issued; a smaller call still gets one within the bound.
    const smaller = await a.authorize({ ...widest, callId: 'call-wide', flows: flows.slice(0, 4) });
    expect(smaller.allowed).toBe(true);
    expect(smaller.token!.length).toBeLessThanOrEqual(TOKEN_MAX);
  });

  it('records usage once per transaction, only from its own domain, and rates it', async () => {
    const auth = await a.authorize(request('call-u'));
    const id = auth.transactionId!;
    clock = NOW + 200_000;
    // 121 s answered: 126 billed seconds at 2 per minute.
    expect(await a.usage(usage(id, 'call-u', NOW + 10_000, NOW + 131_000))).toEqual({ transactionId: id, recorded: true, error: null });
    expect(await a.usage(usage(id, 'call-u', NOW + 10_000, NOW + 131_000))).toEqual({ transactionId: id, recorded: false, error: null });
    expect(await c.usage(usage(id, 'call-u', NOW + 10_000, NOW + 999_000))).toMatchObject({ recorded: false, error: `transaction ${id} belongs to other domains` });
    // The far end's domain reports its own side of the same call, once.
    expect(await b.usage(usage(id, 'call-u', NOW + 10_100, NOW + 131_200))).toEqual({ transactionId: id, recorded: true, error: null });
    expect(await b.usage(usage(id, 'call-u', NOW + 10_100, NOW + 131_200))).toEqual({ transactionId: id, recorded: false, error: null });
    expect(await store.getCdr(id, 'destination')).toMatchObject({ domain: 'domain-a', side: 'destination', durationS: 122 });
    expect(await a.usage(usage(id, 'call-other', NOW + 10_000, NOW + 131_000))).toMatchObject({ recorded: false, error: `transaction ${id} is for another call` });
    expect(await a.usage(usage('t-unknown', 'call-u', NOW, NOW + 1000))).toMatchObject({ recorded: false, error: 'no transaction t-unknown' });
    expect(await store.getCdr(id)).toMatchObject({
      side: 'source', callId: 'call-u', domain: 'domain-a', destinationDomain: 'domain-b', durationS: 121, billableS: 126, amount: 4, currency: 'EUR', serviceClass: 'voice',
      releasedBy: 'caller', sipStatus: 200, flows: usage(id, 'call-u', 0, 1).flows,
    });
  });

  it('settles a period: the calling domain pays the called one for calls that ended in it', async () => {
    const second = await a.authorize(request('call-s'));
    await a.usage(usage(second.transactionId!, 'call-s', NOW + 20_000, NOW + 50_000)); // 30 s: 30 billed, 1 cent
    const local = await c.authorize(request('call-l', null));
    await c.usage(usage(local.transactionId!, 'call-l', NOW, NOW + 600_000)); // within domain-c: owes nobody
    // Only the far end reported this one: its record counts.
    const third = await a.authorize(request('call-t'));
    await b.usage(usage(third.transactionId!, 'call-t', NOW + 20_000, NOW + 80_000)); // 60 s: 60 billed, 2 cents
    expect(await node.service.settlement(NOW, NOW + 3_600_000)).toEqual([{ payer: 'domain-a', payee: 'domain-b', currency: 'EUR', calls: 3, billableS: 216, amount: 7 }]);
    expect(await node.service.settlement(NOW + 3_600_000, NOW + 7_200_000)).toEqual([]);
  });

  it('drops malformed and oversized requests without stopping, and still answers the next one', async () => {
    for (const junk of ['', '{', 'null', '{"v":1}', JSON.stringify({ v: 1, type: 'auth.request', id: 'x', device: 'qos-a', session: 1, seq: 1, ts: 1, body: {} }), 'x'.repeat(300_000)]) {
      await a.publishRaw(junk);
    }
    // A request that names another sender than its topic is dropped too.
    const forged = makeMessage('auth.request', { id: 'forged-1', device: 'qos-b', session: 1, seq: 1, ts: NOW }, request('call-f'));
    await a.publishRaw((encodeMessage((forged as { value: Message }).value) as { value: string }).value);
    expect(await a.authorize(request('call-after'))).toMatchObject({ allowed: true });
    await node.idle();
    // Nothing was authorized for the forged request's call.
    expect(logs.filter((l) => l.includes('authorized') && l.includes('call-f'))).toEqual([]);
    expect(logs.some((l) => l.includes('authorized') && l.includes('call-after'))).toBe(true);
    expect(logs.some((l) => l.includes('clearinghouse message rejected'))).toBe(true);
    expect(logs.some((l) => l.includes('names another sender'))).toBe(true);
  });
});
