/**
 * Two QoS control server instances sharing the load: real Mosquitto with shared subscriptions
 * (MQTT 5 `$share/…`), one PostgreSQL database, per-login ACLs. Each uplink message reaches one
 * instance, exactly once; a session asked of either instance turns active whichever instance
 * handles the routers' reports; when one instance stops, the other carries on with everything,
 * the calls the stopped one set up included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import type { Bus } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { SessionAddBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { makeTempDir } from '../../support/temp.ts';
import { startMosquitto } from '../broker/support.ts';
import type { Login, RunningMosquitto } from '../broker/support.ts';
import { createTestDatabase } from '../store/test-database.ts';
import type { TestDatabase } from '../store/test-database.ts';
import { lanInterfaces, ScriptedRouter } from './scripted-router.ts';

const LOGINS: Login[] = [
  { user: 'srv-1', kind: 'server', password: 'srv-1-secret' },
  { user: 'srv-2', kind: 'server', password: 'srv-2-secret' },
  { user: 'rtA', kind: 'device', password: 'rtA-secret' },
  { user: 'rtB', kind: 'device', password: 'rtB-secret' },
];

interface Instance {
  server: QosServer;
  store: Store;
  bus: Bus;
  base: string;
  /** Uplink messages this instance's subscription delivered. */
  uplink: number;
}

function call(callId: string, port: number): SessionAddBody {
  return {
    callId,
    caller: { source: '203.0.113.1' },
    callee: { source: '198.51.100.1' },
    media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port }, answer: { address: '198.18.20.20', port: port + 1000 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
  };
}

describe('two server instances: shared subscriptions on Mosquitto, state in PostgreSQL', () => {
  const temp = makeTempDir('scale-out');
  let mosquitto: RunningMosquitto;
  let database: TestDatabase;
  const instances: Instance[] = [];
  const routers = [new ScriptedRouter('rtA'), new ScriptedRouter('rtB')];

  async function startInstance(id: string): Promise<Instance> {
    const store = await openStore(database.url);
    await store.migrate();
    const client = await connectServerMqtt({ url: `mqtt://127.0.0.1:${mosquitto.port}`, clientId: id, username: id, password: `${id}-secret`, shareGroup: 'callqos', log: { info: () => {}, warn: () => {} } });
    expect(client.sharedSubscriptions).toBe(true);
    const instance = { store, base: '', uplink: 0 } as Instance;
    // Counts what the broker hands this instance on the routers' uplinks.
    instance.bus = {
      publish: (topic, text, options) => client.publish(topic, text, options),
      subscribe: (filter, onMessage) => client.subscribe(filter, (topic, text) => {
        if (topic.endsWith('/up')) instance.uplink += 1;
        onMessage(topic, text);
      }),
      onReconnect: (listener) => client.onReconnect(listener),
      close: () => client.close(),
    };
    const config = { ...DEFAULT_CONFIG, serverId: id, httpPort: 0, decisionDeadlineMs: 3000, removalDeadlineMs: 3000 };
    instance.server = new QosServer({ config, store, bus: instance.bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger(() => {}, 'error') });
    const { http } = await instance.server.start();
    instance.base = `http://127.0.0.1:${http!.port}`;
    return instance;
  }

  const api = async (instance: Instance, method: string, path: string, body?: unknown): Promise<SessionStateBody> =>
    (await fetch(`${instance.base}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) })).json() as Promise<SessionStateBody>;

  beforeAll(async () => {
    database = await createTestDatabase('scaleout');
    mosquitto = await startMosquitto(temp.path, LOGINS);
    instances.push(await startInstance('srv-1'), await startInstance('srv-2'));
    await routers[0]!.connect(`mqtt://127.0.0.1:${mosquitto.port}`, 'rtA-secret');
    await routers[1]!.connect(`mqtt://127.0.0.1:${mosquitto.port}`, 'rtB-secret');
    await routers[0]!.open(lanInterfaces('192.168.1.1', '2001:db8:a:1::1', '203.0.113.1'));
    await routers[1]!.open(lanInterfaces('198.18.20.1', '2001:db8:b:1::1', '198.51.100.1'));
    // Each instance reads the reports from the database, whichever instance stored them.
    const stored = async () => (await instances[0]!.store.listDevices()).every((d) => d.interfacesVersion !== null);
    for (const end = Date.now() + 5000; !(await stored()); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > end) throw new Error('interface reports not stored');
    }
    for (const i of instances) await i.server.index.refresh();
  }, 30_000);

  afterAll(async () => {
    for (const r of routers) await r.close();
    for (const i of instances) {
      await i.server.stop();
      await i.bus.close();
      await i.store.close();
    }
    await mosquitto?.stop();
    await database?.drop();
    temp.remove();
  });

  it('turns sessions asked of either instance active, each router message handled by one instance exactly once', async () => {
    for (let n = 0; n < 20; n += 1) {
      const state = await api(instances[n % 2]!, 'POST', '/v1/sessions', call(`share-${n}@lab`, 42000 + n));
      expect(state, JSON.stringify(state)).toMatchObject({ state: 'active' });
      expect(state.lines[0]!.gates.map((g) => g.device).sort()).toEqual(['rtA', 'rtB']);
    }
    const sent = routers.reduce((sum, r) => sum + r.seq, 0);
    await new Promise((r) => setTimeout(r, 200));
    const [one, two] = [instances[0]!.uplink, instances[1]!.uplink];
    console.log(`uplink messages: ${sent} sent by the routers, ${one} handled by srv-1, ${two} by srv-2`);
    expect(one + two).toBe(sent);
    expect(one).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
  });

  it('carries on alone when one instance stops, ending the calls the other set up', async () => {
    const gone = instances.shift()!;
    await gone.server.stop();
    await gone.bus.close();
    await gone.store.close();
    const left = instances[0]!;
    for (let n = 0; n < 20; n += 1) {
      const ended = await api(left, 'DELETE', `/v1/sessions/${encodeURIComponent(`share-${n}@lab`)}`);
      expect(['ending', 'ended']).toContain(ended.state);
    }
    const deadline = Date.now() + 5000;
    while ((await left.store.listSessions({ state: 'ended' })).length < 20) {
      if (Date.now() > deadline) throw new Error(`not ended: ${JSON.stringify(await left.store.listSessions({ state: 'ending' }))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(routers[0]!.gates.size + routers[1]!.gates.size).toBe(0);
    expect(await api(left, 'POST', '/v1/sessions', call('after@lab', 43000))).toMatchObject({ state: 'active' });
  });
});
