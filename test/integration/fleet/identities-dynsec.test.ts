import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDynsecIdentities, deviceRoleName, type DynsecIdentities } from '../../../src/cloud/fleet/identities-dynsec.ts';
import { openDynsecControl, type DynsecControl } from '../../../src/cloud/fleet/dynsec-control.ts';
import { makeTempDir } from '../../support/temp.ts';
import { identitiesCases } from './identities-cases.ts';
import { collect, connectPlain, publishPlain, sleep, subscribePlain, waitFor } from '../broker/support.ts';
import { renderMosquittoAcl } from '../../../src/cloud/broker/mosquitto-acl.ts';
import { setMosquittoPassword } from '../../../src/cloud/broker/mosquitto-passwd.ts';
import { MOSQUITTO_CTRL, startDynsecMosquitto, startMosquittoConf, startMosquittoWith, type RunningBroker } from './dynsec-support.ts';

const ADMIN_PASSWORD = 'dynsec-admin-secret';

/** Creates a login that may publish and subscribe anywhere in callqos/v1 (the test's observer). */
async function addObserver(control: DynsecControl): Promise<void> {
  const answers = await control.send([
    { command: 'createRole', rolename: 'observer' },
    { command: 'addRoleACL', rolename: 'observer', acltype: 'publishClientSend', topic: 'callqos/v1/#', allow: true },
    { command: 'addRoleACL', rolename: 'observer', acltype: 'subscribePattern', topic: 'callqos/v1/#', allow: true },
    { command: 'createClient', username: 'observer', password: 'observer-secret', roles: [{ rolename: 'observer' }] },
  ]);
  expect(answers.ok && answers.value.every((a) => a.error === undefined), JSON.stringify(answers)).toBe(true);
}

describe('dynsec identities on a real Mosquitto 2.0 with the dynamic-security plugin', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let broker: RunningBroker;
  let identities: DynsecIdentities;
  let control: DynsecControl;

  identitiesCases(async () => {
    dir = makeTempDir('dynsec');
    broker = await startDynsecMosquitto(dir.path, ADMIN_PASSWORD);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    control = openDynsecControl({ url, username: 'admin', password: ADMIN_PASSWORD });
    await addObserver(control);
    identities = createDynsecIdentities({ url, username: 'admin', password: ADMIN_PASSWORD, timeoutMs: 5000 });
    return {
      port: broker.port,
      identities,
      observer: { username: 'observer', password: 'observer-secret' },
      stop: async () => {
        await identities.close();
        await control.close();
        await broker.stop();
        dir.remove();
      },
    };
  });

  it('keeps one role per device with its literal topics, and deletes it with the device', async () => {
    expect((await identities.upsertDevice('owrt-r', 'password-of-r-0123456789')).ok).toBe(true);
    const role = await control.send([{ command: 'getRole', rolename: deviceRoleName('owrt-r') }]);
    expect(role.ok).toBe(true);
    const acls = ((role.ok ? role.value[0]!.data : undefined) as { role: { acls: { acltype: string; topic: string; allow: boolean }[] } }).role.acls;
    expect(acls.map((a) => `${a.acltype} ${a.topic} ${a.allow}`).sort()).toEqual([
      'publishClientSend callqos/v1/dev/owrt-r/status true',
      'publishClientSend callqos/v1/dev/owrt-r/up true',
      'subscribeLiteral callqos/v1/dev/owrt-r/desired true',
      'subscribeLiteral callqos/v1/dev/owrt-r/down true',
    ]);
    expect((await identities.removeDevice('owrt-r')).ok).toBe(true);
    const gone = await control.send([{ command: 'getRole', rolename: deviceRoleName('owrt-r') }, { command: 'getClient', username: 'owrt-r' }]);
    expect(gone.ok && gone.value.map((a) => a.error)).toEqual(['Role not found', 'Client not found']);
  });

  it('closes the live connection of a device whose password changes (dynsec modifyClient kicks it)', async () => {
    expect((await identities.upsertDevice('owrt-k', 'first-password-of-k-0123')).ok).toBe(true);
    const live = await connectPlain(broker.port, { username: 'owrt-k', password: 'first-password-of-k-0123', clientId: 'owrt-k-live' });
    const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
    expect((await identities.upsertDevice('owrt-k', 'second-password-of-k-0123')).ok).toBe(true);
    await closed;
    (await connectPlain(broker.port, { username: 'owrt-k', password: 'second-password-of-k-0123', clientId: 'owrt-k-new' })).end(true);
    expect((await identities.removeDevice('owrt-k')).ok).toBe(true);
  });

  it('reports a wrong admin login, and a login that is no dynsec admin, as E_DYNSEC_UNREACHABLE with the reason', async () => {
    for (const [username, password, reason] of [
      ['admin', 'wrong-password', /not authori[sz]ed|bad user name or password/i],
      ['observer', 'observer-secret', /is this login a dynsec admin/],
    ] as const) {
      const other = createDynsecIdentities({ url: `mqtt://127.0.0.1:${broker.port}`, username, password, timeoutMs: 700 });
      try {
        const r = await other.prepare();
        expect(r.ok ? undefined : r.error.code, username).toBe('E_DYNSEC_UNREACHABLE');
        expect(r.ok ? '' : r.error.message, username).toMatch(reason);
      } finally {
        await other.close();
      }
    }
  });

  it('refuses the admin login\'s own name as a device id', async () => {
    const r = await identities.upsertDevice('admin', 'some-password-123456789');
    expect(r.ok ? undefined : r.error.code).toBe('E_INVALID_ID');
  });

  it('correlates answers of commands sent at the same time', async () => {
    const sends = Array.from({ length: 20 }, (_, i) => control.send([{ command: 'getClient', username: i % 2 === 0 ? 'observer' : `nobody-${i}` }]));
    const results = await Promise.all(sends);
    results.forEach((r, i) => {
      expect(r.ok).toBe(true);
      expect(r.ok && r.value[0]!.error).toBe(i % 2 === 0 ? undefined : 'Client not found');
    });
  });
});

