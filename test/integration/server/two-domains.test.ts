/**
 * A call between two policy domains, in-process: domain A's broker carries router A, A's QoS
 * server and the clearinghouse; domain B's broker carries router B and B's server. The brokers
 * share exactly A's requests to B's server (`cc/qos-a/…`) and B's exchange with the clearinghouse
 * (`ch/qos-b/…`): once through two embedded brokers and a relay, once through two Mosquittos and
 * a Mosquitto bridge as an operator would configure it; and once on one Mosquitto both domains
 * share, each domain's routers and server in the domain's own topic tree (`--topic-tree domain`,
 * the agent's `domain` option), with a bystander server of a third domain on the same broker that
 * must see none of it. A call asked of A's
 * server is authorized by the clearinghouse for both domains, installed by A on router A and by
 * B (asked by A, with A's token, verified locally) on router B; it is active only when both are;
 * deleting it removes both ends, and each domain reports its own end's usage on the one
 * transaction, which settles with A paying B.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPECTED_WITHIN_MS, until as waitUntil } from '../../support/wait.ts';
import { startEmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { generateSigningKey, loadPublicKeys } from '../../../src/cloud/clearinghouse/keys.ts';
import { startClearinghouse, type ClearinghouseNode } from '../../../src/cloud/clearinghouse/node.ts';
import { parsePolicy } from '../../../src/cloud/clearinghouse/policy.ts';
import { openClearinghouseStore, type ClearinghouseStore } from '../../../src/cloud/clearinghouse/store/index.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG, parsePeer, type ServerConfig } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { SessionAddBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import { domainRoot } from '../../../src/core/protocol/topics.ts';
import { makeTempDir } from '../../support/temp.ts';
import { lanInterfaces, ScriptedRouter } from './scripted-router.ts';
import { freePort, MOSQUITTO } from '../broker/support.ts';

/** The brokers of the two domains, once they are up and joined. */
interface BrokerPair {
  readonly urls: { a: string; b: string };
  /** `domain`: one broker the domains share, each in its own topic tree. */
  readonly topicTree: ServerConfig['topicTree'];
  close(): Promise<void>;
}

/** Topics that cross between the domains, as Mosquitto bridge lines on broker A's side. */
const BRIDGED = ['callqos/v1/cc/qos-a/req out 1', 'callqos/v1/cc/qos-a/res in 1', 'callqos/v1/ch/qos-b/req in 1', 'callqos/v1/ch/qos-b/res out 1'];

async function embeddedWithRelay(): Promise<BrokerPair> {
  const a = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
  const b = await startEmbeddedBroker({ port: 0, credentials: 'open', log: quiet });
  const urls = { a: `mqtt://127.0.0.1:${a.port}`, b: `mqtt://127.0.0.1:${b.port}` };
  const clients: mqtt.MqttClient[] = [];
  // Forwards in flight, awaited before the relay's clients end; one that failed fails the close.
  const forwarding = new Set<Promise<unknown>>();
  const failures: unknown[] = [];
  let closing = false;
  /** Forwards what is published on `from` under these topics to `to`, as a bridge would. */
  const relay = async (from: string, to: string, topics: string[]) => {
    const source = await mqtt.connectAsync(from, { clientId: `relay-${clients.length}`, protocolVersion: 4 });
    const target = await mqtt.connectAsync(to, { clientId: `relay-${clients.length}-out`, protocolVersion: 4 });
    source.on('message', (topic, payload) => {
      if (closing) return;
      const forward = target.publishAsync(topic, payload, { qos: 1 });
      forwarding.add(forward);
      forward.then(
        () => forwarding.delete(forward),
        (error: unknown) => {
          forwarding.delete(forward);
          failures.push(error);
        },
      );
    });
    for (const t of topics) await source.subscribeAsync(t, { qos: 1 });
    clients.push(source, target);
  };
  const topics = (way: string) => BRIDGED.filter((l) => l.split(' ')[1] === way).map((l) => l.split(' ')[0]!);
  await relay(urls.a, urls.b, topics('out'));
  await relay(urls.b, urls.a, topics('in'));
  return {
    urls,
    topicTree: 'plain',
    close: async () => {
      closing = true;
      await Promise.allSettled([...forwarding]);
      for (const c of clients) await c.endAsync(true);
      if (failures.length > 0) throw new Error(`the relay failed to forward ${failures.length} message(s): ${String(failures[0])}`);
      await a.close();
      await b.close();
    },
  };
}

