/**
 * A fleet on this machine for the dashboard's browser test: the real cloud program (built bundle,
 * embedded broker, SQLite in a temporary directory, routers' logins made by enrolment in its
 * credentials file) and simulated routers running the real agent under Node, as `npm run demo`
 * does: their nft and tc are recording stand-ins and their ubus answers from fixtures, but their
 * MQTT link (mosquitto_sub/mosquitto_pub), enrolment and gates are the real code.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildCloudBundle, buildDashboard, buildNodeAgentBundle } from '../../scripts/build.mjs';
import { startCloudWithLogin, pathsUnder, type EnrolmentStatus } from '../../src/agent/fleet/index.ts';
import { parseAgentConfig } from '../../src/core/config/index.ts';
import { createLogger } from '../../src/core/log.ts';
import { createNodeHost } from '../../src/hosts/node/index.ts';
import { makeFakeRouter } from '../integration/enrolment/fake-router.ts';
import { repoRoot } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';
import { until } from '../support/wait.ts';

const UBUS_FIXTURES = join(repoRoot, 'test', 'fixtures', 'ubus');
// The bundles go beside each other as in dist/: the cloud program serves ../dashboard/ from its own directory.
const OUT = join(repoRoot, 'dist', 'test', 'browser');

const RECORDING_NFT = '#!/bin/sh\n[ "$1" = monitor ] && exec sleep 2147483647\n[ "$1" = -f ] && cat >/dev/null\nexit 0\n';
const RECORDING_TC = '#!/bin/sh\nexit 0\n';

/**
 * An nft stand-in that also answers the agent's `get element` batch (how it reads a gate's
 * counters when the gate ends) with these counts, printed as nft 1.0.6 prints them: the final
 * usage then carries packets, as a real router's would.
 */
export function countingNft(up: { packets: number; bytes: number }, down: { packets: number; bytes: number }): string {
  return [
    '#!/bin/sh',
    '[ "$1" = monitor ] && exec sleep 2147483647',
    '[ "$1" = -f ] || exit 0',
    'cat | while read -r verb what _family _table map _rest; do',
    '  [ "$verb $what" = "get element" ] || continue',
    `  case "$map" in up_*) c='counter packets ${up.packets} bytes ${up.bytes}';; *) c='counter packets ${down.packets} bytes ${down.bytes}';; esac`,
    "  printf 'table inet callqos {\n\tmap %s {\n\t\telements = { 192.0.2.1 . 1 %s : goto mark_ef_v4 }\n\t}\n}\n' \"$map\" \"$c\"",
    'done',
    'exit 0',
    '',
  ].join('\n');
}

export interface Proc {
  readonly child: ChildProcess;
  log: string;
}

