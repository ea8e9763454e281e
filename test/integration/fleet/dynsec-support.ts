/**
 * A real Mosquitto with the dynamic-security plugin, in a directory of the test's own, on a free
 * loopback port: the plugin's JSON file is made by `mosquitto_ctrl dynsec init` with an admin
 * login, as deploy/mosquitto/callqos-dynsec.conf tells an operator to.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startMosquittoConf, type RunningMosquitto } from '../broker/support.ts';

export { startMosquittoConf };

export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
export const MOSQUITTO_CTRL = '/usr/bin/mosquitto_ctrl';

export type RunningBroker = RunningMosquitto;

/** Starts Mosquitto with `lines` (the listener is added) and waits until it listens. */
export async function startMosquittoWith(dir: string, lines: readonly string[]): Promise<RunningBroker> {
  return startMosquittoConf(dir, (port) => [`listener ${port} 127.0.0.1`, ...lines, 'persistence false'].join('\n'));
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
