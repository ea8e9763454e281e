/**
 * Helpers for the broker tests: free ports, a real Mosquitto with the shipped configuration
 * rules, plain MQTT.js clients standing in for devices and call control, and waiting for (or
 * proving the absence of) deliveries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { PrincipalKind } from '../../../src/core/protocol/acl.ts';
import { renderMosquittoAcl } from '../../../src/cloud/broker/mosquitto-acl.ts';
import { setMosquittoPassword } from '../../../src/cloud/broker/mosquitto-passwd.ts';
import { EXPECTED_WITHIN_MS } from '../../support/wait.ts';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Login {
  user: string;
  kind: PrincipalKind;
  password: string;
  /** A login of this policy domain on a shared broker. */
  domain?: string;
}

export interface RunningMosquitto {
  port: number;
  log(): string;
  stop(): Promise<void>;
}

/** Starts Mosquitto on a free port with a generated password file and ACL for `logins`. */
export async function startMosquitto(dir: string, logins: readonly Login[]): Promise<RunningMosquitto> {
  const passwordFile = join(dir, 'passwd');
  for (const login of logins) setMosquittoPassword(passwordFile, login.user, login.password);
  const aclFile = join(dir, 'callqos.acl');
  writeFileSync(aclFile, renderMosquittoAcl(logins));
  return startMosquittoConf(dir, (port) => [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    'per_listener_settings false',
    `password_file ${passwordFile}`,
    `acl_file ${aclFile}`,
    'set_tcp_nodelay true',
    'persistence false',
  ].join('\n'));
}

/**
 * Starts Mosquitto on a free port with the configuration `conf(port)` (the user and logging are
 * added) and waits until it listens.
 */
export async function startMosquittoConf(dir: string, conf: (port: number) => string): Promise<RunningMosquitto> {
  const port = await freePort();
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, [
    conf(port),
    // Started as root, Mosquitto would drop to the "mosquitto" user, which cannot read the test's 0600 files.
    `user ${userInfo().username}`,
    'log_dest stderr',
    'log_type all',
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${output}`);
    if (output.includes(`Opening ipv4 listen socket on port ${port}`)) break;
    if (Date.now() > deadline) throw new Error(`mosquitto did not start: ${output}`);
    await sleep(50);
  }
  await sleep(100);
  return {
    port,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A plain MQTT.js client (a device or call-control stand-in); rejects when the login is refused. */
export function connectPlain(port: number, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error('closed before connack')));
  });
}

export function publishPlain(client: MqttClient, topic: string, text: string, retain = false): Promise<void> {
  return new Promise((resolve) => {
    // A refused publish may close the connection (aedes) or be dropped (Mosquitto); either way resolve.
    const timer = setTimeout(done, 1000);
    function done(): void {
      clearTimeout(timer);
      client.off('close', done);
      resolve();
    }
    client.publish(topic, text, { qos: 1, retain }, done);
    client.once('close', done);
  });
}

/** Subscribes and returns the granted QoS, 128 for a failure return code in the SUBACK. */
export function subscribePlain(client: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos: 1 }, (error, granted) => {
      // MQTT.js turns a 0x80 return code into an error carrying the SUBACK.
      if (error && /Subscribe error/.test(error.message)) return resolve(128);
      return error ? reject(error) : resolve(granted?.[0]?.qos ?? -1);
    });
  });
}

/** Collects every message a client receives. */
export function collect(client: MqttClient): { topic: string; text: string }[] {
  const got: { topic: string; text: string }[] = [];
  client.on('message', (topic, payload) => got.push({ topic, text: payload.toString() }));
  return got;
}

export async function waitFor(check: () => boolean, what: string, ms = EXPECTED_WITHIN_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
