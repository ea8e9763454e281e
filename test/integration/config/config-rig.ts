/**
 * The configuration-version rig shared by the Node and the QuickJS tests: the embedded broker
 * with a login for the router and one for the server, the server's side played by an MQTT.js
 * client (accepts every open, answers a sync with one desired gate, records what the router
 * sends, sends `config.apply`), and a router's files: its UCI config, nft and tc stand-ins that
 * answer the self-test's questions, the ubus fixtures. The test starts the agent itself.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { hashPassword, type CredentialEntry } from '../../../src/cloud/broker/credentials.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { connectServerMqtt, type ServerMqttClient } from '../../../src/cloud/mqtt/client.ts';
import { SCHEMA_MARK } from '../../../src/core/dataplane/model.ts';
import { configHashOf } from '../../../src/core/fleet/config-version.ts';
import { sectionsOfFile } from '../../../src/core/fleet/router/config-file.ts';
import { decodeMessage, makeMessage, type BodyOf, type Message, type MessageType } from '../../../src/core/protocol/envelope.ts';
import type { ConfigReportBody, ConfigSection } from '../../../src/core/protocol/messages/config.ts';
import type { Gate } from '../../../src/core/protocol/messages/gates.ts';
import { allDevicesFilter, deviceTopic } from '../../../src/core/protocol/topics.ts';
import { repoRoot } from '../../support/bundles.ts';
import { until } from '../../support/wait.ts';

export const DEVICE = 'rtcfg';
const DEVICE_PASSWORD = 'device-password-for-the-test';
const SERVER_PASSWORD = 'server-password-for-the-test';
export const UBUS_FIXTURES = join(repoRoot, 'test', 'fixtures', 'ubus');

// The table check lists the forward chain as JSON: answer with the agent's schema mark.
const FAKE_NFT = `#!/bin/sh
[ "$1" = monitor ] && exec sleep 2147483647
[ "$1" = -f ] && cat >/dev/null && exit 0
[ "$1" = -j ] && [ "$3" = chain ] && echo '{"nftables":[{"rule":{"family":"inet","table":"callqos","chain":"forward","comment":"${SCHEMA_MARK}"}}]}'
exit 0
`;
const FAKE_TC = `#!/bin/sh
[ "$1" = class ] && [ "$2" = show ] && echo 'class htb 1:10 parent 1:1 prio 0 rate 6Mbit ceil 20Mbit burst 1600b cburst 1600b'
exit 0
`;

export const GATE: Gate = { id: 'g-call-1', direction: 'both', lan: { address: '192.168.1.20', port: 40000 }, remote: { address: '198.18.20.20', port: 40002 }, dscp: 46, rateKbps: 80, lifetimeS: 3600, session: 'call-1@test' };

/** The server's side: accepts every open, answers a sync with one desired gate, records what the device sends. */
export class ScriptedServer {
  readonly received: Message[] = [];
  readonly errors: string[] = [];
  private client!: ServerMqttClient;
  private seq = 0;

  async connect(url: string): Promise<void> {
    const quiet = { info: () => {}, warn: () => {} };
    this.client = await connectServerMqtt({ url, clientId: 'cfg-server', username: 'cfg-server', password: SERVER_PASSWORD, protocolVersion: 4, log: quiet });
    await this.client.subscribe(allDevicesFilter('up'), (_topic, text) => {
      const decoded = decodeMessage(text);
      if (!decoded.ok) {
        this.errors.push(`bad message from the device: ${decoded.error.message}`);
        return;
      }
      const m = decoded.value;
      this.received.push(m);
      if (m.type === 'open') this.send('accept', { server: 'cfg-server', keepaliveS: 30, accountingS: 0, version: 1 }, m.id);
      if (m.type === 'sync.request') this.send('sync.complete', { version: 1, part: { index: 0, count: 1 }, gates: [GATE] }, m.id);
    });
  }

  send<T extends MessageType>(type: T, body: BodyOf<T>, corr?: string): string {
    this.seq += 1;
    const header = { id: `cfg-server:1:${this.seq}`, device: 'cfg-server', session: 1, seq: this.seq, ts: Date.now() };
    const m = makeMessage(type, corr === undefined ? header : { ...header, corr }, body);
    if (!m.ok) throw new Error(m.error.message);
    this.client.publishMessage(deviceTopic(DEVICE, 'down'), m.value).then(
      (sent) => (sent.ok ? undefined : this.errors.push(sent.error.message)),
      (error: unknown) => this.errors.push(String(error)),
    );
    return m.value.id;
  }

