/**
 * Enrolment end to end in-process: the embedded broker checking logins from its credentials file,
 * the real QoS server with its fleet part (SQLite fleet store, embedded broker identities), and
 * MQTT.js clients playing routers over the shared enrolment login. A router enrols with a key,
 * gets its own login and uses it; approval, refusals (no fleet row), rate limits, re-enrolment
 * under replace and hold, and revocation (connection cut, login refused, the router's calls
 * ended with E_REVOKED).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { hashPassword, saveCredentials, loadCredentials } from '../../../src/cloud/broker/credentials.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import type { Actor } from '../../../src/cloud/fleet/actions.ts';
import { createEmbeddedIdentities } from '../../../src/cloud/fleet/identities-embedded.ts';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import type { FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { SessionAddBody, SessionStateBody } from '../../../src/core/protocol/messages/cc.ts';
import type { MqttClient } from 'mqtt';
import type { EnrolAnswerBody } from '../../../src/core/protocol/messages/enrol.ts';
import { makeTempDir } from '../../support/temp.ts';
import { until } from '../../support/wait.ts';
import { EnrollingRouter, loginAs, routerPassword } from './enrolling-router.ts';
import { lanInterfaces, ScriptedRouter } from '../server/scripted-router.ts';

const quiet = { info: () => {}, warn: () => {} };
const admin: Actor = { name: 'operator:root', domain: null };
const SERVER_PASSWORD = 'server-password-for-this-test';

const password = routerPassword;

describe('fleet enrolment (embedded broker with credentials, QoS server with its fleet part, SQLite)', () => {
  const temp = makeTempDir('fleet-enrolment');
  const credentialsFile = join(temp.path, 'credentials.jsonl');
  let broker: EmbeddedBroker;
  let store: Store;
  let fleet: FleetStore;
  let server: QosServer;
  let url = '';
  let http = '';
  const logs: string[] = [];
  const open: Array<{ close(): Promise<void> } | MqttClient> = [];

  async function router(hardwareId: string): Promise<EnrollingRouter> {
    const r = new EnrollingRouter(hardwareId);
    await r.connect(url);
    open.push(r);
    return r;
  }

  async function groupWithKey(id: string, enrolPolicy: 'auto' | 'approve', reenrolPolicy: 'replace' | 'hold', expiresAtMs: number | null = null): Promise<string> {
    const group = await server.fleetActions!.createGroup(admin, { id, name: id, domain: null, enrolPolicy, reenrolPolicy });
    if (!group.ok && group.error.code !== 'E_CONFLICT') throw new Error(group.error.message);
    const key = await server.fleetActions!.createKey(admin, { group: id, label: id, expiresAtMs });
    if (!key.ok) throw new Error(key.error.message);
    return key.value.secret;
  }

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
      config: { ...DEFAULT_CONFIG, httpPort: 0, decisionDeadlineMs: 2000, removalDeadlineMs: 1000, credentialsFile, identities: 'embedded' },
      store,
      bus,
      planner: controlPlanner(),
      admit: admissionCheck,
      log: createLogger((l) => logs.push(l), 'debug'),
      fleet: { store: fleet, identities, enrolment: { pendingRetryS: 2, rateLimit: { perKey: { capacity: 4, refillPerS: 0.05 }, global: { capacity: 1000, refillPerS: 100 }, maxKeys: 1000 } } },
    });
    const started = await server.start();
    http = `http://127.0.0.1:${started.http!.port}`;
  });

  afterAll(async () => {
    for (const c of open.splice(0)) await ('endAsync' in c ? c.endAsync() : c.close()).catch(() => {});
    await server?.stop();
    await store?.close();
    await broker?.close();
    temp.remove();
  });

  it('accepts a router of an auto group, which then logs in with its own login and password', async () => {
    const key = await groupWithKey('auto-replace', 'auto', 'replace');
    const r = await router('mac-0242ac110002');
    expect(await r.enrol(key, password('a1'))).toEqual({ outcome: 'accepted', deviceId: 'mac-0242ac110002', username: 'mac-0242ac110002' });
    const record = await fleet.getByHardwareId('mac-0242ac110002');
    expect(record).toMatchObject({ deviceId: 'mac-0242ac110002', state: 'accepted', group: 'auto-replace', enrolments: 1, hostname: 'gw-mac-0242ac110002', versions: { agent: '0.1.0' } });
    const device = new ScriptedRouter('mac-0242ac110002');
    await device.connect(url, password('a1'));
    open.push(device);
    expect(await device.open(lanInterfaces('192.168.7.1', '2001:db8:7:1::1', '203.0.113.7'))).toMatchObject({ server: 'qos-server-1' });
    expect(await loginAs(url, 'mac-0242ac110002', password('wrong'))).toMatch(/Bad username or password|Connection refused/i);
    const audit = await fleet.listAudit({ target: 'mac-0242ac110002', limit: 10 });
    expect(audit.map((e) => [e.actor, e.action])).toContainEqual(['device:mac-0242ac110002', 'device.enrol']);
  });

  it('keeps a router of an approve group pending, with no login, until an operator approves it', async () => {
    const key = await groupWithKey('approve-hold', 'approve', 'hold');
    const r = await router('hw-approve-1');
    expect(await r.enrol(key, password('p1'))).toEqual({ outcome: 'pending', retryS: 2 });
    expect(await fleet.getFleetDevice('hw-approve-1')).toMatchObject({ state: 'pending', enrolments: 0 });
    expect(await loginAs(url, 'hw-approve-1', password('p1'))).toEqual(expect.any(String));
    expect(await r.enrol(key, password('p1'))).toEqual({ outcome: 'pending', retryS: 2 });
    expect(await server.fleetActions!.approve(admin, 'hw-approve-1')).toMatchObject({ ok: true, value: { state: 'approved' } });
    expect(await r.enrol(key, password('p1'))).toMatchObject({ outcome: 'accepted', deviceId: 'hw-approve-1' });
    expect(await fleet.getFleetDevice('hw-approve-1')).toMatchObject({ state: 'accepted', enrolments: 1 });
    const client = await loginAs(url, 'hw-approve-1', password('p1'));
    expect(typeof client).not.toBe('string');
    open.push(client as MqttClient);
  });

  it('refuses a wrong, an unknown, an expired and a revoked key with their codes, and makes no fleet row', async () => {
    const key = await groupWithKey('auto-replace', 'auto', 'replace');
    const [id] = key.split('.');
    const r1 = await router('hw-bad-1');
    expect(await r1.enrol(`${id}.${'w'.repeat(32)}`, password('b1'))).toMatchObject({ outcome: 'refused', code: 'E_KEY_UNKNOWN' });
    const r2 = await router('hw-bad-2');
    expect(await r2.enrol(`unknownkey.${'w'.repeat(32)}`, password('b2'))).toMatchObject({ outcome: 'refused', code: 'E_KEY_UNKNOWN' });
    const expiring = await groupWithKey('auto-replace', 'auto', 'replace', Date.now() + 300);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const r3 = await router('hw-bad-3');
    expect(await r3.enrol(expiring, password('b3'))).toMatchObject({ outcome: 'refused', code: 'E_KEY_EXPIRED' });
    const revoked = await groupWithKey('auto-replace', 'auto', 'replace');
    expect((await server.fleetActions!.revokeKey(admin, revoked.split('.')[0]!)).ok).toBe(true);
    const r4 = await router('hw-bad-4');
    expect(await r4.enrol(revoked, password('b4'))).toMatchObject({ outcome: 'refused', code: 'E_KEY_REVOKED' });
    for (const hw of ['hw-bad-1', 'hw-bad-2', 'hw-bad-3', 'hw-bad-4']) expect(await fleet.getByHardwareId(hw)).toBeNull();
    expect(loadCredentials(credentialsFile).has('hw-bad-1')).toBe(false);
  });

  it('refuses a request whose key does not validate, naming the field', async () => {
    const r = await router('hw-malformed');
    expect(await r.enrol('not a key', password('m1'))).toMatchObject({ outcome: 'refused', code: expect.stringMatching(/^E_/) as string, detail: expect.stringContaining('body.key') as string });
  });

  it('rate-limits a router that asks in a burst, telling it when to ask again', async () => {
    const r = await router('hw-burst');
    const bogus = `nokeyatall.${'z'.repeat(32)}`;
    const answers: EnrolAnswerBody[] = [];
    for (let i = 0; i < 6; i++) answers.push(await r.enrol(bogus, password('r1')));
    expect(answers.slice(0, 4).map((a) => a.outcome === 'refused' && a.code)).toEqual(['E_KEY_UNKNOWN', 'E_KEY_UNKNOWN', 'E_KEY_UNKNOWN', 'E_KEY_UNKNOWN']);
    expect(answers[4]).toMatchObject({ outcome: 'refused', code: 'E_RATE_LIMITED', retryS: expect.any(Number) as number });
    expect(answers[5]).toMatchObject({ code: 'E_RATE_LIMITED' });
    expect(await fleet.getByHardwareId('hw-burst')).toBeNull();
  });

  it('re-enrols a known router under replace: same device, new password, history kept', async () => {
    const key = await groupWithKey('auto-replace', 'auto', 'replace');
    const r = await router('hw-reflash-1');
    expect(await r.enrol(key, password('old'))).toMatchObject({ outcome: 'accepted' });
    expect((await server.fleetActions!.patchDevice(admin, 'hw-reflash-1', { name: 'Front desk' })).ok).toBe(true);
    expect(await r.enrol(key, password('new'), { versions: { agent: '0.2.0', quickjs: '2021-03-27' } })).toEqual({ outcome: 'accepted', deviceId: 'hw-reflash-1', username: 'hw-reflash-1' });
    expect(await fleet.getFleetDevice('hw-reflash-1')).toMatchObject({ name: 'Front desk', enrolments: 2, versions: { agent: '0.2.0' } });
    expect(await loginAs(url, 'hw-reflash-1', password('old'))).toEqual(expect.any(String));
    const client = await loginAs(url, 'hw-reflash-1', password('new'));
    expect(typeof client).not.toBe('string');
    open.push(client as MqttClient);
  });

  it('holds a known router under hold: pending again, its old login still works until approval', async () => {
    const key = await groupWithKey('auto-hold', 'auto', 'hold');
    const r = await router('hw-reflash-2');
    expect(await r.enrol(key, password('old'))).toMatchObject({ outcome: 'accepted' });
    expect(await r.enrol(key, password('new'))).toEqual({ outcome: 'pending', retryS: 2 });
    expect(await fleet.getFleetDevice('hw-reflash-2')).toMatchObject({ state: 'pending', enrolments: 1, stateReason: expect.stringMatching(/^E_REENROL_HOLD/) as string });
    const old = await loginAs(url, 'hw-reflash-2', password('old'));
    expect(typeof old).not.toBe('string');
    await (old as MqttClient).endAsync();
    expect((await server.fleetActions!.approve(admin, 'hw-reflash-2')).ok).toBe(true);
    expect(await r.enrol(key, password('new'))).toMatchObject({ outcome: 'accepted' });
    expect(await fleet.getFleetDevice('hw-reflash-2')).toMatchObject({ state: 'accepted', enrolments: 2 });
  });

  it('revokes a router: its connection is cut, its login refused, its calls end with E_REVOKED, and it cannot enrol again', async () => {
    const key = await groupWithKey('auto-replace', 'auto', 'replace');
    const enrolA = await router('rev-a');
    const enrolB = await router('rev-b');
    expect(await enrolA.enrol(key, password('ra'))).toMatchObject({ outcome: 'accepted' });
    expect(await enrolB.enrol(key, password('rb'))).toMatchObject({ outcome: 'accepted' });
    const a = new ScriptedRouter('rev-a');
    const b = new ScriptedRouter('rev-b');
    await a.connect(url, password('ra'));
    await b.connect(url, password('rb'));
    open.push(b);
    await a.open(lanInterfaces('192.168.41.1', '2001:db8:41:1::1', '203.0.113.41'));
    await b.open(lanInterfaces('198.18.41.1', '2001:db8:42:1::1', '198.51.100.41'));
    // A second, plain connection of the same login, to watch the cut.
    const watcher = await loginAs(url, 'rev-a', password('ra'));
    if (typeof watcher === 'string') throw new Error(watcher);
    let cut = false;
    watcher.on('close', () => (cut = true));

    const call: SessionAddBody = {
      callId: 'revoke-call@lab',
      caller: { source: '203.0.113.41' },
      callee: { source: '198.51.100.41' },
      media: [{ line: 0, type: 'audio', offer: { address: '192.168.41.20', port: 40000 }, answer: { address: '198.18.41.20', port: 41000 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
      wait: true,
    };
    const state = (await (await fetch(`${http}/v1/sessions`, { method: 'POST', body: JSON.stringify(call) })).json()) as SessionStateBody;
    expect(state).toMatchObject({ state: 'active' });

    const revokedAt = Date.now();
    expect(await server.fleetActions!.revoke(admin, 'rev-a', 'stolen')).toMatchObject({ ok: true, value: { state: 'revoked', stateReason: 'E_REVOKED: stolen' } });
    await until(() => cut, 'the revoked router\'s connection cut', 2000);
    expect(Date.now() - revokedAt).toBeLessThan(2000);
    expect(await loginAs(url, 'rev-a', password('ra'))).toEqual(expect.any(String));
    const after = async () => (await (await fetch(`${http}/v1/sessions/${encodeURIComponent('revoke-call@lab')}`)).json()) as SessionStateBody;
    await until(async () => (await after()).state === 'failed', 'the call failed');
    expect(JSON.stringify((await after()).lines)).toContain('E_REVOKED');
    // The other router's gate is removed.
    await until(() => b.gates.size === 0, 'the far router\'s gate removed');
    expect(await enrolA.enrol(key, password('ra'))).toMatchObject({ outcome: 'refused', code: 'E_REVOKED' });
    await a.close().catch(() => {});
  });
});
