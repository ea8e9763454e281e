// Remote commands end to end: the real QoS server with its fleet part (SQLite, embedded broker
// identities), the embedded broker checking logins from its credentials file, and the real agent
// (its Node bundle, `run --config`, with its real MQTT link through mosquitto_sub/mosquitto_pub)
// logged in with a saved enrolment login. nft and tc are stand-ins that answer the agent's
// questions; the agent's own gate state says what it installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeAgentBundle } from '../../../scripts/build.mjs';
import { hashPassword, loadCredentials, saveCredentials } from '../../../src/cloud/broker/credentials.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import type { Actor } from '../../../src/cloud/fleet/actions.ts';
import { createEmbeddedIdentities } from '../../../src/cloud/fleet/identities-embedded.ts';
import type { CommandRecord } from '../../../src/cloud/fleet/store/commands-sql.ts';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import type { FleetDevice, FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { SCHEMA_MARK } from '../../../src/core/dataplane/model.ts';
import type { SendCommandBody } from '../../../src/core/fleet/api-commands.ts';
import { createLogger } from '../../../src/core/log.ts';
import { repoRoot } from '../../support/bundles.ts';
import { makeTempDir } from '../../support/temp.ts';
import { sleep, until } from '../../support/wait.ts';
import { loginAs, routerPassword } from './enrolling-router.ts';
import { lanInterfaces, ScriptedRouter } from '../server/scripted-router.ts';
import type { SessionAddBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';

const BUNDLE = join(repoRoot, 'dist', 'test', 'fleet-commands', 'callqos-agent-node.mjs');
const UBUS_FIXTURES = join(repoRoot, 'test', 'fixtures', 'ubus');
const DEVICE = 'rtcmd';
const OLD_PASSWORD = routerPassword('old');
const SERVER_PASSWORD = 'server-password-for-this-test';
const operator: Actor = { name: 'operator:olga', domain: null };
const quiet = { info: () => {}, warn: () => {} };

// The table check lists the forward chain as JSON: answer with the agent's schema mark.
const FAKE_NFT = `#!/bin/sh
[ "$1" = monitor ] && exec sleep 2147483647
[ "$1" = -f ] && cat >/dev/null && exit 0
[ "$1" = -j ] && [ "$3" = chain ] && echo '{"nftables":[{"rule":{"family":"inet","table":"callqos","chain":"forward","comment":"${SCHEMA_MARK}"}}]}'
[ "$1" = list ] && [ "$2" = table ] && echo 'table inet callqos { # from the stand-in'
exit 0
`;
const FAKE_TC = `#!/bin/sh
[ "$1" = -s ] && echo "stand-in tc -s $2 show dev $5"
exit 0
`;

function fleetDevice(deviceId: string): FleetDevice {
  return {
    deviceId, hardwareId: `hw-${deviceId}`, group: 'g-cmd', name: deviceId, tags: [], site: null, state: 'accepted', stateReason: null, keyId: 'seedkey1', hostname: null,
    hardware: { model: 'Test Router', boardName: 'test,router', release: '23.05.3', target: 'x86/64', kernel: '5.15.150' },
    versions: { agent: '0.1.0', quickjs: '2021-03-27' },
    features: { cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '1.0.6' },
    sourceAddress: null, requestedAtMs: 1000, enrolledAtMs: 2000, updatedAtMs: 2000, enrolments: 1,
  };
}

describe('remote commands (real server, embedded broker, SQLite, the real agent)', () => {
  const temp = makeTempDir('fleet-commands');
  const credentialsFile = join(temp.path, 'credentials.jsonl');
  const credentialsDir = join(temp.path, 'router-credentials');
  const stateDir = join(temp.path, 'state');
  const configPath = join(temp.path, 'callqos');
  let broker: EmbeddedBroker;
  let store: Store;
  let fleet: FleetStore;
  let server: QosServer;
  let url = '';
  let http = '';
  let agent: ChildProcess | null = null;
  let agentLog = '';
  const serverLogs: string[] = [];
  const log = () => `${agentLog.slice(-3000)}\n--- server ---\n${serverLogs.slice(-20).join('\n')}`;
  const env: Record<string, string> = {};
  const routers: ScriptedRouter[] = [];

  const startAgent = () => {
    agentLog = '';
    const child = spawn(process.execPath, [BUNDLE, 'run', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent = child;
  };
  const agentExited = () => agent === null || agent.exitCode !== null || agent.signalCode !== null;

  const send = async (body: SendCommandBody, role: 'operator' | 'admin' = 'operator', device = DEVICE): Promise<CommandRecord> => {
    const sent = await server.commands!.submit(operator, role, device, body);
    if (!sent.ok) throw new Error(`${sent.error.code}: ${sent.error.message}`);
    return sent.value;
  };
  const finished = async (id: string, ms = 15_000): Promise<CommandRecord> => {
    await until(async () => ['succeeded', 'failed', 'timed-out', 'expired'].includes((await server.commands!.get(id))!.state), `command ${id} finished`, ms, log);
    return (await server.commands!.get(id))!;
  };
  const gatesOnRouter = async (): Promise<Array<{ id: string; source: string; lifetimeS: number | null }>> => {
    const done = await finished((await send({ name: 'gates' })).id);
    expect(done.state).toBe('succeeded');
    return (done.data as { gates: Array<{ id: string; source: string; lifetimeS: number | null }> }).gates;
  };

  beforeAll(async () => {
    saveCredentials(credentialsFile, new Map([['qos-server-1', { user: 'qos-server-1', kind: 'server', hash: hashPassword(SERVER_PASSWORD) }]]));
    broker = await startEmbeddedBroker({ port: 0, credentials: loadCredentials(credentialsFile), log: quiet });
    url = `mqtt://127.0.0.1:${broker.port}`;
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    fleet = openFleetStore(store);
    await fleet.migrate();
    const identities = createEmbeddedIdentities({ credentialsFile, broker });
    const bus = await connectServerMqtt({ url, clientId: 'qos-server-1', username: 'qos-server-1', password: SERVER_PASSWORD, protocolVersion: 4, log: quiet });
    server = new QosServer({
      config: { ...DEFAULT_CONFIG, httpPort: 0, decisionDeadlineMs: 5000, credentialsFile, identities: 'embedded' },
      store,
      bus,
      planner: controlPlanner(),
      admit: admissionCheck,
      log: createLogger((l) => serverLogs.push(l), 'debug'),
      fleet: { store: fleet, identities },
    });
    const started = await server.start();
    http = `http://127.0.0.1:${started.http!.port}`;
    // The router as enrolment left it: accepted, its login on the broker and saved on the router.
    const group = await server.fleetActions!.createGroup({ name: 'operator:root', domain: null }, { id: 'g-cmd', name: 'commands', domain: null, enrolPolicy: 'auto', reenrolPolicy: 'replace' });
    if (!group.ok) throw new Error(group.error.message);
    for (const id of [DEVICE, 'rtnever']) await fleet.putFleetDevice(fleetDevice(id));
    for (const [id, pw] of [[DEVICE, OLD_PASSWORD], ['rtfar', routerPassword('far')]] as const) {
      const login = await identities.upsertDevice(id, pw);
      if (!login.ok) throw new Error(login.error.message);
    }
    mkdirSync(credentialsDir, { recursive: true });
    writeFileSync(join(credentialsDir, 'enrolled-password'), `${OLD_PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(credentialsDir, 'enrolled.json'), `${JSON.stringify({ deviceId: DEVICE, username: DEVICE, hardwareId: `hw-${DEVICE}`, broker: '127.0.0.1', enrolledAtMs: 2000 })}\n`, { mode: 0o600 });
    // The router's system: nft and tc stand-ins, ubus fixtures, its UCI config (no login by hand).
    const bin = join(temp.path, 'bin');
    const ubus = join(temp.path, 'ubus');
    mkdirSync(bin, { recursive: true });
    mkdirSync(ubus, { recursive: true });
    for (const [name, script] of [['nft', FAKE_NFT], ['tc', FAKE_TC]] as const) {
      writeFileSync(join(bin, name), script);
      chmodSync(join(bin, name), 0o755);
    }
    writeFileSync(join(ubus, 'board'), 'board.json');
    writeFileSync(join(ubus, 'dump'), 'dump-dual-stack.json');
    writeFileSync(configPath, [
      "config agent 'agent'", `\toption state_dir '${stateDir}'`,
      "config qos 'qos'", "\toption uplink_kbit '20000'", "\toption downlink_kbit '100000'", "\toption wan_device 'wan'", "\toption lan_device 'br-lan'",
      "config cloud 'cloud'", "\toption enabled '1'", "\toption broker '127.0.0.1'", `\toption port '${broker.port}'`, "\toption tls '0'", "\toption keepalive_s '30'",
      `\toption credentials_dir '${credentialsDir}'`, '',
    ].join('\n'));
    Object.assign(env, { PATH: [bin, join(UBUS_FIXTURES, 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(':'), CALLQOS_FAKE_UBUS: ubus });
    await buildNodeAgentBundle(BUNDLE);
  }, 120_000);

  afterAll(async () => {
    for (const r of routers.splice(0)) await r.close().catch(() => {});
    if (agent && !agentExited()) {
      const exited = new Promise<void>((resolve) => agent!.once('exit', () => resolve()));
      agent.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    await store?.close();
    await broker?.close();
    temp.remove();
  });

  it('a command to an offline router waits, and goes out when the router comes back: status answered', async () => {
    const queued = await send({ name: 'status', deadlineS: 60 });
    expect(queued.state).toBe('queued');
    await sleep(1500);
    expect((await server.commands!.get(queued.id))!.state).toBe('queued');
    startAgent();
    const done = await finished(queued.id, 30_000);
    expect(done.state, JSON.stringify(done)).toBe('succeeded');
    expect(done.sentAtMs).not.toBeNull();
    expect(done.data).toMatchObject({ running: true, version: expect.any(String) });
    const audit = await fleet.listAudit({ limit: 50, target: `device:${DEVICE}` });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['command.status', 'command.status.succeeded']));
    expect(audit.find((a) => a.action === 'command.status')).toMatchObject({ actor: 'operator:olga', after: { command: queued.id, args: {} } });
  }, 60_000);

  it('answers gates with the router\'s gate list', async () => {
    expect(Array.isArray(await gatesOnRouter())).toBe(true);
  });

  it('a command for a router that stays offline expires at its deadline', async () => {
    const queued = await send({ name: 'status', deadlineS: 5 }, 'operator', 'rtnever');
    expect(queued.state).toBe('queued');
    const done = await finished(queued.id, 15_000);
    expect(done).toMatchObject({ state: 'expired', sentAtMs: null, error: { code: 'E_EXPIRED' } });
    expect((await fleet.listAudit({ limit: 10, target: 'device:rtnever' })).map((a) => a.action)).toContain('command.status.expired');
  });

  it('bad arguments are refused by the router, naming the argument', async () => {
    const bad = await finished((await send({ name: 'test-gate', args: { lanAddress: '192.168.1.20; flush ruleset', lanPort: '4000', direction: 'both', seconds: '30' } })).id);
    expect(bad).toMatchObject({ state: 'failed', error: { code: 'E_ARG' } });
    expect(bad.error!.message).toMatch(/^argument lanAddress: /);
    const part = await finished((await send({ name: 'diagnostics', args: { page: '2' } })).id);
    expect(part).toMatchObject({ state: 'failed', error: { code: 'E_ARG', message: 'argument page: diagnostics takes part' } });
    // Refused by the server before anything is sent: an operator may not rotate credentials.
    expect(await server.commands!.submit(operator, 'operator', DEVICE, { name: 'rotate-credentials' })).toMatchObject({ ok: false, error: { code: 'E_FORBIDDEN' } });
  });

  it('test-gate installs a local gate for its lifetime, then it ends', async () => {
    const done = await finished((await send({ name: 'test-gate', args: { lanAddress: '192.168.1.20', lanPort: '4000', remoteAddress: '198.51.100.7', remotePort: '5004', direction: 'both', seconds: '10' } })).id);
    expect(done.state, JSON.stringify(done)).toBe('succeeded');
    const id = (done.data as { id: string }).id;
    expect(await gatesOnRouter()).toEqual(expect.arrayContaining([expect.objectContaining({ id, source: 'local', lifetimeS: 10 })]));
    await until(async () => !(await gatesOnRouter()).some((g) => g.id === id), 'the test gate ends with its lifetime', 20_000, log);
  }, 40_000);

  it('diagnostics: every part fetched and kept together', async () => {
    const done = await finished((await send({ name: 'diagnostics' })).id, 30_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const parts = (done.data as { parts: Array<{ part: number; name: string; text: string }> }).parts;
    expect(parts.map((p) => p.part)).toEqual(parts.map((_, i) => i));
    expect(parts.map((p) => p.name)).toEqual([
      'rendered ruleset', 'nft list table inet callqos', 'tc -s qdisc show dev wan', 'tc -s class show dev wan',
      'tc -s qdisc show dev br-lan', 'tc -s class show dev br-lan', 'agent log', 'ubus call network.interface dump',
    ]);
    expect(parts[0]!.text).toContain('table inet callqos');
    expect(parts[1]!.text).toContain('from the stand-in');
    expect(parts[2]!.text).toContain('stand-in tc -s qdisc show dev wan');
    expect(parts[6]!.text).toContain('cloud session accepted');
    expect(parts[7]!.text).toContain('"interface"');
  }, 40_000);

  it('rotate-credentials: the router logs in with its new password, the old one is refused, an active call\'s gates stay', async () => {
    // A call between a host behind the agent's router (its LAN 192.168.1.0/24, WAN 203.0.113.45)
    // and one behind a scripted far router.
    const far = new ScriptedRouter('rtfar');
    await far.connect(url, routerPassword('far'));
    routers.push(far);
    await far.open(lanInterfaces('198.18.41.1', '2001:db8:42:1::1', '198.51.100.41'));
    const call: SessionAddBody = {
      callId: 'rotate-call@lab',
      caller: { source: '203.0.113.45' },
      callee: { source: '198.51.100.41' },
      media: [{ line: 0, type: 'audio', offer: { address: '192.168.1.20', port: 40000 }, answer: { address: '198.18.41.20', port: 41000 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
      wait: true,
    };
    const state = (await (await fetch(`${http}/v1/sessions`, { method: 'POST', body: JSON.stringify(call) })).json()) as SessionStateBody;
    expect(state, JSON.stringify(state)).toMatchObject({ state: 'active' });
    const callGates = (await gatesOnRouter()).filter((g) => g.source === 'cloud').map((g) => g.id);
    expect(callGates.length).toBeGreaterThan(0);
    const held = await finished((await send({ name: 'test-gate', args: { lanAddress: '192.168.1.21', lanPort: '4100', direction: 'both', seconds: '600' } })).id);
    const heldId = (held.data as { id: string }).id;
    const opensBefore = (await store.getDevice(DEVICE))!.statusAtMs;
    const logFrom = agentLog.length;
    const rotated = await finished((await send({ name: 'rotate-credentials', deadlineS: 60 }, 'admin')).id, 60_000);
    expect(rotated.state, JSON.stringify(rotated.error)).toBe('succeeded');
    // The password went to the broker and the router, never into the store.
    expect(JSON.stringify(rotated.data)).not.toMatch(/password/i);
    await until(() => !existsSync(join(credentialsDir, 'rotating-password')), 'the new password made current on the router', 15_000, log);
    const current = readFileSync(join(credentialsDir, 'enrolled-password'), 'utf8').trim();
    expect(current).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(current).not.toBe(OLD_PASSWORD);
    const old = await loginAs(url, DEVICE, OLD_PASSWORD);
    expect(typeof old).toBe('string');
    const fresh = await loginAs(url, DEVICE, current);
    expect(typeof fresh).not.toBe('string');
    await (fresh as MqttClient).endAsync();
    // The router is back on its new login (answers commands) and its gates are as they were.
    expect((await store.getDevice(DEVICE))!.statusAtMs).toBeGreaterThanOrEqual(opensBefore);
    expect((await gatesOnRouter()).map((g) => g.id)).toEqual(expect.arrayContaining([heldId, ...callGates]));
    const after = (await (await fetch(`${http}/v1/sessions/${encodeURIComponent('rotate-call@lab')}`)).json()) as SessionStateBody;
    expect(after.state).toBe('active');
    expect(far.gates.size).toBeGreaterThan(0);
    // The link went down and came back; no gate ended meanwhile.
    const during = agentLog.slice(logFrom);
    expect(during).toMatch(/restarting both|refused/);
    expect(during).not.toMatch(/gate removed|gate dropped|gate expired/);
  }, 90_000);

  it('restart: answered, then the agent stops for procd to start it again', async () => {
    const done = await finished((await send({ name: 'restart' })).id);
    expect(done).toMatchObject({ state: 'succeeded', data: { restarting: true } });
    await until(agentExited, 'the agent stopped', 15_000, log);
    expect(agent!.exitCode).toBe(0);
  }, 30_000);
});