  reports(corr?: string): ConfigReportBody[] {
    return this.received.filter((m) => m.type === 'config.report' && (corr === undefined || m.corr === corr)).map((m) => m.body as ConfigReportBody);
  }

  count(type: MessageType): number {
    return this.received.filter((m) => m.type === type).length;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** A TCP port nobody listens on (taken, then given back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ConfigRig {
  readonly broker: EmbeddedBroker;
  readonly server: ScriptedServer;
  readonly configPath: string;
  readonly credentialsDir: string;
  readonly stateDir: string;
  /** PATH and CALLQOS_FAKE_UBUS for the agent's process. */
  readonly env: Record<string, string>;
  sections(): ConfigSection[];
  /** Sends a version (its hash computed here); returns the message id its reports answer. */
  apply(version: number, sections: ConfigSection[], linkCheckS?: number): string;
  /** The report after `applying` (applied, rejected or rolled-back), waited for. */
  finalReport(corr: string, ms: number, context: () => string): Promise<ConfigReportBody>;
  close(): Promise<void>;
}

export function withOption(list: ConfigSection[], type: string, key: string, value: string): ConfigSection[] {
  return list.map((s) => (s.type === type ? { ...s, options: { ...s.options, [key]: value } } : s));
}

export interface RouterFiles {
  readonly configPath: string;
  readonly credentialsDir: string;
  readonly stateDir: string;
  /** PATH and CALLQOS_FAKE_UBUS for the agent's process. */
  readonly env: Record<string, string>;
}

/**
 * A router's files under `dir`: its UCI config (its own cloud section: the broker at
 * 127.0.0.1:`brokerPort` without TLS, the login `device` with its password in a 0600 file),
 * nft and tc stand-ins that answer the self-test's questions, the ubus fixtures.
 */
export function writeRouterFiles(dir: string, brokerPort: number, device: string, password: string): RouterFiles {
  const configPath = join(dir, 'callqos');
  const credentialsDir = join(dir, 'credentials');
  const stateDir = join(dir, 'state');
  const bin = join(dir, 'bin');
  const ubus = join(dir, 'ubus');
  mkdirSync(bin, { recursive: true });
  mkdirSync(ubus, { recursive: true });
  for (const [name, script] of [['nft', FAKE_NFT], ['tc', FAKE_TC]] as const) {
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  }
  writeFileSync(join(ubus, 'board'), 'board.json');
  writeFileSync(join(ubus, 'dump'), 'dump-dual-stack.json');
  const passwordFile = join(dir, 'device.password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(
    configPath,
    [
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
      "\toption broker '127.0.0.1'",
      `\toption port '${brokerPort}'`,
      "\toption tls '0'",
      "\toption keepalive_s '30'",
      `\toption username '${device}'`,
      `\toption password_file '${passwordFile}'`,
      `\toption credentials_dir '${credentialsDir}'`,
      '',
    ].join('\n'),
  );
  return { configPath, credentialsDir, stateDir, env: { PATH: [bin, join(UBUS_FIXTURES, 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(':'), CALLQOS_FAKE_UBUS: ubus } };
}

export async function startConfigRig(dir: string): Promise<ConfigRig> {
  const logins = new Map<string, CredentialEntry>([
    [DEVICE, { user: DEVICE, kind: 'device', hash: hashPassword(DEVICE_PASSWORD) }],
    ['cfg-server', { user: 'cfg-server', kind: 'server', hash: hashPassword(SERVER_PASSWORD) }],
  ]);
  const broker = await startEmbeddedBroker({ port: 0, credentials: logins, log: { info: () => {}, warn: () => {} } });
  const server = new ScriptedServer();
  await server.connect(`mqtt://127.0.0.1:${broker.port}`);
  const files = writeRouterFiles(dir, broker.port, DEVICE, DEVICE_PASSWORD);
  const { configPath, credentialsDir, stateDir } = files;
  return {
    broker,
    server,
    configPath,
    credentialsDir,
    stateDir,
    env: files.env,
    sections: () => sectionsOfFile(readFileSync(configPath, 'utf8'))!,
    apply: (version, list, linkCheckS = 5) => server.send('config.apply', { version, hash: configHashOf(list), sections: list, linkCheckS }),
    finalReport: async (corr, ms, context) => {
      await until(() => server.reports(corr).some((r) => r.state !== 'applying'), `the final report to ${corr}`, ms, context);
      return server.reports(corr).find((r) => r.state !== 'applying')!;
    },
    close: async () => {
      await server.close();
      await broker.close();
    },
  };
}
