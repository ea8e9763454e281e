/**
 * The lab for calls on a company's routed private network: two offices numbered from 10/8 with no
 * NAT, call control on a third private subnet, a home behind NAT, and a router that was given an
 * office's network by mistake; all joined by a core that stands for the company's VPN and, for the
 * home, the Internet.
 *
 *   phA  eth0 10.1.0.20/24      -- rtA  br-lan 10.1.0.1/24,  wan 10.255.1.2/30 -- core 10.255.1.1
 *   phB  eth0 10.2.0.20/24      -- rtB  br-lan 10.2.0.1/24,  wan 10.255.2.2/30 -- core 10.255.2.1
 *   phH  eth0 192.168.1.20/24   -- rtH  br-lan 192.168.1.1/24, wan 203.0.113.1/24 -- core 203.0.113.254
 *                                  (source NAT: the home's phone is behind it)
 *   phX  (nothing runs there)  -- rtX  br-lan 10.2.0.1/24,  wan 10.255.7.2/30 -- core 10.255.7.1
 *   cloud eth0 10.3.0.10/24 -- core 10.3.0.1: Mosquitto, the QoS control server, the SIP proxy
 *
 * The core routes 10.1.0.0/24 to rtA and 10.2.0.0/24 to rtB: office B's network really is behind
 * rtB, whatever rtX reports. Each router runs the real agent under qjs, its interfaces read from
 * `test/fixtures/ubus/dump-routed-lab-<name>.json`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { buildCloudBundle } from '../../../scripts/build.mjs';
import { bundles, repoRoot } from '../../support/bundles.ts';
import { apiInNamespace, start, stop, untilSessionState, waitFor, type Running } from './cloud-rig.ts';
import { Lab, type Namespace } from './netns.ts';

export const CALL_CONTROL = '10.3.0.10';
export const HOME_WAN = '203.0.113.1';
export const PHONES = { A: '10.1.0.20', B: '10.2.0.20', H: '192.168.1.20' } as const;
export const SCOPE = 'corp=10.0.0.0/8';
const MQTT_PORT = 1883;
const HTTP_PORT = 8080;

export type RouterName = 'A' | 'B' | 'H' | 'X';
const DUMPS: Record<RouterName, string> = { A: 'dump-routed-lab-a.json', B: 'dump-routed-lab-b.json', H: 'dump-routed-lab-home.json', X: 'dump-routed-lab-x.json' };

export interface RoutedLab {
  readonly lab: Lab;
  readonly core: Namespace;
  readonly cloud: Namespace;
  readonly routers: Record<RouterName, Namespace>;
  readonly phones: Record<'A' | 'B' | 'H', Namespace>;
}

function site(lab: Lab, core: Namespace, name: string, lan: string, phone: string | null, wan: string, wanLength: number, coreSide: string): { router: Namespace; phone: Namespace } {
  const router = lab.namespace(`rt${name}`);
  // Without a phone the LAN still needs a device the agent can shape: a link to an empty namespace.
  const phoneNs = lab.namespace(`ph${name}`);
  lab.link(phoneNs, 'eth0', `${phone ?? lan.replace(/\.\d+$/, '.200')}/24`, router, 'br-lan', `${lan}/24`);
  phoneNs.run(['ip', 'route', 'add', 'default', 'via', lan]);
  lab.link(router, 'wan', `${wan}/${wanLength}`, core, `to${name}`, `${coreSide}/${wanLength}`);
  router.run(['ip', 'route', 'add', 'default', 'via', coreSide]);
  router.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return { router, phone: phoneNs };
}

export function buildRoutedLab(lab: Lab): RoutedLab {
  const core = lab.namespace('core');
  core.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  const a = site(lab, core, 'A', '10.1.0.1', PHONES.A, '10.255.1.2', 30, '10.255.1.1');
  const b = site(lab, core, 'B', '10.2.0.1', PHONES.B, '10.255.2.2', 30, '10.255.2.1');
  const h = site(lab, core, 'H', '192.168.1.1', PHONES.H, HOME_WAN, 24, '203.0.113.254');
  const x = site(lab, core, 'X', '10.2.0.1', null, '10.255.7.2', 30, '10.255.7.1');
  const cloud = lab.namespace('cloud');
  lab.link(cloud, 'eth0', `${CALL_CONTROL}/24`, core, 'toC', '10.3.0.1/24');
  cloud.run(['ip', 'route', 'add', 'default', 'via', '10.3.0.1']);
  core.run(['ip', 'route', 'add', '10.1.0.0/24', 'via', '10.255.1.2']);
  core.run(['ip', 'route', 'add', '10.2.0.0/24', 'via', '10.255.2.2']);
  h.router.nft('table ip nat {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat;\n\t\toifname "wan" masquerade\n\t}\n}\n');
  return { lab, core, cloud, routers: { A: a.router, B: b.router, H: h.router, X: x.router }, phones: { A: a.phone, B: b.phone, H: h.phone } };
}

function agentConfig(stateDir: string, device: string): string {
  return [
    "config agent 'agent'",
    `\toption device_id '${device}'`,
    `\toption state_dir '${stateDir}'`,
    "config qos 'qos'",
    "\toption uplink_kbit '20000'",
    "\toption downlink_kbit '100000'",
    "\toption wan_device 'wan'",
    "\toption lan_device 'br-lan'",
    "config cloud 'cloud'",
    "\toption enabled '1'",
    `\toption broker '${CALL_CONTROL}'`,
    `\toption port '${MQTT_PORT}'`,
    "\toption tls '0'",
    "\toption keepalive_s '10'",
    '',
  ].join('\n');
}

/** The lab with its programs: Mosquitto, the QoS server with the routed scope, the SIP proxy, and the agents started on demand. */
export class RoutedRig {
  lab!: RoutedLab;
  temp = '';
  broker: Running | undefined;
  server: Running | undefined;
  proxy: Running | undefined;
  readonly agents: Partial<Record<RouterName, Running>> = {};
  private readonly others: Running[] = [];
  bundle = '';

