/**
 * Versioned configuration end to end in-process: the real QoS server with its fleet part (SQLite,
 * the embedded broker checking logins) and MQTT.js clients playing routers. Each router answers
 * `config.apply` with `config.report` as the agent does (applying, then applied with its
 * self-test; or rejected with field paths; or rolled back), and reports drift with its sections.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { hashPassword, loadCredentials, saveCredentials, type CredentialEntry } from '../../../src/cloud/broker/credentials.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import type { Actor } from '../../../src/cloud/fleet/actions.ts';
import { createEmbeddedIdentities } from '../../../src/cloud/fleet/identities-embedded.ts';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import type { FleetDevice, FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import type { ConfigService } from '../../../src/cloud/fleet/config-service.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { ConfigApplyMessage } from '../../../src/core/protocol/envelope.ts';
import { makeTempDir } from '../../support/temp.ts';
import { sleep, until } from '../../support/wait.ts';
import { lanInterfaces, ScriptedRouter } from '../server/scripted-router.ts';

const quiet = { info: () => {}, warn: () => {} };
const operator: Actor = { name: 'operator:alice', domain: null };
const SERVER_PASSWORD = 'server-password-for-this-test';
const ROUTERS = ['rt-a', 'rt-b', 'rt-c', 'w-1', 'w-2', 'w-3', 'w-4'];
const routerPassword = (id: string) => `password-of-${id}-for-this-test`;
const T0 = 1_800_000_000_000;

function fleetDevice(deviceId: string, group: string): FleetDevice {
  return {
    deviceId, hardwareId: `hw-${deviceId}`, group, name: deviceId, tags: [], site: null, state: 'accepted', stateReason: null, keyId: 'k1', hostname: null,
    hardware: { model: 'Lab', boardName: 'lab', release: '23.05.3', target: 'x86/64', kernel: '5.15' },
    versions: { agent: '0.1.0', quickjs: '2021-03-27' },
    features: { cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '1.0.8' },
    sourceAddress: null, requestedAtMs: T0, enrolledAtMs: T0, updatedAtMs: T0, enrolments: 1,
  };
}

const SELF_TEST = { table: 'ok', queues: 'ok', counters: 'skipped' } as const;

describe('fleet configuration (QoS server with its fleet part, embedded broker, SQLite, routers over MQTT)', () => {
  const temp = makeTempDir('fleet-config');
  const credentialsFile = join(temp.path, 'credentials.jsonl');
  let broker: EmbeddedBroker;
  let store: Store;
  let fleet: FleetStore;
  let server: QosServer;
  let config: ConfigService;
  let url = '';
  const open: ScriptedRouter[] = [];

  async function online(id: string): Promise<ScriptedRouter> {
    const r = new ScriptedRouter(id);
    await r.connect(url, routerPassword(id));
    open.push(r);
    await r.open(lanInterfaces(`192.168.${open.length}.1`, `2001:db8:${open.length}::1`, `203.0.113.${open.length}`));
    return r;
  }

  /** Answers one config.apply as the agent does when it applies cleanly. */
  async function applyNext(r: ScriptedRouter): Promise<ConfigApplyMessage> {
    const m = await r.next('config.apply');
    await r.send('config.report', { version: m.body.version, hash: m.body.hash, state: 'applying' }, m.id);
    await r.send('config.report', { version: m.body.version, hash: m.body.hash, state: 'applied', selfTest: SELF_TEST }, m.id);
    return m;
  }

  const status = async (id: string) => (await config.deviceConfig(operator, id));
  const option = (m: ConfigApplyMessage, type: string, key: string) => m.body.sections.find((s) => s.type === type)?.options[key];

  beforeAll(async () => {
    saveCredentials(credentialsFile, new Map<string, CredentialEntry>([
      ['qos-server-1', { user: 'qos-server-1', kind: 'server' as const, hash: hashPassword(SERVER_PASSWORD) }],
      ...ROUTERS.map((id) => [id, { user: id, kind: 'device' as const, hash: hashPassword(routerPassword(id)) }] as const),
    ]));
    broker = await startEmbeddedBroker({ port: 0, credentials: loadCredentials(credentialsFile), log: quiet });
    url = `mqtt://127.0.0.1:${broker.port}`;
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
    for (const g of ['site', 'waves']) await fleet.putGroup({ id: g, name: g, domain: null, enrolPolicy: 'auto', reenrolPolicy: 'replace', createdAtMs: T0 });
    for (const id of ['rt-a', 'rt-b', 'rt-c']) await fleet.putFleetDevice(fleetDevice(id, 'site'));
    for (const id of ['w-1', 'w-2', 'w-3', 'w-4']) await fleet.putFleetDevice(fleetDevice(id, 'waves'));
  });

  afterAll(async () => {
    for (const r of open.splice(0)) await r.close().catch(() => {});
    await server?.stop();
    await store?.close();
    await broker?.close();
    temp.remove();
  });

  it('deploys a group template with a variable and a device override; applied only when the router says so', async () => {
    const a = await online('rt-a');
    const b = await online('rt-b');
    const overrides = await config.putDeviceLayer(operator, 'rt-a', {
      overrides: [{ type: 'gate', name: null, options: { lan_address: '192.168.1.20', lan_port: '5060', rate_kbit: '${phone_rate}' } }],
      variables: { uplink: '4000' },
    });
    // rt-a's version cannot be made yet: the template giving the rates is not there.
    expect(overrides).toMatchObject({ ok: false, error: { code: 'E_CONFIG', path: 'gate[0].rate_kbit' } });
    expect(!overrides.ok && overrides.error.message).toContain('qos.uplink_kbit: required');

    const gotA = a.next('config.apply');
    const gotB = b.next('config.apply');
    const deployed = await config.putGroupLayer(operator, 'site', {
      template: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '${uplink}', downlink_kbit: '20000', queue_backend: 'htb' } }],
      variables: { uplink: '1000', phone_rate: '128' },
    });
    expect(deployed).toMatchObject({ ok: true, value: { devices: [{ deviceId: 'rt-a', version: 1, created: true, sent: true }, { deviceId: 'rt-b', version: 1, sent: true }, { deviceId: 'rt-c', version: 1, sent: false }] } });
    const [ma, mb] = await Promise.all([gotA, gotB]);
    // The device's override was stored with the refused deploy? No: nothing of a refused deploy is kept.
    expect(ma.body.sections.some((s) => s.type === 'gate')).toBe(false);
    expect(option(ma, 'qos', 'uplink_kbit')).toBe('1000');
    expect(option(mb, 'qos', 'queue_backend')).toBe('htb');
    expect(ma.body).toMatchObject({ version: 1, linkCheckS: 60, hash: expect.stringMatching(/^[0-9a-f]{16}$/) as string });
    expect((await status('rt-a'))).toMatchObject({ ok: true, value: { status: { desired: 1, applied: 0, state: 'pending' } } });

    // Now the override with its variable: rt-a gets version 2, rt-b nothing new.
    const nextA = a.next('config.apply');
    const withOverride = await config.putDeviceLayer(operator, 'rt-a', {
      overrides: [{ type: 'gate', name: null, options: { lan_address: '192.168.1.20', lan_port: '5060', rate_kbit: '${phone_rate}' } }],
      variables: { uplink: '4000' },
    });
    expect(withOverride).toMatchObject({ ok: true, value: { devices: [{ deviceId: 'rt-a', version: 2, created: true, sent: true }] } });
    const m2 = await nextA;
    expect(option(m2, 'qos', 'uplink_kbit')).toBe('4000');
    expect(m2.body.sections.find((s) => s.type === 'gate')?.options).toEqual({ lan_address: '192.168.1.20', lan_port: '5060', rate_kbit: '128' });

    // The router answers; only then is it applied.
    await a.send('config.report', { version: 2, hash: m2.body.hash, state: 'applying' }, m2.id);
    await until(async () => (await config.deviceConfig(operator, 'rt-a')).ok && (await status('rt-a')).ok && ((await status('rt-a')) as { value: { status: { state: string } } }).value.status.state === 'applying', 'rt-a applying');
    await a.send('config.report', { version: 2, hash: m2.body.hash, state: 'applied', selfTest: SELF_TEST }, m2.id);
    await until(async () => ((await status('rt-a')) as { value: { status: { state: string } } }).value.status.state === 'applied', 'rt-a applied');
    const view = await status('rt-a');
    expect(view).toMatchObject({ ok: true, value: { status: { desired: 2, applied: 2, state: 'applied', selfTest: SELF_TEST }, versions: [{ version: 2, source: 'deploy' }, { version: 1 }] } });
    const diff = await config.diffVersions(operator, 'rt-a', 1, 2);
    expect(diff.ok && diff.value.diff.map((d) => [d.kind, d.path, d.after])).toEqual(expect.arrayContaining([
      ['changed', 'qos.uplink_kbit', '4000'], ['added', 'gate[0]', 'gate'], ['added', 'gate[0].rate_kbit', '128'],
    ]));

    // The same layers again: no new version, nothing sent.
    const again = await config.putDeviceLayer(operator, 'rt-a', {
      overrides: [{ type: 'gate', name: null, options: { lan_address: '192.168.1.20', lan_port: '5060', rate_kbit: '${phone_rate}' } }],
      variables: { uplink: '4000' },
    });
    expect(again).toMatchObject({ ok: true, value: { devices: [{ deviceId: 'rt-a', version: 2, created: false, sent: false }] } });
    await applyNextIgnored(b, mb);
    const audit = await fleet.listAudit({ target: 'device:rt-a', limit: 50 });
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['config.device.set', 'config.version.create', 'config.status']));
    const applied = audit.find((e) => e.action === 'config.status' && (e.after as { state?: string } | null)?.state === 'applied');
    expect(applied).toMatchObject({ actor: 'device:rt-a', before: { state: 'applying' }, after: { desired: 2, applied: 2 } });
  });

  /** rt-b answers its version 1 (the first test left it unanswered). */
  async function applyNextIgnored(b: ScriptedRouter, m: ConfigApplyMessage): Promise<void> {
    await b.send('config.report', { version: m.body.version, hash: m.body.hash, state: 'applied', selfTest: SELF_TEST }, m.id);
    await until(async () => ((await status('rt-b')) as { value: { status: { state: string } } }).value.status.state === 'applied', 'rt-b applied');
  }

  it('refuses an invalid rate or an unknown variable before anything is sent, naming the path', async () => {
    const before = open.find((r) => r.id === 'rt-a')!.received.length;
    const bad = await config.putDeviceLayer(operator, 'rt-a', { overrides: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '10' } }], variables: {} });
    expect(bad).toMatchObject({ ok: false, error: { code: 'E_CONFIG', path: 'qos.uplink_kbit' } });
    expect(!bad.ok && bad.error.message).toContain('nothing was deployed');
    const unknown = await config.putGroupLayer(operator, 'site', {
      template: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '${uplink}', downlink_kbit: '${downlink}' } }], variables: { uplink: '1000' },
    });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'E_CONFIG', path: 'qos.downlink_kbit' } });
    const schema = await config.putGroupLayer(operator, 'site', { template: [{ type: 'qos', name: 'bad name' }], variables: {} });
    expect(schema).toMatchObject({ ok: false, error: { path: 'template[0].name' } });
    await sleep(300);
    expect(open.find((r) => r.id === 'rt-a')!.received.length).toBe(before);
    expect((await status('rt-a'))).toMatchObject({ ok: true, value: { status: { desired: 2, applied: 2 }, versions: [{ version: 2 }, { version: 1 }] } });
    expect((await fleet.config.getLayer('group', 'site'))?.variables).toEqual({ uplink: '1000', phone_rate: '128' });
  });

  it('gives an offline router its version when it opens, and records rejected and rolled-back with their reasons', async () => {
    expect((await status('rt-c'))).toMatchObject({ ok: true, value: { status: { desired: 1, applied: 0, state: 'pending' } } });
    const c = new ScriptedRouter('rt-c');
    await c.connect(url, routerPassword('rt-c'));
    open.push(c);
    const got = c.next('config.apply');
    await c.open(lanInterfaces('192.168.9.1', '2001:db8:9::1', '203.0.113.9'));
    const m = await got;
    expect(m.body.version).toBe(1);
    await c.send('config.report', { version: 1, hash: m.body.hash, state: 'rejected', reason: 'E_CONFIG: the router refused it', problems: [{ path: 'qos.queue_backend', message: 'htb is missing' }] }, m.id);
    await until(async () => ((await status('rt-c')) as { value: { status: { state: string } } }).value.status.state === 'rejected', 'rt-c rejected');
    expect(await status('rt-c')).toMatchObject({ ok: true, value: { status: { state: 'rejected', applied: 0, reason: 'E_CONFIG: the router refused it', problems: [{ path: 'qos.queue_backend' }] } } });

    // A new version; the router takes it, then loses its link and goes back.
    const next = c.next('config.apply');
    expect(await config.putDeviceLayer(operator, 'rt-c', { overrides: [{ type: 'qos', name: 'qos', options: { queue_backend: 'auto' } }], variables: {} })).toMatchObject({ ok: true });
    const m2 = await next;
    await c.send('config.report', { version: 2, hash: m2.body.hash, state: 'rolled-back', reason: 'E_LINK: no broker within 60 s' }, m2.id);
    await until(async () => ((await status('rt-c')) as { value: { status: { state: string } } }).value.status.state === 'rolled-back', 'rt-c rolled back');
    // A report with a hash the server never made is not taken.
    await c.send('config.report', { version: 2, hash: '0123456789abcdef', state: 'applied' }, m2.id);
    await sleep(300);
    expect(await status('rt-c')).toMatchObject({ ok: true, value: { status: { state: 'rolled-back', applied: 0, desired: 2 } } });
  });

  it('a staged rollout stops by itself when the failures pass the threshold', async () => {
    const routers = await Promise.all(['w-1', 'w-2', 'w-3', 'w-4'].map(online));
    const first = routers.map((r) => r.next('config.apply'));
    expect(await config.putGroupLayer(operator, 'waves', { template: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '2000', downlink_kbit: '8000' } }], variables: {} })).toMatchObject({ ok: true });
    for (const [i, r] of routers.entries()) {
      const m = await first[i]!;
      await r.send('config.report', { version: m.body.version, hash: m.body.hash, state: 'applied', selfTest: SELF_TEST }, m.id);
    }
    const draft = await config.createDraft(operator, { groups: [{ group: 'waves', template: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '2000', downlink_kbit: '8000', ef_budget_percent: '50' } }] }] });
    expect(draft.ok).toBe(true);
    if (!draft.ok) return;
    expect(draft.value.devices.map((d) => d.deviceId)).toEqual(['w-1', 'w-2', 'w-3', 'w-4']);
    expect(draft.value.devices[0]).toMatchObject({ fromVersion: 1, changed: true, problems: [], diff: [{ kind: 'changed', path: 'qos.ef_budget_percent', before: '30', after: '50' }] });
    const canary = routers[0]!.next('config.apply');
    const deployed = await config.deployDraft(operator, draft.value.id, { rollout: { canaryPercent: 25, waveSize: 2, stopPercent: 30 } });
    expect(deployed).toMatchObject({ ok: true, value: { rollout: expect.any(String) as string } });
    if (!deployed.ok) return;
    const m = await canary;
    expect(m.body.version).toBe(2);
    expect(await fleet.config.getDraft(draft.value.id)).toBeNull();
    await routers[0]!.send('config.report', { version: 2, hash: m.body.hash, state: 'rolled-back', reason: 'E_SELFTEST: the tc classes are missing' }, m.id);
    const id = deployed.value.rollout!;
    await until(async () => (await config.getRollout(operator, id)).ok && ((await config.getRollout(operator, id)) as { value: { state: string } }).value.state === 'stopped', 'rollout stopped');
    expect(await config.getRollout(operator, id)).toMatchObject({ ok: true, value: { state: 'stopped', counts: { total: 4, waiting: 3, failed: 1 }, reason: expect.stringContaining('1 of 1') as string } });
    await sleep(300);
    for (const r of routers.slice(1)) expect(r.received.filter((x) => x.type === 'config.apply')).toHaveLength(1);
    expect(await status('w-2')).toMatchObject({ ok: true, value: { status: { desired: 1, applied: 1, state: 'applied' }, versions: [{ version: 2 }, { version: 1 }] } });
  });

  it('a rollout counts routers silent past the wave time as failed', async () => {
    const draft = await config.createDraft(operator, { groups: [{ group: 'waves', template: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '2000', downlink_kbit: '8000', ef_budget_percent: '45' } }] }] });
    if (!draft.ok) throw new Error(draft.error.message);
    const w1 = open.find((r) => r.id === 'w-1')!;
    const canary = w1.next('config.apply');
    const deployed = await config.deployDraft(operator, draft.value.id, { rollout: { canaryPercent: 25, waveSize: 2, stopPercent: 30, waveTimeoutS: 1 } });
    if (!deployed.ok) throw new Error(deployed.error.message);
    expect((await canary).body.version).toBe(3);
    // w-1 stays silent.
    const id = deployed.value.rollout!;
    await until(async () => ((await config.getRollout(operator, id)) as { value: { state: string } }).value.state === 'stopped', 'rollout stopped by its wave time');
    expect(await config.getRollout(operator, id)).toMatchObject({ ok: true, value: { counts: { 'timed-out': 1, waiting: 3 }, reason: expect.stringContaining('did not answer within 1 s') as string } });
  });

  it('handles drift by the group policy: cloud-wins sends the desired version again, router-wins adopts the router\'s sections', async () => {
    const a = open.find((r) => r.id === 'rt-a')!;
    const current = (await fleet.config.getVersion('rt-a', 2))!;
    const edited = current.sections.map((s) => (s.type === 'qos' ? { ...s, options: { ...s.options, uplink_kbit: '3000' } } : s));
    const resent = a.next('config.apply');
    await a.send('config.report', { version: 2, hash: current.hash, state: 'drift', reason: 'changed on the router (uci)', sections: edited });
    const m = await resent;
    // The desired sections again, as a new version (a router answers a version it has as done).
    expect(m.body).toMatchObject({ version: 3, hash: current.hash, sections: current.sections });
    expect(await status('rt-a')).toMatchObject({ ok: true, value: { status: { desired: 3, applied: 2, state: 'pending' } } });
    await a.send('config.report', { version: 3, hash: m.body.hash, state: 'applied', selfTest: SELF_TEST }, m.id);
    await until(async () => ((await status('rt-a')) as { value: { status: { state: string } } }).value.status.state === 'applied', 'rt-a applied again');

    const template = (await fleet.config.getLayer('group', 'site'))!;
    expect(await config.putGroupLayer(operator, 'site', { template: template.sections, variables: template.variables, driftPolicy: 'router-wins' })).toMatchObject({ ok: true });
    const adopted = a.next('config.apply');
    await a.send('config.report', { version: 3, hash: current.hash, state: 'drift', reason: 'changed on the router (LuCI)', sections: edited });
    const m4 = await adopted;
    expect(m4.body.version).toBe(4);
    expect(option(m4, 'qos', 'uplink_kbit')).toBe('3000');
    await a.send('config.report', { version: 4, hash: m4.body.hash, state: 'applied', selfTest: SELF_TEST }, m4.id);
    await until(async () => ((await status('rt-a')) as { value: { status: { applied: number } } }).value.status.applied === 4, 'rt-a applied its own');
    expect(await status('rt-a')).toMatchObject({
      ok: true, value: { versions: [{ version: 4, source: 'drift', createdBy: 'device:rt-a' }, { version: 3, source: 'resend', createdBy: 'system' }, { version: 2 }, { version: 1 }] },
    });
  });
});
