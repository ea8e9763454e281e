/**
 * Enrolment on the production broker: a real Mosquitto with the dynamic-security plugin, the QoS
 * server's fleet part built as `callqos-cloud --identities dynsec --dynsec-login <file>` builds it
 * (setUpFleet, the admin login read from a 0600 file), SQLite, and a router played over MQTT.js.
 * The server makes the shared enrolment login at its start; a router enrols with a key, logs in
 * with its own login; revoked, its connection is cut within 2 s and its login refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { openDynsecControl, type DynsecControl } from '../../../src/cloud/fleet/dynsec-control.ts';
import type { Actor } from '../../../src/cloud/fleet/actions.ts';
import { setUpFleet, type FleetSetup } from '../../../src/cloud/fleet/setup.ts';
import { connectServerMqtt } from '../../../src/cloud/mqtt/client.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../../../src/cloud/server/config.ts';
import { admissionCheck, controlPlanner } from '../../../src/cloud/server/planner.ts';
import { QosServer } from '../../../src/cloud/server/server.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import { createLogger } from '../../../src/core/log.ts';
import { makeTempDir } from '../../support/temp.ts';
import { until } from '../../support/wait.ts';
import { startDynsecMosquitto, type RunningBroker } from './dynsec-support.ts';
import { EnrollingRouter, loginAs, routerPassword } from './enrolling-router.ts';

const ADMIN_PASSWORD = 'dynsec-admin-secret';
const SERVER_PASSWORD = 'qos-server-secret';
const admin: Actor = { name: 'cli', domain: null };

/** The server's own login: everything in callqos/v1, shared subscriptions included. */
async function addServerLogin(control: DynsecControl): Promise<void> {
  const answers = await control.send([
    { command: 'createRole', rolename: 'qos-server' },
    { command: 'addRoleACL', rolename: 'qos-server', acltype: 'publishClientSend', topic: 'callqos/v1/#', allow: true },
    { command: 'addRoleACL', rolename: 'qos-server', acltype: 'subscribePattern', topic: 'callqos/v1/#', allow: true },
    { command: 'addRoleACL', rolename: 'qos-server', acltype: 'subscribePattern', topic: '$share/+/callqos/v1/#', allow: true },
    { command: 'createClient', username: 'qos-server-1', password: SERVER_PASSWORD, roles: [{ rolename: 'qos-server' }] },
  ]);
  expect(answers.ok && answers.value.every((a) => a.error === undefined), JSON.stringify(answers)).toBe(true);
}

describe('fleet enrolment on Mosquitto with dynamic security (--identities dynsec)', () => {
  const temp = makeTempDir('fleet-dynsec');
  let broker: RunningBroker;
  let control: DynsecControl;
  let store: Store;
  let fleet: FleetSetup;
  let server: QosServer;
  let url = '';
  const clients: MqttClient[] = [];
  let enrolling: EnrollingRouter | null = null;

  beforeAll(async () => {
    broker = await startDynsecMosquitto(temp.path, ADMIN_PASSWORD);
    url = `mqtt://127.0.0.1:${broker.port}`;
    control = openDynsecControl({ url, username: 'admin', password: ADMIN_PASSWORD });
    await addServerLogin(control);
    const loginFile = join(temp.path, 'dynsec-admin.login');
    writeFileSync(loginFile, `admin:${ADMIN_PASSWORD}\n`);
    chmodSync(loginFile, 0o600);
    const config: ServerConfig = { ...DEFAULT_CONFIG, brokerUrl: url, httpPort: null, identities: 'dynsec', dynsecLoginFile: loginFile, enrolRetryS: 3, shareGroup: 'qos' };
    store = await openStore(`sqlite:${join(temp.path, 'callqos.db')}`);
    await store.migrate();
    const made = await setUpFleet(config, { store, broker: null, brokerUrl: url });
    if (!made.ok || made.value === null) throw new Error(made.ok ? 'no fleet part' : made.error.message);
    fleet = made.value;
    const bus = await connectServerMqtt({ url, clientId: 'qos-server-1', username: 'qos-server-1', password: SERVER_PASSWORD, shareGroup: 'qos', log: { info: () => {}, warn: () => {} } });
    server = new QosServer({ config, store, bus, planner: controlPlanner(), admit: admissionCheck, log: createLogger(() => {}), fleet: fleet.part });
    await server.start();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) await c.endAsync().catch(() => {});
    await enrolling?.close().catch(() => {});
    await server?.stop();
    await fleet?.close();
    await control?.close();
    await store?.close();
    await broker?.stop();
    temp.remove();
  });

  it('refuses an admin login file others can read, naming the option', async () => {
    const open = join(temp.path, 'open.login');
    writeFileSync(open, `admin:${ADMIN_PASSWORD}\n`);
    chmodSync(open, 0o644);
    const made = await setUpFleet({ ...DEFAULT_CONFIG, brokerUrl: url, identities: 'dynsec', dynsecLoginFile: open }, { store, broker: null, brokerUrl: url });
    expect(made).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: '--dynsec-login' } });
  });

  it('enrols a router through the enrolment login the server made, then revokes it: cut within 2 s, login refused', async () => {
    const group = await server.fleetActions!.createGroup(admin, { id: 'lab', name: 'Lab', domain: null, enrolPolicy: 'approve', reenrolPolicy: 'replace' });
    expect(group.ok).toBe(true);
    const key = await server.fleetActions!.createKey(admin, { group: 'lab', label: 'lab', expiresAtMs: null });
    if (!key.ok) throw new Error(key.error.message);
    enrolling = new EnrollingRouter('mac-02000000d1d1');
    await enrolling.connect(url, 5);
    expect(await enrolling.enrol(key.value.secret, routerPassword('d1'))).toEqual({ outcome: 'pending', retryS: 3 });
    expect((await server.fleetActions!.approve(admin, 'mac-02000000d1d1')).ok).toBe(true);
    expect(await enrolling.enrol(key.value.secret, routerPassword('d1'))).toEqual({ outcome: 'accepted', deviceId: 'mac-02000000d1d1', username: 'mac-02000000d1d1' });

    const device = await loginAs(url, 'mac-02000000d1d1', routerPassword('d1'));
    if (typeof device === 'string') throw new Error(`the enrolled router could not log in: ${device}`);
    clients.push(device);
    let cut = false;
    device.on('close', () => (cut = true));

    const revokedAt = Date.now();
    expect(await server.fleetActions!.revoke(admin, 'mac-02000000d1d1', 'left the lab')).toMatchObject({ ok: true, value: { state: 'revoked' } });
    await until(() => cut, 'the revoked router\'s connection cut', 2000);
    expect(Date.now() - revokedAt).toBeLessThan(2000);
    expect(await loginAs(url, 'mac-02000000d1d1', routerPassword('d1'))).toEqual(expect.any(String));
    expect(await enrolling.enrol(key.value.secret, routerPassword('d1'))).toMatchObject({ outcome: 'refused', code: 'E_REVOKED' });
  });
});