  async start(): Promise<void> {
    const lab = new Lab();
    try {
      this.lab = buildRoutedLab(lab);
    } catch (error) {
      lab.destroy();
      throw error;
    }
    this.temp = mkdtempSync(join(tmpdir(), 'callqos-routed-'));
    this.bundle = (await buildCloudBundle(join(repoRoot, 'dist', 'test', 'callqos-cloud.mjs'))).file;
    writeFileSync(join(this.temp, 'mosquitto.conf'), `listener ${MQTT_PORT} ${CALL_CONTROL}\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nuser root\n`);
    this.broker = start(this.lab.cloud, ['mosquitto', '-c', join(this.temp, 'mosquitto.conf')]);
    await new Promise((r) => setTimeout(r, 300));
    const broker = `mqtt://${CALL_CONTROL}:${MQTT_PORT}`;
    this.server = start(this.lab.cloud, [
      process.execPath, this.bundle, '--broker', broker, '--store', `sqlite:${join(this.temp, 'server.db')}`, '--http', `127.0.0.1:${HTTP_PORT}`,
      '--deadline-ms', '5000', '--log-level', 'debug', '--routed-scope', SCOPE,
    ]);
    await waitFor(this.server, 'QoS control server running');
    this.proxy = start(this.lab.cloud, [
      process.execPath, this.bundle, 'sip', 'run', '--id', 'sip-1', '--broker', broker, '--listen', `${CALL_CONTROL}:5060`, '--qos', 'hold', '--session-timeout-ms', '8000', '--log-level', 'debug',
    ]);
    await waitFor(this.proxy, 'callqos SIP proxy sip-1');
  }

  /** Starts router `name`'s agent and waits until the server published its desired state (it opened and reported). */
  async startAgent(name: RouterName): Promise<void> {
    const dir = join(this.temp, `rt${name}`);
    mkdirSync(join(dir, 'ubus'), { recursive: true });
    writeFileSync(join(dir, 'ubus', 'dump'), DUMPS[name]);
    writeFileSync(join(dir, 'ubus', 'board'), 'board.json');
    writeFileSync(join(dir, 'callqos'), agentConfig(join(dir, 'state'), `rt${name}`));
    this.agents[name] = start(this.lab.routers[name], [inject('qjsPath'), bundles.agent, 'run', '--config', join(dir, 'callqos')], {
      PATH: `${repoRoot}/test/fixtures/ubus/bin:${process.env.PATH ?? ''}`,
      CALLQOS_FAKE_UBUS: join(dir, 'ubus'),
    });
    await waitFor(this.agents[name], 'cloud session accepted');
    await waitFor(this.server!, `device=rt${name} desired=`);
  }

  /** A sipp phone in `ns`; its exit code resolves `exit`. */
  sipp(ns: Namespace, args: string[]): Running & { exit: Promise<number | null> } {
    const running = start(ns, ['sipp', ...args, '-nostdin']);
    this.others.push(running);
    return Object.assign(running, { exit: new Promise<number | null>((resolve) => running.child.on('close', resolve)) });
  }

  /** The server's HTTP API, from inside the cloud namespace. */
  api(method: string, path: string, body?: unknown): Record<string, unknown> {
    return apiInNamespace(this.lab.cloud, HTTP_PORT, method, path, body);
  }

  untilState(callId: string, state: string, ms = 10_000): Promise<Record<string, unknown>> {
    return untilSessionState((m, p) => this.api(m, p), callId, state, ms, () => `${this.server?.log.slice(-3000)}\n${this.proxy?.log.slice(-2000)}`);
  }

  gatesIn(name: RouterName): string {
    return this.lab.routers[name].run(['nft', 'list', 'table', 'inet', 'callqos']).stdout;
  }

  async stop(): Promise<void> {
    for (const running of this.others) await stop(running, 'SIGKILL');
    for (const agent of Object.values(this.agents)) await stop(agent);
    await stop(this.proxy);
    await stop(this.server);
    await stop(this.broker);
    this.lab?.lab.destroy();
    if (this.temp) rmSync(this.temp, { recursive: true, force: true });
  }
}
