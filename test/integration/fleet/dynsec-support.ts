/**
 * A real Mosquitto with the dynamic-security plugin, in a directory of the test's own, on a free
 * loopback port: the plugin's JSON file is made by `mosquitto_ctrl dynsec init` with an admin
 * login, as deploy/mosquitto/callqos-dynsec.conf tells an operator to.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, MOSQUITTO, sleep } from '../broker/support.ts';

export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
export const MOSQUITTO_CTRL = '/usr/bin/mosquitto_ctrl';

export interface RunningBroker {
  port: number;
  log(): string;
  stop(): Promise<void>;
}

/** Starts Mosquitto with `lines` (the listener is added) and waits until it listens. */
export async function startMosquittoWith(dir: string, lines: readonly string[]): Promise<RunningBroker> {
  return startMosquittoConf(dir, (port) => [`listener ${port} 127.0.0.1`, ...lines, 'persistence false'].join('\n'));
}

/** Starts Mosquitto with the configuration `conf(port)` (the user and logging are added) and waits until it listens on `port`. */
export async function startMosquittoConf(dir: string, conf: (port: number) => string): Promise<RunningBroker> {
  const port = await freePort();
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, [
    conf(port),
    // Started as root, Mosquitto would drop to the "mosquitto" user, which cannot write the test's directory.
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

/** Mosquitto with dynsec, its JSON file initialised with the admin login `admin`/`adminPassword`. */
export async function startDynsecMosquitto(dir: string, adminPassword: string): Promise<RunningBroker> {
  const dynsecFile = join(dir, 'dynamic-security.json');
  const init = spawnSync(MOSQUITTO_CTRL, ['dynsec', 'init', dynsecFile, 'admin', adminPassword], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr}${init.stdout}`);
  return startMosquittoWith(dir, [
    'allow_anonymous false',
    `plugin ${DYNSEC_PLUGIN}`,
    `plugin_opt_config_file ${dynsecFile}`,
    'set_tcp_nodelay true',
  ]);
}
