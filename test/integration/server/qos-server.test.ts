/**
 * The QoS control server in-process on the embedded broker (aedes) and SQLite, with two routers
 * played over MQTT by the test: a session through the HTTP API ends QoS-active only when both
 * routers reported their gates; deletion collects usage once; a silent or failing router rolls
 * the session back; the budget refuses what does not fit; a restart loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../support/wait.ts';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import type { EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import type { ServerConfig } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { SessionAddBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { gateHash } from '../../../src/core/protocol/digest.ts';
import { makeTempDir } from '../../support/temp.ts';
import { lanInterfaces, ScriptedRouter } from './scripted-router.ts';

const quiet = { info: () => {}, warn: () => {} };

function call(callId: string, port = 49170, codec: SessionAddBody['media'][number]['codec'] = { name: 'PCMU', clockRate: 8000, ptimeMs: 20 }): SessionAddBody {
  return {
    callId,
    caller: { source: '203.0.113.1' },
    callee: { source: '198.51.100.1' },
    media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port }, answer: { address: '198.18.20.20', port: port + 1000 }, direction: 'sendrecv', codec }],
    wait: true,
  };
}

describe('QoS control server (embedded broker, SQLite, scripted routers)', () => {
  const temp = makeTempDir('qos-server');
  let broker: EmbeddedBroker;
  let store: Store;
  let server: QosServer;
  let base = '';
  let url = '';
  const logs: string[] = [];
  const rtA = new ScriptedRouter('rtA');
  const rtB = new ScriptedRouter('rtB');

  async function startServer(config: Partial<ServerConfig> = {}): Promise<void> {
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    const bus = await connectServerMqtt({ url, clientId: 'qos-server-1', log: quiet });
    const full: ServerConfig = { ...DEFAULT_CONFIG, httpPort: 0, decisionDeadlineMs: 2000, removalDeadlineMs: 2000, ...config };
    server = new QosServer({ config: full, store, bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger((l) => logs.push(l), 'debug') });
    const { http } = await server.start();
    base = `http://127.0.0.1:${http!.port}`;
  }

  async function stopServer(): Promise<void> {
    await server.stop();
    await store.close();
  }

  const post = async (body: SessionAddBody): Promise<SessionStateBody> => (await fetch(`${base}/v1/sessions`, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<SessionStateBody>;
  const del = async (callId: string): Promise<SessionStateBody> => (await fetch(`${base}/v1/sessions/${encodeURIComponent(callId)}`, { method: 'DELETE' })).json() as Promise<SessionStateBody>;
  const get = async (callId: string): Promise<SessionStateBody> => (await fetch(`${base}/v1/sessions/${encodeURIComponent(callId)}`)).json() as Promise<SessionStateBody>;

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    url = `mqtt://127.0.0.1:${broker.port}`;
    await startServer();
    await rtA.connect(url);
    await rtB.connect(url);
    const accept = await rtA.open(lanInterfaces('192.168.1.1', '2001:db8:a:1::1', '203.0.113.1'));
    expect(accept).toMatchObject({ server: 'qos-server-1', keepaliveS: 30, version: 0 });
    await rtB.open(lanInterfaces('198.18.20.1', '2001:db8:b:1::1', '198.51.100.1'));
  });

  afterAll(async () => {
    await rtA.close();
    await rtB.close();
    await stopServer();
    await broker.close();
    temp.remove();
  });

  it('makes a session active only once both routers reported their gates installed', async () => {
    const state = await post(call('call-1@lab'));
    expect(state).toMatchObject({ callId: 'call-1@lab', state: 'active', reason: null });
    expect(state.lines[0]!.gates.map((g) => g.device).sort()).toEqual(['rtA', 'rtB']);
    const atA = [...rtA.gates.values()];
    expect(atA).toHaveLength(1);
    expect(atA[0]).toMatchObject({ lan: { address: '192.168.1.20', port: 49170 }, remote: { address: '198.18.20.20', port: 50170 }, dscp: 46, rateKbps: 80, direction: 'both' });
    expect([...rtB.gates.values()][0]).toMatchObject({ lan: { address: '198.18.20.20', port: 50170 }, remote: { address: '203.0.113.1', port: null } });
    // The retained summary comes to match what the router holds (summaries follow changes within DESIRED_WINDOW_MS).
    const lastDesired = () => rtA.received.filter((m) => m.type === 'desired').at(-1)?.body as { count: number } | undefined;
    await until(async () => lastDesired()?.count === 1);
  });

  it('answers a repeated request with the same state and sends nothing again', async () => {
    const decisions = rtA.received.filter((m) => m.type.startsWith('decision.')).length;
    expect(await post(call('call-1@lab'))).toMatchObject({ state: 'active' });
    await new Promise((r) => setTimeout(r, 100));
    expect(rtA.received.filter((m) => m.type.startsWith('decision.')).length).toBe(decisions);
  });

  it('ends a session on delete and records the routers\' final usage exactly once', async () => {
    const [gateA] = [...rtA.gates.keys()];
    const ended = await del('call-1@lab');
    expect(['ending', 'ended']).toContain(ended.state);
    await until(async () => (await get('call-1@lab')).state === 'ended');
    expect(rtA.gates.size).toBe(0);
    const usage = { id: gateA!, session: 'call-1@lab', up: { packets: 500, bytes: 86000 }, down: { packets: 498, bytes: 85656 }, firstSeen: 1, lastSeen: 2, ended: 'removed' as const };
    await rtA.send('report.accounting', { gates: [usage] });
    await rtA.send('report.accounting', { gates: [usage] });
    await until(async () => (await store.listUsage({ callId: 'call-1@lab' })).length === 1);
    await new Promise((r) => setTimeout(r, 100));
    const recorded = await store.listUsage({ callId: 'call-1@lab' });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ device: 'rtA', up: { packets: 500 }, down: { packets: 498 }, ended: 'removed' });
  });

  it('fails a session whose router does not answer within the deadline, and rolls back the other router', async () => {
    rtB.mode = 'silent';
    try {
      const state = await post(call('call-2@lab', 41000));
      expect(state.state).toBe('failed');
      expect(state.reason).toMatch(/no install report from rtB/);
      await until(async () => rtA.gates.size === 0);
    } finally {
      rtB.mode = 'succeed';
    }
  });

  it('fails a session a router refuses, naming the router and its error', async () => {
    rtA.mode = 'fail';
    try {
      const state = await post(call('call-3@lab', 42000));
      expect(state.state).toBe('failed');
      expect(state.reason).toMatch(/router rtA refused gate .*E_APPLY/);
      await until(async () => rtB.gates.size === 0);
    } finally {
      rtA.mode = 'succeed';
    }
  });

  it('rejects what does not fit a router\'s EF budget, installing nothing anywhere', async () => {
    // 30% of 20,000 kbit/s up: 6,000 kbit/s. A 7 Mbit/s video does not fit.
    const before = rtA.received.length;
    const video = call('call-4@lab', 43000);
    video.media = [{ ...video.media[0]!, type: 'video', codec: { name: 'H264', clockRate: 90000, bandwidthKbps: 7000 } }];
    const state = await post(video);
    expect(state.state).toBe('rejected');
    expect(state.reason).toMatch(/EF budget up is 6000 kbit\/s/);
    await new Promise((r) => setTimeout(r, 100));
    expect(rtA.received.slice(before).filter((m) => m.type.startsWith('decision.'))).toHaveLength(0);
  });

  it('modifies a gate in place when the media port moves (re-INVITE)', async () => {
    expect((await post(call('call-5@lab', 44000))).state).toBe('active');
    const id = [...rtA.gates.keys()].find((k) => rtA.gates.get(k)!.lan.port === 44000)!;
    const moved = call('call-5@lab', 44100);
    const res = await fetch(`${base}/v1/sessions/${encodeURIComponent('call-5@lab')}`, { method: 'PUT', body: JSON.stringify(moved) });
    expect(((await res.json()) as SessionStateBody).state).toBe('active');
    expect(rtA.gates.get(id)?.lan.port).toBe(44100);
    expect(rtA.received.some((m) => m.type === 'decision.modify')).toBe(true);
  });

  it('keeps everything across a server restart and answers a router\'s resync with what it should hold', async () => {
    await stopServer();
    await startServer();
    expect(await get('call-5@lab')).toMatchObject({ state: 'active' });
    const held = [...rtA.gates.values()];
    const complete = rtA.next('sync.complete');
    await rtA.send('sync.request', { version: 0, part: { index: 0, count: 1 }, gates: held.map((g) => ({ id: g.id, hash: gateHash(g) })) });
    const answer = await complete;
    expect(answer.body.gates.map((g) => g.id)).toEqual(held.map((g) => g.id));
  });

  it('answers a router repeating its open (a slow server after a broker restart) without handling it again', async () => {
    const body = {
      agentVersion: '0.1.0',
      board: { model: 'Lab Router', name: 'lab,router', release: 'OpenWrt 23.05.3', target: 'x86/64' },
      capabilities: { queues: ['htb' as const], ipv6: true, maxGates: 256 },
      link: { upKbps: 20000, downKbps: 100000, efBudgetPercent: 30 },
      keepaliveS: 30,
    };
    const opened = () => logs.filter((l) => l.includes('device opened') && l.includes('device=rtB')).length;
    const before = opened();
    const accepts = () => rtB.received.filter((m) => m.type === 'accept');
    const acceptsBefore = accepts().length;
    const first = await rtB.send('open', body);
    const second = await rtB.send('open', body);
    await until(async () => accepts().length === acceptsBefore + 2);
    expect(accepts().slice(-2).map((m) => m.corr)).toEqual([first.id, second.id]);
    expect(opened()).toBe(before + 1);
  });

  it('logs and drops a malformed message without stopping', async () => {
    const raw = await connectServerMqtt({ url, clientId: 'rtX', log: quiet });
    raw.publish('callqos/v1/dev/rtX/up', '{"v":1,"type":"open"');
    await raw.close();
    await until(async () => logs.some((l) => l.includes('message rejected') && l.includes('E_JSON')));
    expect((await post(call('call-6@lab', 45000))).state).toBe('active');
  });
});