/** Mosquittos started from config lines, each ready when its log says so; stopped together. */
function mosquittos(dir: string) {
  const running: { child: ChildProcess; log: string }[] = [];
  return {
    async start(name: string, port: number, extra: string[], ready: (log: string) => boolean): Promise<void> {
      const conf = join(dir, `${name}.conf`);
      writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', 'persistence false', `user ${userInfo().username}`, 'log_dest stderr', 'log_type all', ...extra, ''].join('\n'));
      const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      const proc = { child, log: '' };
      child.stderr!.on('data', (d: Buffer) => (proc.log += d.toString()));
      running.push(proc);
      for (const end = Date.now() + 10_000; !ready(proc.log); ) {
        if (child.exitCode !== null || Date.now() > end) throw new Error(`mosquitto ${name}: ${proc.log}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close(): Promise<void> {
      for (const p of running.reverse()) {
        p.child.kill();
        await new Promise((r) => p.child.once('exit', r));
      }
    },
  };
}

async function mosquittoBridge(dir: string): Promise<BrokerPair> {
  const brokers = mosquittos(dir);
  const [portA, portB] = [await freePort(), await freePort()];
  await brokers.start('b', portB, [], (log) => log.includes(`listen socket on port ${portB}`));
  // Domain A's broker bridges to B's: only the topics the domains share cross.
  await brokers.start('a', portA, ['connection domain-b', `address 127.0.0.1:${portB}`, 'cleansession true', ...BRIDGED.map((t) => `topic ${t}`)],
    // Joined once the far broker took the bridge's two subscriptions (the "in" topics).
    (log) => log.split('Received SUBACK from').length - 1 >= 2);
  const urls = { a: `mqtt://127.0.0.1:${portA}`, b: `mqtt://127.0.0.1:${portB}` };
  return { urls, topicTree: 'plain', close: () => brokers.close() };
}

async function sharedMosquitto(dir: string): Promise<BrokerPair> {
  const brokers = mosquittos(dir);
  const port = await freePort();
  await brokers.start('shared', port, [], (log) => log.includes(`listen socket on port ${port}`));
  const url = `mqtt://127.0.0.1:${port}`;
  return { urls: { a: url, b: url }, topicTree: 'domain', close: () => brokers.close() };
}

const quiet = { info: () => {}, warn: () => {} };

describe.each([
  ['two embedded brokers joined by a relay', () => embeddedWithRelay()],
  ['two Mosquittos joined by a Mosquitto bridge', (dir: string) => mosquittoBridge(dir)],
  ['one Mosquitto both domains share, each in its own topic tree', (dir: string) => sharedMosquitto(dir)],
] as const)('a call between two policy domains (%s, SQLite, scripted routers)', (_name, brokers) => {
  const temp = makeTempDir('two-domains');
  let pair: BrokerPair;
  let chStore: ClearinghouseStore;
  let clearinghouse: ClearinghouseNode;
  const servers: { server: QosServer; store: Store; base: string }[] = [];
  const logs: string[] = [];
  let rtA = new ScriptedRouter('rtA');
  let rtB = new ScriptedRouter('rtB');
  /** On a shared broker: every topic anything was published on. */
  const bystanderSaw: string[] = [];
  servers.length = 0;

  async function startServer(id: string, domain: string, url: string, peers: string[]): Promise<void> {
    const store = await openStore(`sqlite:${join(temp.path, `${id}.db`)}`);
    await store.migrate();
    const bus = await connectServerMqtt({ url, clientId: id, log: quiet });
    const config: ServerConfig = {
      ...DEFAULT_CONFIG, serverId: id, domain, topicTree: pair.topicTree, httpPort: 0, authorization: 'required', clearinghouseTimeoutMs: 1000, decisionDeadlineMs: 1500, removalDeadlineMs: 1500,
      peers: peers.map((p) => {
        const parsed = parsePeer(p);
        if (!parsed.ok) throw new Error(parsed.error.message);
        return parsed.value;
      }),
    };
    const server = new QosServer({ config, store, bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger((l) => logs.push(`${id} ${l}`), 'debug'), verifierFor: loadPublicKeys(join(temp.path, 'ch-keys.json')) });
    const { http } = await server.start();
    servers.push({ server, store, base: `http://127.0.0.1:${http!.port}` });
  }

  /** On a shared broker, a listener to everything: what crosses the domains' trees. */
  async function startBystander(url: string): Promise<void> {
    bystanderBus = await connectServerMqtt({ url, clientId: 'bystander', log: quiet });
    await bystanderBus.subscribe('#', (topic) => bystanderSaw.push(topic));
  }
  let bystanderBus: Awaited<ReturnType<typeof connectServerMqtt>> | null = null;

  const call: SessionAddBody = {
    callId: 'inter-1@a',
    caller: { source: '203.0.113.1', uri: 'sip:alice@a.example' },
    callee: { source: '198.51.100.1', uri: 'sip:bob@b.example' },
    media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port: 41000 }, answer: { address: '198.18.20.20', port: 51000 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
  };
  const http = async (base: string, method: string, path: string, body?: unknown): Promise<SessionStateBody> =>
    (await fetch(`${base}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })).json() as Promise<SessionStateBody>;
  const until = (what: () => Promise<boolean>) => waitUntil(what, 'condition', EXPECTED_WITHIN_MS, () => logs.slice(-15).join('\n'));

  beforeAll(async () => {
    pair = await brokers(temp.path);

    const key = generateSigningKey('ch-1', join(temp.path, 'ch.pem'), join(temp.path, 'ch-keys.json'));
    chStore = openClearinghouseStore(`sqlite:${join(temp.path, 'ch.db')}`);
    await chStore.migrate();
    const policy = parsePolicy({ domains: [{ id: 'domain-a', clients: ['qos-a'], peers: ['domain-b'] }, { id: 'domain-b', clients: ['qos-b'], peers: ['domain-a'] }] });
    clearinghouse = await startClearinghouse({ id: 'ch-1', bus: await connectServerMqtt({ url: pair.urls.a, clientId: 'ch-1', log: quiet }), store: chStore, key, policy, log: createLogger(() => {}, "error") });

    await startServer('qos-a', 'domain-a', pair.urls.a, ['domain-b=qos-b@198.18.20.0/24,2001:db8:b::/48']);
    await startServer('qos-b', 'domain-b', pair.urls.b, []);
    if (pair.topicTree === 'domain') {
      rtA = new ScriptedRouter('rtA', 1, domainRoot('domain-a'));
      rtB = new ScriptedRouter('rtB', 1, domainRoot('domain-b'));
      await startBystander(pair.urls.a);
    }
    await rtA.connect(pair.urls.a);
    await rtB.connect(pair.urls.b);
    await rtA.open(lanInterfaces('192.168.1.1', '2001:db8:a:1::1', '203.0.113.1'));
    await rtB.open(lanInterfaces('198.18.20.1', '2001:db8:b:1::1', '198.51.100.1'));
    for (const [router, up, down] of [[rtA, 400, 390], [rtB, 390, 398]] as const) {
      router.removalUsage = () => ({ up: { packets: up, bytes: up * 172 }, down: { packets: down, bytes: down * 172 } });
    }
  });

  afterAll(async () => {
    await rtA.close();
    await rtB.close();
    for (const { server, store } of servers) {
      await server.stop();
      await store.close();
    }
    await bystanderBus?.close();
    await clearinghouse.stop();
    await chStore.close();
    await pair.close();
    temp.remove();
  });

  it('installs each end through its own domain\'s server, and answers active only when both are', async () => {
    const [a, b] = servers;
    const state = await http(a!.base, 'POST', '/v1/sessions', call);
    expect(state).toMatchObject({ state: 'active', reason: null });
    expect([...rtA.gates.values()].map((g) => g.lan.port)).toEqual([41000]);
    expect([...rtB.gates.values()].map((g) => g.lan.port)).toEqual([51000]);
    // B took it as a call-control request from A, with A's token: authorized without asking again.
    expect(await b!.store.getAuthorization('inter-1@a')).toMatchObject({ source: 'token' });
    const authA = await a!.store.getAuthorization('inter-1@a');
    expect(authA).toMatchObject({ source: 'clearinghouse' });
    expect((await b!.store.getAuthorization('inter-1@a'))!.transactionId).toBe(authA!.transactionId);
    expect(await chStore.getTransaction(authA!.transactionId)).toMatchObject({ domain: 'domain-a', destinationDomain: 'domain-b' });
    // Each router is known only to its own domain's server.
    expect(await a!.store.getDevice('rtB')).toBeNull();
    expect(await b!.store.getDevice('rtA')).toBeNull();
    if (pair.topicTree === 'domain') {
      // Nothing outside the two domains' trees but the clearinghouse's; each router only in its own domain's.
      expect(bystanderSaw.length).toBeGreaterThan(0);
      expect(bystanderSaw.filter((t) => !/^(domain-a\/callqos\/v1\/|domain-b\/callqos\/v1\/|callqos\/v1\/ch\/)/.test(t))).toEqual([]);
      expect(bystanderSaw.filter((t) => (t.includes('/dev/rtA/') && !t.startsWith('domain-a/')) || (t.includes('/dev/rtB/') && !t.startsWith('domain-b/')))).toEqual([]);
      // A asked B in B's tree.
      expect(bystanderSaw).toContain('domain-b/callqos/v1/cc/qos-a/req');
    }
  });

  it('ends both ends on delete, and both domains report their usage on the one transaction, settled A to B', async () => {
    const [a] = servers;
    const transaction = (await a!.store.getAuthorization('inter-1@a'))!.transactionId;
    await http(a!.base, 'DELETE', `/v1/sessions/${encodeURIComponent('inter-1@a')}`, { callId: 'inter-1@a', releasedBy: 'caller', sipStatus: 200, reason: 'BYE' });
    await until(async () => rtA.gates.size === 0 && rtB.gates.size === 0);
    await until(async () => (await chStore.getCdr(transaction, 'source')) !== null && (await chStore.getCdr(transaction, 'destination')) !== null);
    const source = (await chStore.getCdr(transaction, 'source'))!;
    const destination = (await chStore.getCdr(transaction, 'destination'))!;
    // Each end saw its own router only: A the caller's side, B the callee's.
    expect(source.flows).toEqual([
      { line: 0, direction: 'forward', packets: 400, bytes: 400 * 172, lost: null },
      { line: 0, direction: 'reverse', packets: 390, bytes: 390 * 172, lost: null },
    ]);
    expect(destination.flows).toEqual([
      { line: 0, direction: 'forward', packets: 398, bytes: 398 * 172, lost: null },
      { line: 0, direction: 'reverse', packets: 390, bytes: 390 * 172, lost: null },
    ]);
    expect(source.releasedBy).toBe('caller');
    const lines = await clearinghouse.service.settlement(0, Date.now() + 60_000);
    expect(lines).toEqual([expect.objectContaining({ payer: 'domain-a', payee: 'domain-b', calls: 1 })]);
  });

  it('passes a deletion on to the peer after A restarted, from the call as stored', async () => {
    const media = { ...call.media[0]!, offer: { address: '192.168.1.20', port: 43000 }, answer: { address: '198.18.20.20', port: 53000 } };
    expect(await http(servers[0]!.base, 'POST', '/v1/sessions', { ...call, callId: 'inter-3@a', media: [media] })).toMatchObject({ state: 'active' });
    expect([...rtB.gates.values()].map((g) => g.lan.port)).toEqual([53000]);
    // A restarts: what it remembered of its peers is gone, the store is not.
    const [old] = servers.splice(0, 1);
    await old!.server.stop();
    await old!.store.close();
    await startServer('qos-a', 'domain-a', pair.urls.a, ['domain-b=qos-b@198.18.20.0/24,2001:db8:b::/48']);
    const restarted = servers.at(-1)!;
    servers.splice(servers.length - 1, 1);
    servers.unshift(restarted);
    await http(restarted.base, 'DELETE', `/v1/sessions/${encodeURIComponent('inter-3@a')}`, { callId: 'inter-3@a', releasedBy: 'callee', sipStatus: 200, reason: 'BYE' });
    await until(async () => rtA.gates.size === 0 && rtB.gates.size === 0);
  });

  it('answers failed, naming the peer domain, when the peer cannot install its end; the local end is rolled back by the delete', async () => {
    const [a] = servers;
    rtB.mode = 'fail';
    try {
      const state = await http(a!.base, 'POST', '/v1/sessions', { ...call, callId: 'inter-2@a', media: [{ ...call.media[0]!, offer: { address: '192.168.1.20', port: 42000 }, answer: { address: '198.18.20.20', port: 52000 } }] });
      expect(state.state).toBe('failed');
      expect(state.reason).toMatch(/^E_PEER: peer domain domain-b: failed/);
    } finally {
      rtB.mode = 'succeed';
    }
    await http(a!.base, 'DELETE', `/v1/sessions/${encodeURIComponent('inter-2@a')}`, { callId: 'inter-2@a' });
    await until(async () => rtA.gates.size === 0);
  });
});
