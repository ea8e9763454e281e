/**
 * Every session request is answered, over MQTT (`cc/<client>/req`) and over HTTP alike: each
 * refusal (no router, no stream, no rate, too fast for a gate, EF budget, an offline router, not
 * authorized), each failure (a router refuses, a router is silent), each error of the session API
 * (an unknown call, a body that does not validate) and each failure inside the server, for add,
 * modify and delete, within the decision deadline and with the same state and reason on both
 * fronts. The first case is a call whose two ends are private: its reason was longer than
 * `session.state` allows, and over MQTT the request went unanswered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import type { EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import type { ServerMqttClient } from '../../../src/cloud/mqtt/client.ts';
import { CcApi } from '../../../src/cloud/server/cc-api.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import type { ServerConfig } from '../../../src/cloud/server/config.ts';
import { HttpApi } from '../../../src/cloud/server/http-api.ts';
import type { SessionApi } from '../../../src/cloud/server/http-api.ts';
import { Inbound } from '../../../src/cloud/server/inbound.ts';
import { Outbox } from '../../../src/cloud/server/outbox.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import type { Planner } from '../../../src/cloud/server/sessions.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { detach } from '../../../src/core/detach.ts';
import { createLogger } from '../../../src/core/log.ts';
import { GATE_RATE_MAX_KBPS, PARTY_MAX, REASON_MAX, RELEASE_REASON_MAX, SESSION_REF_MAX, TOKEN_MAX } from '../../../src/core/protocol/limits.ts';
import { MAX_MEDIA_LINES, type MediaLine, type SessionAddBody, type SessionDeleteBody, type SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { CODEC_NAME_MAX } from '../../../src/core/protocol/limits.ts';
import { allCcFilter } from '../../../src/core/protocol/topics.ts';
import { fail, ok } from '../../../src/core/result.ts';
import { makeTempDir } from '../../support/temp.ts';
import { CcClient } from './cc-client.ts';
import { lanInterfaces, ScriptedRouter } from './scripted-router.ts';

const quiet = { info: () => {}, warn: () => {} };
const DEADLINE_MS = 800;
/** What an answer may take beyond the decision deadline on a loaded machine. */
const SLACK_MS = 1500;
const ANSWER_WITHIN_MS = DEADLINE_MS + SLACK_MS;

type Op = 'add' | 'modify' | 'delete';
const TYPE_OF: Record<Op, string> = { add: 'session.add', modify: 'session.modify', delete: 'session.delete' };

const PCMU: MediaLine['codec'] = { name: 'PCMU', clockRate: 8000, ptimeMs: 20 };

/** A call from rtA's LAN (behind NAT, source its WAN) to rtB's public LAN. */
function call(callId: string, port: number, media: Partial<MediaLine> = {}): SessionAddBody {
  return {
    callId,
    caller: { source: '203.0.113.1' },
    callee: { source: '198.51.100.1' },
    media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port }, answer: { address: '198.18.20.20', port: port + 1000 }, direction: 'sendrecv', codec: PCMU, ...media }],
    wait: true,
  };
}

/** Both ends private, and neither signalling source a router of ours: the reason names both ends at length. */
function privateEnds(callId: string): SessionAddBody {
  return {
    callId,
    caller: { source: '198.51.100.200' },
    callee: { source: '203.0.113.250' },
    media: [{ line: 0, type: 'audio', offer: { address: '10.20.30.40', port: 4000 }, answer: { address: '192.168.77.77', port: 5000 }, direction: 'sendrecv', codec: PCMU }],
    wait: true,
  };
}

/**
 * What both fronts must agree on: the call's and each line's state and reason (gate ids, which
 * name the call, left out; so are the gates listed, which a rollback in flight changes).
 */
function essence(state: SessionStateBody): unknown {
  const plain = (reason: string | null) => (reason === null ? null : reason.replace(/[0-9a-f]{16}\.\d+[oa]/g, '<gate>'));
  return { state: state.state, reason: plain(state.reason), lines: state.lines.map((l) => ({ line: l.line, state: l.state, reason: plain(l.reason) })) };
}

interface HttpAnswer {
  readonly status: number;
  readonly body: SessionStateBody | { error: { code: string; message: string; path: string } };
  readonly ms: number;
}

/**
 * The real planner, except that calls whose id starts with `prefix` get gates outside the schema
 * (a lifetime below 10 s): a decision the server cannot build, as a bug would make one.
 */