describe('dynsec control against a broker that does not answer', () => {
  const timeoutMs = 700;
  /** Generous: the deadline is what is checked, not the speed of the machine. */
  const slack = 3000;

  it('fails with E_DYNSEC_UNREACHABLE when the broker never completes the MQTT connection', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const identities = createDynsecIdentities({ url: `mqtt://127.0.0.1:${port}`, username: 'admin', password: 'x', timeoutMs });
    try {
      const started = Date.now();
      const r = await identities.upsertDevice('owrt-a', 'password-of-a-0123456789');
      expect(Date.now() - started).toBeLessThan(timeoutMs + slack);
      expect(r.ok ? undefined : r.error.code).toBe('E_DYNSEC_UNREACHABLE');
    } finally {
      await identities.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  describe('a Mosquitto without the plugin (nobody answers on $CONTROL)', () => {
    let dir: ReturnType<typeof makeTempDir>;
    let broker: RunningBroker;
    beforeAll(async () => {
      dir = makeTempDir('no-dynsec');
      broker = await startMosquittoWith(dir.path, ['allow_anonymous true']);
    });
    afterAll(async () => {
      await broker?.stop();
      dir?.remove();
    });

    it('fails with E_DYNSEC_TIMEOUT within the deadline', async () => {
      const identities = createDynsecIdentities({ url: `mqtt://127.0.0.1:${broker.port}`, username: 'admin', password: 'x', timeoutMs });
      try {
        const started = Date.now();
        const r = await identities.prepare();
        expect(Date.now() - started).toBeLessThan(timeoutMs + slack);
        expect(r.ok ? undefined : r.error.code).toBe('E_DYNSEC_TIMEOUT');
        // Closed: every later command fails at once with its own code.
        await identities.close();
        const after = await identities.disableDevice('owrt-a');
        expect(after.ok ? undefined : after.error.code).toBe('E_DYNSEC_CLOSED');
      } finally {
        await identities.close();
      }
    });
  });
});

describe('the shipped dynsec configuration (deploy/mosquitto/callqos-dynsec.conf)', () => {
  it('starts as its comments say, with file logins for servers beside dynsec logins for devices', async () => {
    const dir = makeTempDir('dynsec-shipped');
    const shipped = readFileSync(new URL('../../../deploy/mosquitto/callqos-dynsec.conf', import.meta.url), 'utf8');
    const dynsecFile = join(dir.path, 'dynamic-security.json');
    const init = spawnSync(MOSQUITTO_CTRL, ['dynsec', 'init', dynsecFile, 'callqos-admin', ADMIN_PASSWORD], { encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    setMosquittoPassword(join(dir.path, 'passwd'), 'callqos-server', 'server-secret');
    writeFileSync(join(dir.path, 'callqos.acl'), renderMosquittoAcl([{ user: 'callqos-server', kind: 'server' }]));
    const broker = await startMosquittoConf(dir.path, (port) => {
      const conf = shipped
        .split('/var/lib/mosquitto/dynamic-security.json').join(dynsecFile)
        .split('/etc/mosquitto/callqos.passwd').join(join(dir.path, 'passwd'))
        .split('/etc/mosquitto/callqos.acl').join(join(dir.path, 'callqos.acl'))
        .replace('persistence_location /var/lib/mosquitto/', `persistence_location ${dir.path}/`)
        .replace('listener 1883 127.0.0.1', `listener ${port} 127.0.0.1`);
      expect(conf).toContain(`listener ${port} 127.0.0.1`);
      const settings = conf.split('\n').filter((line) => !line.startsWith('#'));
      expect(settings.filter((line) => /\/var\/lib|\/etc\/mosquitto/.test(line))).toEqual([]);
      return conf;
    });
    const identities = createDynsecIdentities({ url: `mqtt://127.0.0.1:${broker.port}`, username: 'callqos-admin', password: ADMIN_PASSWORD });
    try {
      expect(await identities.prepare()).toEqual({ ok: true, value: undefined });
      expect((await identities.upsertDevice('owrt-s', 'password-of-s-0123456789')).ok).toBe(true);
      const server = await connectPlain(broker.port, { username: 'callqos-server', password: 'server-secret', clientId: 'server' });
      const seen = collect(server);
      expect(await subscribePlain(server, 'callqos/v1/#')).toBeLessThan(128);
      const device = await connectPlain(broker.port, { username: 'owrt-s', password: 'password-of-s-0123456789', clientId: 'owrt-s' });
      await publishPlain(device, 'callqos/v1/dev/owrt-x/up', 'as-another');
      await publishPlain(device, 'callqos/v1/dev/owrt-s/up', 'own');
      await waitFor(() => seen.some((m) => m.text === 'own'), 'the device\'s uplink at the file-login server');
      await sleep(50);
      expect(seen.some((m) => m.text === 'as-another')).toBe(false);
      device.end(true);
      server.end(true);
    } finally {
      await identities.close();
      await broker.stop();
      dir.remove();
    }
  });
});
