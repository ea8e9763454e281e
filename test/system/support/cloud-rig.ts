/**
 * The cloud lab (cloud-lab.ts) with its programs running: real Mosquitto and the QoS control
 * server (the built cloud bundle) in the cloud namespace, and the real agent bundle under real
 * qjs on both routers, each reading interfaces from a recorded ubus dump. Every program's output
 * is read as it comes (a full pipe would block it) and kept for assertions.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { buildCloudBundle } from '../../../scripts/build.mjs';
import { bundles, repoRoot } from '../../support/bundles.ts';
import { buildCloudLab, CLOUD_ADDRESS } from './cloud-lab.ts';
import type { CloudLab } from './cloud-lab.ts';
import type { Namespace } from './netns.ts';

export const MQTT_PORT = 1883;
/** With two domains: domain B's broker and its server's HTTP API, in the cloud namespace too. */
export const MQTT_PORT_B = 1884;
export const HTTP_PORT_B = 8081;
export const HTTP_PORT = 8080;

export interface Running {
  child: ChildProcess;
  log: string;
}

export type RouterName = 'A' | 'B';

export interface RigOptions {
  /** Shaped link rates the agents report; admission budgets EF against them. */
  readonly uplinkKbit: number;
  readonly downlinkKbit: number;
  /**
   * As deployed: Mosquitto takes only the logins `callqos-cloud credentials` made (one per router,
   * one for the server) with the per-device ACL it generated; the agents read their passwords
   * from files named in UCI. Otherwise the broker is open.
   */
  readonly perDeviceLogins?: boolean;
  /**
   * Two policy domains: router B, its broker (bridged to A's for the topics domains share, see
   * `bridge`) and its own server (`qos-b`, started with `serverArgs`); router A and the first
   * server (`qos-server-1`) are domain A. With `bridge` null the domains share A's broker, each
   * in its own topic tree: the routers are set to their domains, `domain-a` and `domain-b`.
   */
  readonly twoDomains?: { readonly bridge: readonly string[] | null; readonly serverArgs: readonly string[] };
  /**
   * Fleet enrolment as deployed with deploy/mosquitto/callqos-dynsec.conf: Mosquitto with the
   * dynamic-security plugin (its file made by `mosquitto_ctrl dynsec init` with the admin login)
   * beside the password and ACL files, which hold the server's own login and router B's hand-made
   * one; the server runs with `--identities dynsec --dynsec-login <0600 file> --enrol-retry-s 1`.
   * start() starts router B only: router A enrols, with a key made after the server runs, through
   * startEnrollingAgent('A', key).
   */
  readonly enrolment?: boolean;
}

/** With enrolment: router A's hardware id comes from this factory-style MAC on its wan port (RFC 7042 documentation range). */
export const ROUTER_A_MAC = '00:00:5e:00:53:0a';
export const ROUTER_A_HARDWARE_ID = 'mac-00005e00530a';
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export function start(ns: Namespace, argv: string[], env: Record<string, string> = {}): Running {
  const child = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const running: Running = { child, log: '' };
  child.stdout!.on('data', (d: Buffer) => (running.log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (running.log += d.toString()));
  return running;
}

export async function waitFor(running: Running, text: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!running.log.includes(text)) {
    if (Date.now() > end) throw new Error(`"${text}" not logged within ${ms} ms:\n${running.log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function until(what: () => boolean, ms: number, explain: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(explain());
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function stop(running: Running | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = running?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

export const count = (text: string, what: string): number => text.split(what).length - 1;

/** `login`: a hand-made one (device id and password file), an enrolment key with its credentials directory, or none (open broker). */
type AgentLogin = { readonly passwordFile: string } | { readonly enrolKey: string; readonly credentialsDir: string } | null;

function agentConfig(stateDir: string, device: string, options: RigOptions, login: AgentLogin, port: number, domain: string | null): string {
  const enrols = login !== null && 'enrolKey' in login;
  return [
    "config agent 'agent'",
    // An enrolling router takes the device id the server gives it (its hardware id).
    ...(enrols ? [] : [`\toption device_id '${device}'`]),
    `\toption state_dir '${stateDir}'`,
    "config qos 'qos'",
    `\toption uplink_kbit '${options.uplinkKbit}'`,
    `\toption downlink_kbit '${options.downlinkKbit}'`,
    "\toption wan_device 'wan'",
    "\toption lan_device 'br-lan'",
    "config cloud 'cloud'",
    "\toption enabled '1'",
    `\toption broker '${CLOUD_ADDRESS}'`,
    `\toption port '${port}'`,
    "\toption tls '0'",
    "\toption keepalive_s '10'",
    ...(domain === null ? [] : [`\toption domain '${domain}'`]),
    ...(login === null ? [] : 'enrolKey' in login ? [`\toption enrol_key '${login.enrolKey}'`, `\toption credentials_dir '${login.credentialsDir}'`] : [`\toption username '${device}'`, `\toption password_file '${login.passwordFile}'`]),
    '',
  ].join('\n');
}

/** A JSON answer from a server's HTTP API on the loopback of `ns`, through curl there. */
export function apiInNamespace(ns: Namespace, port: number, method: string, path: string, body?: unknown): Record<string, unknown> {
  const argv = ['ip', 'netns', 'exec', ns.name, 'curl', '-s', '-X', method, `http://127.0.0.1:${port}${path}`];
  if (body !== undefined) argv.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
  const run = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`${method} ${path}: no JSON answer (${run.status}): ${run.stdout.slice(0, 300)} ${run.stderr.slice(0, 300)}`);
  }
}