function unbuildableFor(prefix: string): Planner {
  const real = controlPlanner();
  return {
    plan(locator, callId, body, media, lifetimeS) {
      const plan = real.plan(locator, callId, body, media, lifetimeS);
      if (!callId.startsWith(prefix)) return plan;
      return { ...plan, gates: plan.gates.map(({ device, gate }) => ({ device, gate: { ...gate, lifetimeS: 5 } })) };
    },
  };
}

/** The broker, a server with HTTP, two routers (and an offline third) and a call-control client on MQTT. */
class Rig {
  broker!: EmbeddedBroker;
  store!: Store;
  server!: QosServer;
  base = '';
  readonly logs: string[] = [];
  readonly temp = makeTempDir('every-answer');
  readonly rtA = new ScriptedRouter('rtA');
  readonly rtB = new ScriptedRouter('rtB');
  readonly rtC = new ScriptedRouter('rtC');
  readonly cc = new CcClient('pbx-1');

  async start(config: Partial<ServerConfig> = {}): Promise<void> {
    this.broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    const url = `mqtt://127.0.0.1:${this.broker.port}`;
    this.store = await openStore(`sqlite:${join(this.temp.path, 'callqos.db')}`);
    await this.store.migrate();
    const bus = await connectServerMqtt({ url, clientId: 'qos-server-1', log: quiet });
    const full: ServerConfig = { ...DEFAULT_CONFIG, httpPort: 0, decisionDeadlineMs: DEADLINE_MS, removalDeadlineMs: DEADLINE_MS, ...config };
    this.server = new QosServer({ config: full, store: this.store, bus, planner: unbuildableFor('unbuildable'), admit: admissionCheck, log: createLogger((l) => this.logs.push(l), 'debug') });
    const { http } = await this.server.start();
    this.base = `http://127.0.0.1:${http!.port}`;
    for (const r of [this.rtA, this.rtB, this.rtC]) await r.connect(url);
    await this.rtA.open(lanInterfaces('192.168.1.1', '2001:db8:a:1::1', '203.0.113.1'));
    await this.rtB.open(lanInterfaces('198.18.20.1', '2001:db8:b:1::1', '198.51.100.1'));
    await this.rtC.open(lanInterfaces('198.18.30.1', '2001:db8:c:1::1', '198.51.100.30'));
    await this.rtC.send('status', { state: 'offline', agentVersion: '0.1.0', since: Date.now() });
    await this.cc.connect(url);
    // The interface reports are in the router index once a located call plans gates.
    await until(async () => (await this.store.listDevices({ status: 'offline' })).some((d) => d.id === 'rtC'));
    await this.server.index.refresh();
  }

  async stop(): Promise<void> {
    await this.cc.close();
    for (const r of [this.rtA, this.rtB, this.rtC]) await r.close();
    await this.server.stop();
    await this.store.close();
    await this.broker.close();
    this.temp.remove();
  }

  mqtt(op: Op, body: unknown, envelope: Record<string, unknown> = {}) {
    return this.cc.request(TYPE_OF[op], body, ANSWER_WITHIN_MS, envelope);
  }

