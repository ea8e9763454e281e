import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { connectServerMqtt, type ServerMqttClient } from '../../../src/cloud/mqtt/client.ts';
import { renderMosquittoAcl } from '../../../src/cloud/broker/mosquitto-acl.ts';
import { makeTempDir } from '../../support/temp.ts';
import { LOGINS, brokerAclCases, quietLog } from './acl-cases.ts';
import { MOSQUITTO, connectPlain, freePort, publishPlain, startMosquitto, waitFor, type RunningMosquitto } from './support.ts';

describe('Mosquitto with the shipped ACL rules and a mosquitto_passwd password file', () => {
  brokerAclCases(async () => {
    const dir = makeTempDir('mosquitto');
    const mosquitto = await startMosquitto(dir.path, LOGINS);
    return {
      port: mosquitto.port,
      stop: async () => {
        await mosquitto.stop();
        dir.remove();
      },
    };
  });
});

describe('Mosquitto specifics', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let mosquitto: RunningMosquitto;
  const servers: ServerMqttClient[] = [];

  beforeAll(async () => {
    dir = makeTempDir('mosquitto-share');
    mosquitto = await startMosquitto(dir.path, LOGINS);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await mosquitto?.stop();
    dir?.remove();
  });

  it('ships an ACL file that is the generator\'s output for the default server login', () => {
    const shipped = readFileSync(new URL('../../../deploy/mosquitto/callqos.acl', import.meta.url), 'utf8');
    expect(shipped).toBe(renderMosquittoAcl([{ user: 'callqos-server', kind: 'server' }]));
  });

  it('ships a configuration Mosquitto starts with (paths and port moved into the test directory)', async () => {
    const shipped = readFileSync(new URL('../../../deploy/mosquitto/callqos.conf', import.meta.url), 'utf8');
    const port = await freePort();
    const conf = shipped
      .split('/etc/mosquitto/callqos.passwd').join(join(dir.path, 'passwd'))
      .split('/etc/mosquitto/callqos.acl').join(join(dir.path, 'callqos.acl'))
      .replace('/var/lib/mosquitto/', `${dir.path}/`)
      .replace('listener 1883 127.0.0.1', `listener ${port} 127.0.0.1`);
    expect(conf).toContain(`listener ${port} 127.0.0.1`);
    const file = join(dir.path, 'shipped.conf');
    writeFileSync(file, `${conf}\nuser ${userInfo().username}\n`);
    const child = spawn(MOSQUITTO, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(() => output.includes(`listen socket on port ${port}`) || child.exitCode !== null, 'Mosquitto to listen', 5000);
      expect(child.exitCode, output).toBeNull();
      const device = await connectPlain(port, { username: 'owrt-a', password: 'device-a-secret', protocolVersion: 4 });
      device.end(true);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('splits device uplinks between two server instances in one share group', async () => {
    const received: string[][] = [[], []];
    for (const [i, user] of ['qos-1', 'qos-2'].entries()) {
      const server = await connectServerMqtt({
        url: `mqtt://127.0.0.1:${mosquitto.port}`, clientId: `${user}-shared`, username: user,
        password: LOGINS.find((l) => l.user === user)!.password, shareGroup: 'qos-servers', log: quietLog,
      });
      servers.push(server);
      expect(server.protocolVersion).toBe(5);
      expect(server.sharedSubscriptions).toBe(true);
      await server.subscribe('callqos/v1/dev/+/up', (_topic, text) => received[i]!.push(text));
    }
    const device = await connectPlain(mosquitto.port, { username: 'owrt-a', password: 'device-a-secret', protocolVersion: 4 });
    const sent = Array.from({ length: 40 }, (_, i) => `up-${i}`);
    for (const text of sent) await publishPlain(device, 'callqos/v1/dev/owrt-a/up', text);
    await waitFor(() => received[0]!.length + received[1]!.length >= sent.length, 'all uplinks');
    device.end(true);
    const [first, second] = received as [string[], string[]];
    console.log(`shared subscription split: ${first.length} + ${second.length} of ${sent.length}`);
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect(first.filter((t) => second.includes(t))).toEqual([]);
    expect([...first, ...second].sort()).toEqual([...sent].sort());
  });
});
