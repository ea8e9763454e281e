/**
 * Calls on a company's routed private network, in-process: the QoS control server with
 * `--routed-scope corp=10.0.0.0/8` on the embedded broker and SQLite, routers played over MQTT by
 * the test. Two offices numbered from 10/8 without NAT get a gate each for a call between them,
 * whatever the signalling source; an office and a home behind NAT too; two homes on
 * 192.168.1.0/24 as before. A third office reporting a network another office already reports is
 * refused at report time (logged with both routers and the network, listed by GET /v1/scopes), and
 * calls into that network get best effort with a reason naming the conflict until it is fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import type { EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { parseServerArgs } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { InterfaceEntry } from '../../../src/core/protocol/messages/interfaces.ts';
import type { SessionAddBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { makeTempDir } from '../../support/temp.ts';
import { until } from '../../support/wait.ts';
import { ScriptedRouter } from './scripted-router.ts';

const quiet = { info: () => {}, warn: () => {} };

const interfaces = (lan: string, wan: string, wanLength: number): InterfaceEntry[] => [
  { name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [{ address: lan, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] },
  { name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [{ address: wan, prefixLength: wanLength }], ipv6: [], ipv6Prefixes: [] },
];

let port = 40000;
function call(callId: string, offer: string, callerSource: string | null, answer: string, calleeSource: string | null): SessionAddBody {
  port += 2;
  return {
    callId,
    caller: { source: callerSource },
    callee: { source: calleeSource },
    media: [{ line: 0, type: 'audio', offer: { address: offer, port }, answer: { address: answer, port: port + 1 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
  };
}

describe('QoS control server with a routed scope (embedded broker, SQLite, scripted routers)', () => {
  const temp = makeTempDir('routed-scopes');
  let broker: EmbeddedBroker;
  let store: Store;
  let server: QosServer;
  let base = '';
  const logs: string[] = [];
  const officeA = new ScriptedRouter('office-a');
  const officeB = new ScriptedRouter('office-b');
  const officeX = new ScriptedRouter('office-x');
  const home1 = new ScriptedRouter('home-1');
  const home2 = new ScriptedRouter('home-2');

  const post = async (body: SessionAddBody): Promise<SessionStateBody> => (await fetch(`${base}/v1/sessions`, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<SessionStateBody>;
  const scopes = async (): Promise<{ scopes: Array<Record<string, unknown>> }> => (await fetch(`${base}/v1/scopes`)).json() as Promise<{ scopes: Array<Record<string, unknown>> }>;
  const gateAt = (router: ScriptedRouter, session: string) => [...router.gates.values()].find((g) => g.session === session);

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const config = parseServerArgs(['--routed-scope', 'corp=10.0.0.0/8', '--http', '127.0.0.1:0', '--deadline-ms', '2000']);
    if (!config.ok) throw new Error(config.error.message);
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    const bus = await connectServerMqtt({ url, clientId: 'qos-server-1', log: quiet });
    server = new QosServer({ config: config.value, store, bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger((l) => logs.push(l), 'debug') });
    const { http } = await server.start();
    base = `http://127.0.0.1:${http!.port}`;
    for (const router of [officeA, officeB, officeX, home1, home2]) await router.connect(url);
    await officeA.open(interfaces('10.1.0.1', '10.255.1.2', 30));
    await officeB.open(interfaces('10.2.0.1', '10.255.2.2', 30));
    await home1.open(interfaces('192.168.1.1', '203.0.113.1', 24));
    await home2.open(interfaces('192.168.1.1', '198.51.100.1', 24));
  });

  afterAll(async () => {
    for (const router of [officeA, officeB, officeX, home1, home2]) await router.close();
    await server.stop();
    await store.close();
    await broker.close();
    temp.remove();
  });

  it('gives a call between two offices a gate at each, the far end exact, with the phones\' own private addresses as signalling sources', async () => {
    const state = await post(call('office@corp', '10.1.0.20', '10.1.0.20', '10.2.0.20', '10.2.0.20'));
    expect(state).toMatchObject({ state: 'active', reason: null });
    expect(state.lines[0]!.gates.map((g) => g.device).sort()).toEqual(['office-a', 'office-b']);
    expect(gateAt(officeA, 'office@corp')).toMatchObject({ lan: { address: '10.1.0.20' }, remote: { address: '10.2.0.20', port: port + 1 } });
    expect(gateAt(officeB, 'office@corp')).toMatchObject({ lan: { address: '10.2.0.20' }, remote: { address: '10.1.0.20', port } });
  });

  it('gives a call between an office and a home behind NAT a gate at each', async () => {
    const state = await post(call('home@corp', '10.1.0.21', '10.1.0.21', '192.168.1.20', '203.0.113.1'));
    expect(state).toMatchObject({ state: 'active', reason: null });
    expect(gateAt(officeA, 'home@corp')).toMatchObject({ lan: { address: '10.1.0.21' }, remote: { address: '203.0.113.1', port: null } });
    expect(gateAt(home1, 'home@corp')).toMatchObject({ lan: { address: '192.168.1.20' }, remote: { address: null, port: null } });
  });

  it('locates two homes on 192.168.1.0/24 by their WAN addresses, as without a scope', async () => {
    const state = await post(call('homes@x', '192.168.1.20', '203.0.113.1', '192.168.1.20', '198.51.100.1'));
    expect(state).toMatchObject({ state: 'active', reason: null });
    expect(state.lines[0]!.gates.map((g) => g.device).sort()).toEqual(['home-1', 'home-2']);
  });

  it('lists the scope and the network each office holds', async () => {
    expect(await scopes()).toEqual({
      scopes: [{ name: 'corp', prefixes: ['10.0.0.0/8'], devices: null, networks: [{ prefix: '10.1.0.0/24', device: 'office-a' }, { prefix: '10.2.0.0/24', device: 'office-b' }], conflicts: [] }],
    });
  });

  it('refuses a network a second office reports: logged at once with both routers, listed by the API, calls into it best effort with the conflict as reason', async () => {
    await officeX.open(interfaces('10.2.0.1', '10.255.7.2', 30));
    await until(() => logs.some((l) => l.startsWith('error: routed network refused')), 'the refusal logged', undefined, () => logs.join('\n'));
    const line = logs.find((l) => l.startsWith('error: routed network refused'))!;
    expect(line).toMatch(/scope=corp prefix=10\.2\.0\.0\/24 device=office-x holder=office-b/);
    expect((await scopes()).scopes[0]!.conflicts).toEqual([{ prefix: '10.2.0.0/24', holder: 'office-b', refused: ['office-x'] }]);

    // A call from office B to a carrier's media gateway (no router there): nothing located, the reason says why.
    const toCarrier = await post(call('carrier@corp', '10.2.0.20', '10.2.0.20', '192.0.2.50', '192.0.2.50'));
    expect(toCarrier.state).toBe('rejected');
    expect(toCarrier.reason).toMatch(/10\.2\.0\.0\/24 of routed scope corp is reported by office-b and office-x \(conflict/);
    // A call from office A into it: office A's end only, nothing for the disputed one.
    const intoIt = await post(call('disputed@corp', '10.1.0.22', '10.1.0.22', '10.2.0.22', '10.2.0.22'));
    expect(intoIt.state).toBe('active');
    expect(intoIt.lines[0]!.gates.map((g) => g.device)).toEqual(['office-a']);
    expect(gateAt(officeB, 'disputed@corp')).toBeUndefined();
    expect(gateAt(officeX, 'disputed@corp')).toBeUndefined();
  });

  it('keeps the network with the first office when that office reports again, and frees it once the second is fixed', async () => {
    await officeB.send('interfaces', { version: 2, interfaces: interfaces('10.2.0.1', '10.255.2.2', 30) });
    await until(async () => (await store.getDevice('office-b'))?.interfacesVersion === 2, 'office B\'s second report stored');
    expect((await scopes()).scopes[0]!.conflicts).toEqual([{ prefix: '10.2.0.0/24', holder: 'office-b', refused: ['office-x'] }]);
    await officeX.send('interfaces', { version: 2, interfaces: interfaces('10.7.0.1', '10.255.7.2', 30) });
    await until(() => logs.some((l) => l.startsWith('info: routed network conflict over')), 'the end of the conflict logged', undefined, () => logs.join('\n'));
    expect((await scopes()).scopes[0]!.conflicts).toEqual([]);
    const state = await post(call('fixed@corp', '10.2.0.23', '10.2.0.23', '10.7.0.23', '10.7.0.23'));
    expect(state).toMatchObject({ state: 'active', reason: null });
    expect(state.lines[0]!.gates.map((g) => g.device).sort()).toEqual(['office-b', 'office-x']);
  });
});
