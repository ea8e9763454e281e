/**
 * Fleet configuration end to end with both real sides: the real QoS server with its fleet part
 * (configuration service, SQLite, the embedded broker checking logins) and the real agent (its
 * Node bundle, `run --config`, with a hand-made login in its own `cloud` section; nft and tc are
 * stand-ins that answer the self-test, test/integration/config/config-rig.ts).
 *
 * The server's versions carry no `cloud` section: a group template that changes
 * ef_budget_percent must be applied with the router's own `cloud` section kept, its link never
 * dropped (no relink), no drift; then a local edit is drift, cloud-wins sends the desired sections
 * again as a new version, and the router applies that one too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeAgentBundle } from '../../../scripts/build.mjs';
import { hashPassword, loadCredentials, saveCredentials, type CredentialEntry } from '../../../src/cloud/broker/credentials.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import type { Actor } from '../../../src/cloud/fleet/actions.ts';
import type { ConfigService } from '../../../src/cloud/fleet/config-service.ts';
import { createEmbeddedIdentities } from '../../../src/cloud/fleet/identities-embedded.ts';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import type { FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { configHashOf } from '../../../src/core/fleet/config-version.ts';
import { sectionsOfFile } from '../../../src/core/fleet/router/config-file.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { ConfigSection } from '../../../src/core/protocol/messages/config.ts';
import { repoRoot } from '../../support/bundles.ts';
import { makeTempDir } from '../../support/temp.ts';
import { sleep, until } from '../../support/wait.ts';
import { writeRouterFiles, type RouterFiles } from '../config/config-rig.ts';

const BUNDLE = join(repoRoot, 'dist', 'test', 'fleet-config-agent', 'callqos-agent-node.mjs');
const quiet = { info: () => {}, warn: () => {} };
const operator: Actor = { name: 'operator:alice', domain: null };
const DEVICE = 'rt-real';
const GROUP = 'office';
const SERVER_PASSWORD = 'server-password-for-this-test';
const DEVICE_PASSWORD = 'device-password-for-this-test';
const T0 = 1_800_000_000_000;

const cloudOf = (list: readonly ConfigSection[]) => list.filter((s) => s.type === 'cloud');

describe('fleet configuration: the real server and the real agent', () => {
  const temp = makeTempDir('fleet-config-agent');
  const credentialsFile = join(temp.path, 'credentials.jsonl');
  let broker: EmbeddedBroker;
  let store: Store;
  let fleet: FleetStore;
  let server: QosServer;
  let config: ConfigService;
  let router: RouterFiles;
  let agent: ChildProcess;
  let agentLog = '';
  let routerCloud: ConfigSection[] = [];
  const log = () => agentLog.slice(-4000);
  const fileSections = () => sectionsOfFile(readFileSync(router.configPath, 'utf8'))!;
  const linkStarts = () => agentLog.split('cloud link starting').length - 1;
  const status = async () => {
    const got = await config.deviceConfig(operator, DEVICE);
    if (!got.ok) throw new Error(got.error.message);
    return got.value;
  };

  beforeAll(async () => {
    saveCredentials(credentialsFile, new Map<string, CredentialEntry>([
      ['qos-server-1', { user: 'qos-server-1', kind: 'server', hash: hashPassword(SERVER_PASSWORD) }],
      [DEVICE, { user: DEVICE, kind: 'device', hash: hashPassword(DEVICE_PASSWORD) }],
    ]));
    broker = await startEmbeddedBroker({ port: 0, credentials: loadCredentials(credentialsFile), log: quiet });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    fleet = openFleetStore(store);
    await fleet.migrate();
    const bus = await connectServerMqtt({ url, clientId: 'qos-server-1', username: 'qos-server-1', password: SERVER_PASSWORD, protocolVersion: 4, log: quiet });
    server = new QosServer({
      config: { ...DEFAULT_CONFIG, httpPort: null, credentialsFile, identities: 'embedded' },
      store, bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger(() => {}, 'debug'),
      fleet: { store: fleet, identities: createEmbeddedIdentities({ credentialsFile, broker }) },
    });
    await server.start();
    config = server.fleetConfig!;
    await fleet.putGroup({ id: GROUP, name: GROUP, domain: null, enrolPolicy: 'auto', reenrolPolicy: 'replace', createdAtMs: T0 });
    await fleet.putFleetDevice({
      deviceId: DEVICE, hardwareId: `hw-${DEVICE}`, group: GROUP, name: DEVICE, tags: [], site: null, state: 'accepted', stateReason: null, keyId: 'k1', hostname: null,
      hardware: { model: 'Lab', boardName: 'lab', release: '23.05.3', target: 'x86/64', kernel: '5.15' },
      versions: { agent: '0.1.0', quickjs: '2021-03-27' },
      features: { cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '1.0.8' },
      sourceAddress: null, requestedAtMs: T0, enrolledAtMs: T0, updatedAtMs: T0, enrolments: 1,
    });

    router = writeRouterFiles(join(temp.path, 'router'), broker.port, DEVICE, DEVICE_PASSWORD);
    routerCloud = cloudOf(fileSections());
    await buildNodeAgentBundle(BUNDLE);
    agent = spawn(process.execPath, [BUNDLE, 'run', '--config', router.configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...router.env } });
    agent.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    await until(() => agentLog.includes('resynchronised'), 'the agent connects to the real server', 30_000, log);
  }, 120_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
      agent.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    await store?.close();
    await broker?.close();
    temp.remove();
  });

  it('applies a group template without a cloud section: the router keeps its own link, no relink, no drift', async () => {
    expect(routerCloud).toHaveLength(1);
    expect(linkStarts()).toBe(1);
    const deployed = await config.putGroupLayer(operator, GROUP, {
      template: [
        // The version is the whole configuration except `cloud`: the agent section too.
        { type: 'agent', name: 'agent', options: { device_id: '${device_id}', state_dir: router.stateDir } },
        { type: 'qos', name: 'qos', options: { uplink_kbit: '20000', downlink_kbit: '100000', wan_device: 'wan', lan_device: 'br-lan', ef_budget_percent: '40' } },
      ],
      variables: {},
    });
    expect(deployed).toMatchObject({ ok: true, value: { devices: [{ deviceId: DEVICE, version: 1, created: true, sent: true }] } });
    await until(async () => (await status()).status?.state === 'applied', 'the router reports version 1 applied', 20_000, log);
    const s = await status();
    expect(s.status).toMatchObject({ desired: 1, applied: 1, state: 'applied' });
    expect(cloudOf(s.sections)).toEqual([]);
    // The server's hash is of the sections it sent; the file holds them and the router's cloud section.
    expect(s.versions.find((v) => v.version === 1)?.hash).toBe(configHashOf(s.sections));
    const file = fileSections();
    expect(file.find((x) => x.type === 'qos')?.options.ef_budget_percent).toBe('40');
    expect(cloudOf(file)).toEqual(routerCloud);
    expect(file).toEqual([...s.sections, ...routerCloud]);
    expect(agentLog).not.toContain('reconnecting, checking it');
    expect(linkStarts()).toBe(1);
    // The server admits calls against the new budget: the session opened again on the same link.
    await until(async () => (await store.getDevice(DEVICE))?.link?.efBudgetPercent === 40, 'the server\'s record of the router\'s EF budget', 10_000, log);
    expect(agentLog).toContain('the line or EF budget changed: opening the cloud session again');

    // A reload checks for drift: keeping its own cloud section is none.
    const converged = () => agentLog.split('data plane converged').length - 1;
    const before = converged();
    agent.kill('SIGHUP');
    await until(() => converged() > before, 'the reload', 10_000, log);
    // The drift check follows the reload's shaping; give it that moment.
    await sleep(1_000);
    expect(agentLog).not.toContain('differs from the applied version');
    expect((await status()).status).toMatchObject({ desired: 1, applied: 1, state: 'applied' });
  });

  it('a local edit is drift; cloud wins: the desired sections come back as a new version, applied', async () => {
    const edited = readFileSync(router.configPath, 'utf8').replace("option ef_budget_percent '40'", "option ef_budget_percent '55'");
    expect(edited).toContain("'55'");
    writeFileSync(router.configPath, edited);
    agent.kill('SIGHUP');
    await until(() => agentLog.includes('differs from the applied version'), 'the drift report', 15_000, log);
    await until(async () => { const st = (await status()).status; return st?.desired === 2 && st.applied === 2 && st.state === 'applied'; }, 'the resend applied as version 2', 20_000, log);
    const s = await status();
    expect(s.versions.find((v) => v.version === 2)).toMatchObject({ source: 'resend' });
    const file = fileSections();
    expect(file.find((x) => x.type === 'qos')?.options.ef_budget_percent).toBe('40');
    expect(cloudOf(file)).toEqual(routerCloud);
    expect(agentLog).not.toContain('reconnecting, checking it');
    expect(linkStarts()).toBe(1);
  });
});