/** Polls the session's GET until it reads `state`; the error shows what it read and `context()` (logs). */
export async function untilSessionState(
  api: (method: string, path: string) => Record<string, unknown>,
  callId: string,
  state: string,
  ms: number,
  context: () => string,
): Promise<Record<string, unknown>> {
  const end = Date.now() + ms;
  for (;;) {
    const now = api('GET', `/v1/sessions/${encodeURIComponent(callId)}`);
    if (now.state === state) return now;
    if (Date.now() > end) throw new Error(`${callId} is ${JSON.stringify(now)}, not ${state}, after ${ms} ms:\n${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class CloudRig {
  lab!: CloudLab;
  temp = '';
  broker: Running | undefined;
  server: Running | undefined;
  /** With two domains: B's broker and server. */
  brokerB: Running | undefined;
  serverB: Running | undefined;
  readonly agents: Record<RouterName, Running | undefined> = { A: undefined, B: undefined };
  private cloudBundle = '';
  /** Passwords by login, when the broker checks logins. */
  readonly passwords = new Map<string, string>();

  constructor(private readonly options: RigOptions) {}

  /** The lab, the broker, the server (with `serverArgs`) and both agents, each router resynchronised. */
  async start(serverArgs: string[] = []): Promise<void> {
    this.lab = buildCloudLab();
    this.temp = mkdtempSync(join(tmpdir(), 'callqos-cp-'));
    // Inside the checkout, so that its packages resolve from node_modules.
    this.cloudBundle = (await buildCloudBundle(join(repoRoot, 'dist', 'test', 'callqos-cloud.mjs'))).file;
    const enrolment = this.options.enrolment === true;
    if (enrolment) this.lab.routerA.run(['ip', 'link', 'set', 'dev', 'wan', 'address', ROUTER_A_MAC]);
    const access = enrolment ? this.dynsecAccess() : this.options.perDeviceLogins ? this.makeLogins() : 'allow_anonymous true\n';
    const domains = this.options.twoDomains;
    const ownBrokerB = domains?.bridge != null;
    const bridge = domains?.bridge ? ['connection domain-b', `address 127.0.0.1:${MQTT_PORT_B}`, 'cleansession true', ...domains.bridge.map((t) => `topic ${t}`), ''].join('\n') : '';
    writeFileSync(join(this.temp, 'mosquitto.conf'), `listener ${MQTT_PORT} 0.0.0.0\n${access}set_tcp_nodelay true\npersistence false\nuser root\n${bridge}`);
    if (ownBrokerB) {
      writeFileSync(join(this.temp, 'mosquitto-b.conf'), `listener ${MQTT_PORT_B} 0.0.0.0\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nuser root\n`);
      this.brokerB = start(this.lab.cloud, ['mosquitto', '-c', join(this.temp, 'mosquitto-b.conf')]);
      await new Promise((r) => setTimeout(r, 300));
    }
    this.startBroker();
    const identities = enrolment ? ['--identities', 'dynsec', '--dynsec-login', this.dynsecLoginFile, '--enrol-retry-s', '1'] : [];
    await this.startServer([...identities, ...serverArgs]);
    if (domains) {
      this.serverB = start(this.lab.cloud, [
        process.execPath, this.cloudBundle, '--id', 'qos-b', '--broker', `mqtt://127.0.0.1:${ownBrokerB ? MQTT_PORT_B : MQTT_PORT}`, '--store', `sqlite:${join(this.temp, 'server-b.db')}`,
        '--http', `127.0.0.1:${HTTP_PORT_B}`, '--deadline-ms', '5000', '--log-level', 'debug', ...domains.serverArgs,
      ]);
      await waitFor(this.serverB, 'QoS control server running');
    }
    const routers = enrolment ? (['B'] as const) : (['A', 'B'] as const);
    for (const name of routers) {
      const passwordFile = this.options.perDeviceLogins || enrolment ? this.passwordFile(`rt${name}`) : null;
      const port = name === 'B' && ownBrokerB ? MQTT_PORT_B : MQTT_PORT;
      const domain = domains && !ownBrokerB ? `domain-${name.toLowerCase()}` : null;
      this.writeAgentConfig(name, passwordFile === null ? null : { passwordFile }, port, domain);
      this.startAgent(name);
    }
    for (const name of routers) await waitFor(this.agents[name]!, 'cloud session accepted');
    if (!enrolment) await waitFor(this.server!, 'device=rtA desired=');
    await waitFor(domains ? this.serverB! : this.server!, 'device=rtB desired=');
  }

  private writeAgentConfig(name: RouterName, login: AgentLogin, port: number, domain: string | null): void {
    const dir = join(this.temp, `rt${name}`);
    mkdirSync(join(dir, 'ubus'), { recursive: true });
    writeFileSync(join(dir, 'ubus', 'dump'), name === 'A' ? 'dump-cloud-lab-a.json' : 'dump-cloud-lab-b.json');
    writeFileSync(join(dir, 'ubus', 'board'), 'board.json');
    writeFileSync(join(dir, 'callqos'), agentConfig(join(dir, 'state'), `rt${name}`, this.options, login, port, domain));
  }

  /** With enrolment: the router's agent, set up with `enrolKey` and a credentials directory and no login; returns at once. */
  startEnrollingAgent(name: RouterName, enrolKey: string): Running {
    // The key goes into a UCI line between quotes: it must be the key's own characters.
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(enrolKey)) throw new Error(`enrolment key ${JSON.stringify(enrolKey)} has unexpected characters`);
    this.writeAgentConfig(name, { enrolKey, credentialsDir: this.credentialsDir(name) }, MQTT_PORT, null);
    return this.startAgent(name);
  }

  /** Where an enrolling router's agent saves the login it was given (UCI cloud.credentials_dir). */
  credentialsDir(name: RouterName): string {
    return join(this.temp, `rt${name}`, 'credentials');
  }

  /** The dynamic-security admin login, `user:password`, that the server reads (mode 0600). */
  get dynsecLoginFile(): string {
    return join(this.temp, 'dynsec-admin.login');
  }

  /** The built cloud program, for its commands (operators, credentials). */
  get cloudProgram(): string {
    return this.cloudBundle;
  }

  /**
   * The broker lines for enrolment: the dynamic-security plugin with its file made by
   * `mosquitto_ctrl dynsec init` (the admin login the server is given), and the password and ACL
   * files with the server's login and router B's (as callqos-dynsec.conf says). Logged to stderr,
   * where the rig reads it: connections name their user, and a cut connection shows.
   */
  private dynsecAccess(): string {
    const dynsecFile = join(this.temp, 'dynamic-security.json');
    const adminPassword = randomBytes(18).toString('base64url');
    // Nothing runs yet whose output this could hold up.
    const init = spawnSync('mosquitto_ctrl', ['dynsec', 'init', dynsecFile, 'callqos-admin', adminPassword], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init: ${init.stderr}${init.stdout}`);
    writeFileSync(this.dynsecLoginFile, `callqos-admin:${adminPassword}\n`, { mode: 0o600 });
    const files = this.makeLogins([['device', 'rtB'], ['server', 'qos-server-1']]);
    return `allow_anonymous false\nplugin ${DYNSEC_PLUGIN}\nplugin_opt_config_file ${dynsecFile}\n${files}log_dest stderr\n`;
  }

  /** Logins for both routers and the server through the cloud program's credentials command; the Mosquitto lines that use them. */
  private makeLogins(logins: ReadonlyArray<readonly ['device' | 'server', string]> = [['device', 'rtA'], ['device', 'rtB'], ['server', 'qos-server-1']]): string {
    const files = ['--file', join(this.temp, 'credentials.jsonl'), '--mosquitto-passwd', join(this.temp, 'mosquitto.passwd'), '--mosquitto-acl', join(this.temp, 'mosquitto.acl')];
    for (const [kind, id] of logins) {
      // Nothing runs yet whose output this could hold up.
      const made = spawnSync(process.execPath, [this.cloudBundle, 'credentials', ...files, 'add', kind, id], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`credentials add ${kind} ${id}: ${made.stderr}`);
      this.passwords.set(id, made.stdout.trim());
      writeFileSync(this.passwordFile(id), `${made.stdout.trim()}\n`, { mode: 0o600 });
    }
    return `allow_anonymous false\npassword_file ${join(this.temp, 'mosquitto.passwd')}\nacl_file ${join(this.temp, 'mosquitto.acl')}\n`;
  }

  private passwordFile(login: string): string {
    return join(this.temp, `${login}.password`);
  }

  get dbPath(): string {
    return join(this.temp, 'server.db');
  }

  startBroker(): void {
    this.broker = start(this.lab.cloud, ['mosquitto', '-c', join(this.temp, 'mosquitto.conf')]);
  }

  async startServer(extra: string[] = []): Promise<Running> {
    const login = this.options.perDeviceLogins || this.options.enrolment ? ['--broker-user', 'qos-server-1', '--broker-password-file', this.passwordFile('qos-server-1')] : [];
    const argv = [process.execPath, this.cloudBundle, '--broker', `mqtt://127.0.0.1:${MQTT_PORT}`, ...login, '--store', `sqlite:${this.dbPath}`, '--http', `127.0.0.1:${HTTP_PORT}`, '--deadline-ms', '5000', '--log-level', 'debug', ...extra];
    this.server = start(this.lab.cloud, argv);
    await waitFor(this.server, 'QoS control server running');
    return this.server;
  }

  startAgent(name: RouterName): Running {
    const dir = join(this.temp, `rt${name}`);
    const ns = name === 'A' ? this.lab.routerA : this.lab.routerB;
    this.agents[name] = start(ns, [inject('qjsPath'), bundles.agent, 'run', '--config', join(dir, 'callqos')], {
      PATH: `${repoRoot}/test/fixtures/ubus/bin:${process.env.PATH ?? ''}`,
      CALLQOS_FAKE_UBUS: join(dir, 'ubus'),
    });
    return this.agents[name]!;
  }

  /** The session API over HTTP, from inside the cloud namespace (the server listens on its loopback); `port`: another server's. */
  api(method: string, path: string, body?: unknown, port = HTTP_PORT): Record<string, unknown> {
    return apiInNamespace(this.lab.cloud, port, method, path, body);
  }

  /** Polls GET until the call reads `state`. */
  untilState(callId: string, state: string, ms = 10_000): Promise<Record<string, unknown>> {
    return untilSessionState((m, p) => this.api(m, p), callId, state, ms, () => this.server?.log.slice(-2000) ?? '');
  }

  /**
   * The router's table as nft lists it, without the early sets: they count marked packets of
   * flows that have no gate (yet, or any more), so they may name a call's ports when it has none.
   */
  gatesIn(name: RouterName): string {
    const listed = (name === 'A' ? this.lab.routerA : this.lab.routerB).run(['nft', 'list', 'table', 'inet', 'callqos']).stdout;
    return listed.replace(/\tset early_v[46] \{[\s\S]*?\n\t\}\n/g, '');
  }

  async stop(): Promise<void> {
    await stop(this.agents.A);
    await stop(this.agents.B);
    await stop(this.server);
    await stop(this.serverB);
    await stop(this.broker);
    await stop(this.brokerB);
    this.lab?.lab.destroy();
    if (this.temp) rmSync(this.temp, { recursive: true, force: true });
  }
}