function start(argv: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const proc: Proc = { child, log: '' };
  child.stdout!.on('data', (d: Buffer) => (proc.log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (proc.log += d.toString()));
  return proc;
}

export async function waitForLog(proc: Proc, pattern: RegExp, what: string, ms = 30_000): Promise<RegExpExecArray> {
  let match: RegExpExecArray | null = null;
  await until(
    () => {
      if (proc.child.exitCode !== null) throw new Error(`${what}: the process exited (${proc.child.exitCode}):\n${proc.log.slice(-3000)}`);
      match = pattern.exec(proc.log);
      return match !== null;
    },
    what,
    ms,
    () => proc.log.slice(-3000),
  );
  return match!;
}

export interface RouterSpec {
  readonly name: string;
  /** The WAN address the server sees it from, and its LAN prefix's first address (x.x.x.1/24). */
  readonly wan: string;
  readonly lan: string;
  /** A login of its own made by hand (`credentials add device`), or an enrolment key. */
  readonly login: { readonly user: string; readonly passwordFile: string } | { readonly enrolKey: string };
  /** Its nft stand-in (default: records nothing, counts nothing). */
  readonly nft?: string;
}

export class FleetLab {
  readonly temp = makeTempDir('dashboard');
  cloudBundle = '';
  agentBundle = '';
  cloud: Proc | null = null;
  httpBase = '';
  mqttPort = 0;
  setupUrl: string | null = null;
  readonly routers = new Map<string, Proc>();
  private readonly stops: (() => void)[] = [];
  private readonly savedPath = process.env.PATH ?? '/usr/bin:/bin';
  private readonly savedUbus = process.env.CALLQOS_FAKE_UBUS;

  get credentialsFile(): string {
    return join(this.temp.path, 'credentials.jsonl');
  }

  async build(): Promise<void> {
    // The routers' MQTT link, as on OpenWrt (Debian: mosquitto-clients, which .ci/run installs).
    for (const tool of ['mosquitto_sub', 'mosquitto_pub']) {
      if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) throw new Error(`the simulated routers need ${tool}: apt-get install -y mosquitto-clients`);
    }
    const [cloud, agent] = await Promise.all([
      buildCloudBundle(join(OUT, 'cloud', 'callqos-cloud.mjs')),
      buildNodeAgentBundle(join(OUT, 'agent', 'callqos-agent-node.mjs')),
      buildDashboard(join(OUT, 'dashboard')),
    ]);
    this.cloudBundle = cloud.file;
    this.agentBundle = agent.file;
  }

  /** A router's broker login made by hand with the cloud program's credentials command; the password's file. */
  addDeviceLogin(deviceId: string): string {
    const made = spawnSync(process.execPath, [this.cloudBundle, 'credentials', '--file', this.credentialsFile, 'add', 'device', deviceId], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`credentials add device ${deviceId}: ${made.stderr}`);
    const file = join(this.temp.path, `${deviceId}.password`);
    writeFileSync(file, `${made.stdout.trim()}\n`, { mode: 0o600 });
    return file;
  }

  async startCloud(extraArgs: readonly string[] = []): Promise<void> {
    this.cloud = start([
      process.execPath,
      this.cloudBundle,
      '--mqtt-listen', '127.0.0.1:0',
      '--http', '127.0.0.1:0',
      '--store', `sqlite:${join(this.temp.path, 'callqos.db')}`,
      '--credentials', this.credentialsFile,
      '--identities', 'embedded',
      '--enrol-retry-s', '1',
      ...extraArgs,
    ]);
    const line = await waitForLog(this.cloud, /MQTT mqtt:\/\/127\.0\.0\.1:(\d+).*session API (http:\/\/127\.0\.0\.1:\d+)\//, 'the cloud program starts');
    this.mqttPort = Number(line[1]);
    this.httpBase = line[2]!;
    const setup = /(http:\/\/\S+\/setup#[A-Za-z0-9_-]+)/.exec(this.cloud.log);
    this.setupUrl = setup ? setup[1]! : null;
  }

  /** The router's UCI config (/etc/config/callqos) and its directory. */
  routerConfig(spec: RouterSpec): { dir: string; text: string } {
    const dir = join(this.temp.path, `router-${spec.name}`);
    const login =
      'enrolKey' in spec.login
        ? [`\toption enrol_key '${spec.login.enrolKey}'`, `\toption credentials_dir '${join(dir, 'credentials')}'`]
        : [`\toption username '${spec.login.user}'`, `\toption password_file '${spec.login.passwordFile}'`];
    const text = [
      "config agent 'agent'",
      ...('enrolKey' in spec.login ? [] : [`\toption device_id '${spec.login.user}'`]),
      `\toption state_dir '${join(dir, 'state')}'`,
      "config qos 'qos'",
      "\toption uplink_kbit '20000'",
      "\toption downlink_kbit '100000'",
      "\toption wan_device 'wan'",
      "\toption lan_device 'br-lan'",
      "config cloud 'cloud'",
      "\toption enabled '1'",
      "\toption broker '127.0.0.1'",
      `\toption port '${this.mqttPort}'`,
      "\toption tls '0'",
      "\toption keepalive_s '30'",
      ...login,
      '',
    ].join('\n');
    return { dir, text };
  }

  /**
   * The agent's own enrolment code (src/agent/fleet/) run in this process for a router whose
   * system is a fake one (test/integration/enrolment/fake-router.ts: its MACs, board and kernel
   * features), since this machine's interfaces give no hardware id. It asks with the key, waits
   * while pending and saves the login it is given in the router's credentials directory, where
   * the router's agent (startRouter, same config) finds it and connects with it.
   */
  enrol(spec: RouterSpec & { readonly login: { readonly enrolKey: string } }): { statuses: EnrolmentStatus[]; enrolled: Promise<string>; stop(): void } {
    const { dir, text } = this.routerConfig(spec);
    const parsed = parseAgentConfig(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const fake = makeFakeRouter(join(dir, 'system'));
    // The probe runs `ubus` and `nft` through PATH, as on a router: the fake system's, for this process's children.
    process.env.PATH = `${fake.bin}:${join(UBUS_FIXTURES, 'bin')}:${this.savedPath}`;
    process.env.CALLQOS_FAKE_UBUS = fake.ubusState;
    const statuses: EnrolmentStatus[] = [];
    const lines: string[] = [];
    let resolve: (deviceId: string) => void = () => undefined;
    const enrolled = new Promise<string>((r) => (resolve = r));
    const starter = startCloudWithLogin(createNodeHost([]), createLogger((line) => lines.push(line), 'debug'), parsed.value.config, 'OpenWrt', (_config, deviceId) => resolve(deviceId), (status) => statuses.push(status), {
      timings: { settleMs: 300, answerTimeoutMs: 5_000, backoffMinMs: 200, backoffMaxMs: 1_000 },
      paths: pathsUnder(join(dir, 'system')),
    });
    this.stops.push(() => starter.stop());
    return { statuses, enrolled, stop: () => starter.stop() };
  }

  /** Starts a simulated router; returns at once (its log says when it is connected). */
  startRouter(spec: RouterSpec): Proc {
    const { dir, text } = this.routerConfig(spec);
    const bin = join(dir, 'bin');
    mkdirSync(join(dir, 'ubus'), { recursive: true });
    mkdirSync(bin, { recursive: true });
    for (const [name, script] of [['nft', spec.nft ?? RECORDING_NFT], ['tc', RECORDING_TC]] as const) {
      writeFileSync(join(bin, name), script);
      chmodSync(join(bin, name), 0o755);
    }
    writeFileSync(join(dir, 'ubus', 'dump.json'), ubusDump(spec.lan, spec.wan));
    // The ubus stand-in reads its answers relative to its fixtures directory.
    writeFileSync(join(dir, 'ubus', 'dump'), relative(UBUS_FIXTURES, join(dir, 'ubus', 'dump.json')));
    writeFileSync(join(dir, 'ubus', 'board'), 'board.json');
    writeFileSync(join(dir, 'callqos'), text);
    const proc = start([process.execPath, this.agentBundle, 'run', '--config', join(dir, 'callqos')], {
      PATH: [bin, join(UBUS_FIXTURES, 'bin'), this.savedPath].join(':'),
      CALLQOS_FAKE_UBUS: join(dir, 'ubus'),
    });
    this.routers.set(spec.name, proc);
    return proc;
  }

  /** The call-control session API (/v1/sessions), as the SIP proxy or Kamailio would call it. */
  async sessionApi(method: 'POST' | 'DELETE' | 'GET', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.httpBase}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
  }

  close(): void {
    for (const stop of this.stops) stop();
    process.env.PATH = this.savedPath;
    if (this.savedUbus === undefined) delete process.env.CALLQOS_FAKE_UBUS;
    else process.env.CALLQOS_FAKE_UBUS = this.savedUbus;
    for (const proc of [...this.routers.values(), ...(this.cloud ? [this.cloud] : [])]) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    }
    this.temp.remove();
  }
}

/** netifd's `network.interface dump` for a router with LAN `lan`/24 and WAN `wan`/24 (real field names). */
export function ubusDump(lan: string, wan: string): string {
  const iface = (name: string, dev: string, address: string) => ({
    interface: name, up: true, pending: false, available: true, autostart: true, dynamic: false, uptime: 60, l3_device: dev, proto: 'static', device: dev,
    'ipv4-address': [{ address, mask: 24 }], 'ipv6-address': [], 'ipv6-prefix': [], 'ipv6-prefix-assignment': [], route: [], 'dns-server': [], 'dns-search': [], neighbors: [], data: {},
  });
  return JSON.stringify({ interface: [iface('lan', 'br-lan', lan), iface('wan', 'wan', wan)] });
}