  async http(op: Op, body: SessionAddBody | SessionDeleteBody | Record<string, unknown>): Promise<HttpAnswer> {
    const callId = encodeURIComponent(String((body as { callId?: unknown }).callId ?? 'x'));
    const [method, path] = op === 'add' ? ['POST', '/v1/sessions'] : op === 'modify' ? ['PUT', `/v1/sessions/${callId}`] : ['DELETE', `/v1/sessions/${callId}`];
    const started = Date.now();
    const res = await fetch(`${this.base}${path}`, { method, headers: { 'x-callqos-client': 'pbx-1' }, body: JSON.stringify(body), signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    return { status: res.status, body: (await res.json()) as HttpAnswer['body'], ms: Date.now() - started };
  }

  /**
   * The same request over both fronts (each under its own call id, made by `make`): both answered
   * within the deadline, with the same state and reason. Returns the MQTT answer.
   */
  async both(op: Op, make: (callId: string) => SessionAddBody | SessionDeleteBody | Record<string, unknown>, callId: string): Promise<SessionStateBody> {
    const overMqtt = await this.mqtt(op, make(`${callId}-mqtt`));
    const overHttp = await this.http(op, make(`${callId}-http`));
    expect(overMqtt.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(overHttp.ms).toBeLessThan(ANSWER_WITHIN_MS);
    if ('error' in overHttp.body) {
      // An error of the session API: over HTTP its status and {code, message, path}; over MQTT a rejection saying the same.
      const { code, message } = overHttp.body.error;
      expect(overMqtt.state.state).toBe('rejected');
      expect(overMqtt.state.reason).toMatch(new RegExp(`^${code}: `));
      expect(overMqtt.state.reason).toContain(message.replace(/-http/g, '-mqtt'));
    } else {
      expect(overHttp.status).toBe(200);
      expect(essence(overMqtt.state)).toEqual(essence(overHttp.body));
    }
    for (const reason of [overMqtt.state.reason, ...overMqtt.state.lines.map((l) => l.reason)]) if (reason !== null) expect(reason.length).toBeLessThanOrEqual(REASON_MAX);
    return overMqtt.state;
  }
}

async function until(what: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('session API: every request answered, over MQTT and HTTP alike', () => {
  const rig = new Rig();
  beforeAll(() => rig.start());
  afterAll(() => rig.stop());

  it('answers a call whose two ends are private rejected over MQTT, with a reason cut to the schema, and answers its deletion', async () => {
    const { state, ms } = await rig.mqtt('add', privateEnds('private-1'));
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(state).toMatchObject({ callId: 'private-1', state: 'rejected', lines: [{ line: 0, state: 'rejected' }] });
    expect(state.reason).toMatch(/^E_NO_ROUTER: no router found for either end: offer: media address 10\.20\.30\.40 is private/);
    // The whole explanation is longer than a reason may be: it is cut, visibly, within the bound.
    expect(state.reason).toHaveLength(REASON_MAX);
    expect(state.reason!.endsWith('…')).toBe(true);
    expect((await rig.mqtt('delete', { callId: 'private-1' })).state).toMatchObject({ callId: 'private-1', state: 'ended' });
    expect(rig.logs.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('answers the two-private-ends call alike over HTTP (200, rejected) and MQTT', async () => {
    const state = await rig.both('add', privateEnds, 'private-2');
    expect(state.reason).toMatch(/^E_NO_ROUTER: /);
  });

  it.each([
    ['a removed stream', { offer: { address: '192.168.1.20', port: 0 } }, 'E_NO_STREAM: the stream was removed (port 0)'],
    ['an inactive stream', { direction: 'inactive' as const }, 'E_NO_STREAM: the stream is inactive'],
    ['a codec without a known rate', { codec: { name: 'X-NEW', clockRate: 8000 } }, 'E_NO_RATE: no rate known for codec X-NEW and no b=AS'],
    ['a stream faster than one gate admits', { type: 'video' as const, codec: { name: 'H264', clockRate: 90000, bandwidthKbps: GATE_RATE_MAX_KBPS } }, /^E_RATE: the stream needs \d+ kbit\/s, more than the 100000 one gate admits$/],
    ['a stream beyond the EF budget', { type: 'video' as const, codec: { name: 'H264', clockRate: 90000, bandwidthKbps: 7000 } }, /^E_BUDGET: router rtA: EF budget up is 6000 kbit\/s, 0 in use, \d+ asked$/],
    ['a router that is offline', { answer: { address: '198.18.30.30', port: 7000 } }, 'E_ROUTER_OFFLINE: router rtC is offline'],
  ])('refuses an add with %s: rejected, the same reason on both fronts', async (_what, media, reason) => {
    const decisions = rig.rtA.received.filter((m) => m.type.startsWith('decision.')).length;
    const state = await rig.both('add', (id) => call(id, 40000, media), `refused-${String(_what).replace(/\W+/g, '-')}`);
    expect(state.state).toBe('rejected');
    if (typeof reason === 'string') expect(state.reason).toBe(reason);
    else expect(state.reason).toMatch(reason);
    expect(rig.rtA.received.filter((m) => m.type.startsWith('decision.')).length).toBe(decisions);
  });

  it('fails an add a router refuses, alike on both fronts', async () => {
    rig.rtA.mode = 'fail';
    try {
      const state = await rig.both('add', (id) => call(id, 41000), 'router-refuses');
      expect(state.state).toBe('failed');
      expect(state.reason).toMatch(/^E_ROUTER_REFUSED: router rtA refused gate \S+: E_APPLY nft refused the batch$/);
    } finally {
      rig.rtA.mode = 'succeed';
    }
  });

  it('fails an add a router does not answer, within the deadline on both fronts', async () => {
    rig.rtB.mode = 'silent';
    try {
      const state = await rig.both('add', (id) => call(id, 42000), 'router-silent');
      expect(state.state).toBe('failed');
      expect(state.reason).toBe(`E_DEADLINE: no install report from rtB within ${DEADLINE_MS} ms`);
    } finally {
      rig.rtB.mode = 'succeed';
    }
  });

  it('fails an add whose decision the server cannot build at once, naming the field, not at the deadline as if a router were silent', async () => {
    const state = await rig.both('add', (id) => call(id, 42500), 'unbuildable');
    expect(state.state).toBe('failed');
    expect(state.reason).toBe('E_INTERNAL: decision.install to rtA could not be built: E_RANGE at body.gates[0].lifetimeS: 5 is outside 10..86400');
    const errors = rig.logs.filter((l) => l.startsWith('error') && l.includes('cannot build a message') && l.includes('path=body.gates[0].lifetimeS'));
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(await rig.store.listSessions({ callId: 'unbuildable-mqtt' })).toMatchObject([{ state: 'failed' }]);
  });

  it.each([
    ['a call id longer than allowed', (id: string) => ({ ...call(id, 43000), callId: `${id}-${'x'.repeat(SESSION_REF_MAX)}` }), 'E_LENGTH'],
    ['an unknown field', (id: string) => ({ ...call(id, 43000), colour: 'blue' }), 'E_UNKNOWN_FIELD'],
    ['no media', (id: string) => ({ ...call(id, 43000), media: [] }), 'E_LENGTH'],
    ['a party URI longer than allowed', (id: string) => ({ ...call(id, 43000), caller: { source: '203.0.113.1', uri: 'u'.repeat(PARTY_MAX + 1) } }), 'E_LENGTH'],
  ])('answers an add with %s: HTTP 400, MQTT rejected with the same code and message', async (_what, make, code) => {
    const overMqtt = await rig.mqtt('add', make('invalid-mqtt'));
    const overHttp = await rig.http('add', make('invalid-http'));
    expect(overHttp.status).toBe(400);
    const error = (overHttp.body as { error: { code: string; message: string; path: string } }).error;
    expect(error.code).toBe(code);
    expect(overMqtt.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(overMqtt.state.state).toBe('rejected');
    // The MQTT path names the field inside the envelope's body.
    expect(overMqtt.state.reason).toBe(`${code}: body.${error.path}: ${error.message}`.slice(0, REASON_MAX));
  });

  it('answers a request whose own call id is unusable, with the call id given as "-"', async () => {
    const { state } = await rig.mqtt('add', { ...call('x', 43100), callId: 'has space' });
    expect(state).toMatchObject({ callId: '-', state: 'rejected', reason: 'E_FORMAT: body.callId: not a valid session reference (printable ASCII)' });
  });

  it('answers a request that names another sender than its topic, and one of a type call control does not send', async () => {
    const other = await rig.mqtt('add', call('sender-1', 43200), { device: 'pbx-2' });
    expect(other.state).toMatchObject({ callId: 'sender-1', state: 'rejected', reason: 'E_SENDER: the request names pbx-2 as its sender, on the topic of pbx-1' });
    const keepalive = await rig.cc.request('keepalive', {}, ANSWER_WITHIN_MS);
    expect(keepalive.state).toMatchObject({ callId: '-', state: 'rejected', reason: 'E_UNEXPECTED_TYPE: keepalive is not a session request' });
    // Nothing was set up for either.
    expect(await rig.store.listSessions({ callId: 'sender-1' })).toEqual([]);
  });

  it('answers a modify the budget refuses: the call stays active, the same reason on both fronts', async () => {
    for (const front of ['mqtt', 'http']) expect((await (front === 'mqtt' ? rig.mqtt('add', call(`grow-${front}`, 44000)).then((a) => a.state) : rig.http('add', call(`grow-${front}`, 44100)).then((a) => a.body as SessionStateBody))).state).toBe('active');
    const bigger = (id: string) => call(id, id.endsWith('mqtt') ? 44000 : 44100, { type: 'video', codec: { name: 'H264', clockRate: 90000, bandwidthKbps: 7000 } });
    const state = await rig.both('modify', bigger, 'grow');
    expect(state.state).toBe('active');
    expect(state.reason).toMatch(/^E_BUDGET: change refused: router rtA: EF budget up is 6000 kbit\/s/);
  });

  it('answers a modify that removes the stream, one for an unknown call (taken as an add), and one that does not validate', async () => {
    await rig.mqtt('add', call('drop-mqtt', 45000));
    await rig.http('add', call('drop-http', 45100));
    // The routers may confirm the removal before either answer is read: ending or ended, with the same reason.
    const removed = { offer: { address: '192.168.1.20', port: 0 } };
    const overMqtt = await rig.mqtt('modify', call('drop-mqtt', 45000, removed));
    const overHttp = await rig.http('modify', call('drop-http', 45100, removed));
    for (const state of [overMqtt.state, overHttp.body as SessionStateBody]) {
      expect(['ending', 'ended']).toContain(state.state);
      expect(state.lines[0]!.reason).toBe('E_NO_STREAM: the stream was removed (port 0)');
    }
    const fresh = await rig.both('modify', (id) => call(id, 45200), 'modify-new');
    expect(fresh.state).toBe('active');
    const invalid = await rig.both('modify', (id) => ({ ...call(id, 45300), wait: 'yes' }), 'modify-invalid');
    expect(invalid.reason).toMatch(/^E_TYPE: /);
  });

  it('answers deletions: of an unknown call (HTTP 404), of a rejected call, of an active call, and one that does not validate', async () => {
    const unknown = await rig.both('delete', (id) => ({ callId: id }), 'never-was');
    expect(unknown.reason).toBe('E_NOT_FOUND: no session never-was-mqtt');
    expect((await rig.http('delete', { callId: 'never-was-2' })).status).toBe(404);
    const rejected = await rig.both('delete', (id) => ({ callId: id }), 'private-2');
    expect(rejected).toMatchObject({ state: 'ended', reason: expect.stringMatching(/^E_NO_ROUTER: /) as unknown });
    const active = await rig.both('delete', (id) => ({ callId: id, reason: 'BYE', releasedBy: 'caller', sipStatus: 200 }), 'modify-new');
    expect(['ending', 'ended']).toContain(active.state);
    const invalid = await rig.both('delete', (id) => ({ callId: id, reason: 'r'.repeat(RELEASE_REASON_MAX + 1) }), 'modify-new');
    expect(invalid.reason).toMatch(/^E_LENGTH: /);
  });

  it('answers requests with every field at its maximum length: add, modify and delete, on both fronts', async () => {
    const longId = (id: string) => `${id}${'c'.repeat(SESSION_REF_MAX - id.length)}`;
    const widest = (id: string, port: number): SessionAddBody => ({
      callId: longId(id),
      caller: { source: '203.0.113.1', uri: `sip:${'a'.repeat(PARTY_MAX - 4)}` },
      callee: { source: '198.51.100.1', uri: `sip:${'b'.repeat(PARTY_MAX - 4)}` },
      media: Array.from({ length: MAX_MEDIA_LINES }, (_, line) => ({
        line,
        type: 'audio' as const,
        offer: { address: '192.168.1.20', port: port + 2 * line },
        answer: { address: '198.18.20.20', port: port + 2 * line + 1000 },
        direction: 'sendrecv' as const,
        codec: { name: 'X'.repeat(CODEC_NAME_MAX), clockRate: 192000, channels: 8, ptimeMs: 10, bandwidthKbps: 64 },
      })),
      wait: true,
      token: 't'.repeat(TOKEN_MAX),
    });
    const overMqtt = await rig.mqtt('add', widest('max-mqtt-', 46000));
    const overHttp = await rig.http('add', widest('max-http-', 47000));
    for (const answer of [overMqtt.state, overHttp.body as SessionStateBody]) {
      expect(answer.state).toBe('active');
      expect(answer.lines).toHaveLength(MAX_MEDIA_LINES);
      expect(answer.callId).toHaveLength(SESSION_REF_MAX);
    }
    expect(essence(overMqtt.state)).toEqual(essence(overHttp.body as SessionStateBody));
    // A modify of the same, a new port on every line.
    const moved = (id: string, port: number) => ({ ...widest(id, port), media: widest(id, port).media.map((m) => ({ ...m, offer: { ...m.offer, port: m.offer.port + 100 } })) });
    expect((await rig.mqtt('modify', moved('max-mqtt-', 46000))).state.state).toBe('active');
    expect(((await rig.http('modify', moved('max-http-', 47000))).body as SessionStateBody).state).toBe('active');
    // The deletion with the longest reason.
    const bye = (id: string) => ({ callId: longId(id), reason: 'r'.repeat(RELEASE_REASON_MAX), releasedBy: 'network', sipStatus: 699 });
    const ended = await rig.both('delete', (id) => bye(`${id}-`), 'max');
    expect(['ending', 'ended']).toContain(ended.state);
    // The two-private-ends refusal at the longest call id.
    const refused = await rig.mqtt('add', { ...privateEnds(''), callId: longId('private-max-') });
    expect(refused.state).toMatchObject({ state: 'rejected' });
    expect(refused.state.reason).toHaveLength(REASON_MAX);
  });
});

describe('session API: refusals of authorization, answered alike', () => {
  const rig = new Rig();
  beforeAll(() => rig.start({ authorization: 'required', clearinghouseTimeoutMs: 200 }));
  afterAll(() => rig.stop());

  it('answers rejected when a token cannot be verified, and when the clearinghouse does not answer', async () => {
    const token = await rig.both('add', (id) => ({ ...call(id, 48000), token: 'aaa.bbb.ccc' }), 'token');
    expect(token).toMatchObject({ state: 'rejected', reason: 'E_NOT_AUTHORIZED: a token was presented, but this server has no clearinghouse keys to verify it' });
    const silent = await rig.both('add', (id) => call(id, 48100), 'no-clearinghouse');
    expect(silent).toMatchObject({ state: 'rejected', reason: 'E_NOT_AUTHORIZED: the clearinghouse did not answer auth.request within 200 ms' });
  });
});

/**
 * Failures inside the server, which no request of a well-behaved client causes: a session API that
 * throws, or that returns a body outside the schema. Both fronts answer rejected E_INTERNAL
 * naming the error and its field, and the server logs it at error with the path.
 */
describe('session API: failures inside the server are answered, not dropped', () => {
  let broker: EmbeddedBroker;
  let bus: ServerMqttClient;
  let http: HttpApi;
  let base = '';
  const logs: string[] = [];
  const cc = new CcClient('pbx-9');

  /** Answers as told by the call id: `throws`, `too-long` (a reason past the bound), `too-many` (more lines than allowed). */
  const broken: SessionApi = {
    add: (_client, body) => answer(body.callId),
    modify: (_client, body) => answer(body.callId),
    remove: (_client, body) => answer(body.callId),
    get: () => Promise.resolve(null),
    health: () => Promise.resolve({ ok: true }),
  };
  async function answer(callId: string) {
    await Promise.resolve();
    if (callId.startsWith('throws')) throw new Error('the store went away');
    if (callId.startsWith('too-long')) return ok<SessionStateBody>({ callId, state: 'rejected', reason: 'r'.repeat(REASON_MAX + 1), lines: [] });
    if (callId.startsWith('too-many')) {
      const lines = Array.from({ length: MAX_MEDIA_LINES + 1 }, (_, line) => ({ line, state: 'active' as const, reason: null, gates: [] }));
      return ok<SessionStateBody>({ callId, state: 'active', reason: null, lines });
    }
    return fail({ code: 'E_CONFLICT', message: 'told to refuse' });
  }

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    bus = await connectServerMqtt({ url, clientId: 'qos-broken', log: quiet });
    const log = createLogger((l) => logs.push(l), 'debug');
    const outbox = new Outbox(bus, log, 'qos-broken', 1);
    const api = new CcApi(broken, outbox, log);
    const inbound = new Inbound({ device: () => Promise.resolve(), callControl: (id, m) => api.handle(id, m), invalidRequest: (id, text, error) => api.refuseInvalid(id, text, error) }, log);
    await bus.subscribe(allCcFilter('req'), (topic, text) => detach(inbound.receive(topic, text), (error) => logs.push(`error: receiving failed ${String(error)}`)));
    http = new HttpApi(broken, { host: '127.0.0.1', port: 0, log });
    base = `http://127.0.0.1:${(await http.start()).port}`;
    await cc.connect(url);
  });
  afterAll(async () => {
    await cc.close();
    await http.stop();
    await bus.close();
    await broker.close();
  });

  it('answers an answer whose reason is too long, or whose lines are too many, rejected E_INTERNAL naming the field, on both fronts', async () => {
    for (const [callId, path] of [['too-long-1', 'reason'], ['too-many-1', 'lines']] as const) {
      const overMqtt = await cc.request('session.add', call(callId, 40000), ANSWER_WITHIN_MS);
      const res = await fetch(`${base}/v1/sessions`, { method: 'POST', body: JSON.stringify(call(callId, 40000)) });
      expect(res.status).toBe(200);
      const overHttp = (await res.json()) as SessionStateBody;
      expect(overMqtt.state).toEqual(overHttp);
      expect(overHttp).toMatchObject({ callId, state: 'rejected', lines: [] });
      expect(overHttp.reason).toMatch(new RegExp(`^E_INTERNAL: session.state could not be built: E_LENGTH at ${path}: `));
      expect(logs.filter((l) => l.startsWith('error') && l.includes('cannot build session.state') && l.includes(`path=${path}`))).toHaveLength(2);
    }
  });

  it('answers a request the session API fails on (it throws) rejected E_INTERNAL over MQTT, 500 over HTTP', async () => {
    const overMqtt = await cc.request('session.delete', { callId: 'throws-1' }, ANSWER_WITHIN_MS);
    expect(overMqtt.state).toEqual({ callId: 'throws-1', state: 'rejected', reason: 'E_INTERNAL: the request failed: Error: the store went away', lines: [] });
    expect(logs.some((l) => l.startsWith('error') && l.includes('session request failed'))).toBe(true);
    const res = await fetch(`${base}/v1/sessions/throws-2`, { method: 'DELETE' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'E_INTERNAL', message: 'internal error', path: '' } });
  });

  it('answers an error of the session API alike: its code and message', async () => {
    const overMqtt = await cc.request('session.delete', { callId: 'other-1' }, ANSWER_WITHIN_MS);
    expect(overMqtt.state).toEqual({ callId: 'other-1', state: 'rejected', reason: 'E_CONFLICT: told to refuse', lines: [] });
    const res = await fetch(`${base}/v1/sessions/other-2`, { method: 'DELETE' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'E_CONFLICT', message: 'told to refuse' });
  });
});

/**
 * The device link's error reply: a reply the router waits for that the server cannot build (here
 * an `accept` whose keep-alive, from a configured maximum below the protocol's minimum, is out of
 * range) becomes `close` with `protocol-error` naming the field, so the router reopens later
 * rather than waiting for an accept that never comes.
 */
describe('device link: a reply that cannot be built is answered with close', () => {
  const temp = makeTempDir('every-answer-device');
  let broker: EmbeddedBroker;
  let store: Store;
  let server: QosServer;
  const logs: string[] = [];
  const router = new ScriptedRouter('rtZ');

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    const bus = await connectServerMqtt({ url, clientId: 'qos-server-z', log: quiet });
    const config: ServerConfig = { ...DEFAULT_CONFIG, serverId: 'qos-server-z', httpPort: null, maxKeepaliveS: 2 };
    server = new QosServer({ config, store, bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger((l) => logs.push(l), 'debug') });
    await server.start();
    await router.connect(url);
  });
  afterAll(async () => {
    await router.close();
    await server.stop();
    await store.close();
    await broker.close();
    temp.remove();
  });

  it('closes with protocol-error naming the field, and logs it at error with the path', async () => {
    const closed = router.next('close');
    const open = await router.send('open', {
      agentVersion: '0.1.0',
      board: { model: 'Lab Router', name: 'lab,router', release: 'OpenWrt 23.05.3', target: 'x86/64' },
      capabilities: { queues: ['htb'], ipv6: true, maxGates: 256 },
      link: { upKbps: 20000, downKbps: 100000, efBudgetPercent: 30 },
      keepaliveS: 30,
    });
    const close = await closed;
    expect(close.body).toEqual({ reason: 'protocol-error', text: 'E_INTERNAL: accept could not be built: E_RANGE at body.keepaliveS: 2 is outside 5..3600' });
    expect(router.received.some((m) => m.type === 'accept' && m.corr === open.id)).toBe(false);
    expect(logs.some((l) => l.startsWith('error') && l.includes('cannot build a message') && l.includes('type=accept') && l.includes('path=body.keepaliveS'))).toBe(true);
  });
});
