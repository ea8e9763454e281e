// Configuration versions on the real agent (its Node bundle, `run --config`), with its real MQTT
// link (mosquitto_sub/mosquitto_pub) to the embedded broker, and the server's side played by an
// MQTT.js client: a version applied (applying, then applied with the self-test; the file changed,
// the server's gate kept), one with a bad rate rejected by path (file unchanged), one with a wrong
// broker port rolled back within linkCheckS (the link back on the old port), and a local edit
// reported as drift. nft and tc are stand-ins that answer the self-test's questions.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeAgentBundle } from '../../../scripts/build.mjs';
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
import { makeTempDir } from '../../support/temp.ts';
import { until } from '../../support/wait.ts';

const DEVICE = 'rtcfg';
const DEVICE_PASSWORD = 'device-password-for-the-test';
const SERVER_PASSWORD = 'server-password-for-the-test';
const UBUS_FIXTURES = join(repoRoot, 'test', 'fixtures', 'ubus');
const BUNDLE = join(repoRoot, 'dist', 'test', 'config-apply', 'callqos-agent-node.mjs');

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

const GATE: Gate = { id: 'g-call-1', direction: 'both', lan: { address: '192.168.1.20', port: 40000 }, remote: { address: '198.18.20.20', port: 40002 }, dscp: 46, rateKbps: 80, lifetimeS: 3600, session: 'call-1@test' };

/** The server's side: accepts every open, answers a sync with one desired gate, records what the device sends. */
class ScriptedServer {
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
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

describe('configuration versions on the real agent', () => {
  const dir = makeTempDir('config-apply');
  const configPath = join(dir.path, 'callqos');
  const credentialsDir = join(dir.path, 'credentials');
  let broker: EmbeddedBroker;
  let server: ScriptedServer;
  let agent: ChildProcess;
  let agentLog = '';
  const log = () => agentLog.slice(-4000);

  const sections = (): ConfigSection[] => sectionsOfFile(readFileSync(configPath, 'utf8'))!;
  const withOption = (list: ConfigSection[], type: string, key: string, value: string): ConfigSection[] =>
    list.map((s) => (s.type === type ? { ...s, options: { ...s.options, [key]: value } } : s));
  const apply = (version: number, list: ConfigSection[], linkCheckS = 5): string => server.send('config.apply', { version, hash: configHashOf(list), sections: list, linkCheckS });
  const finalReport = async (corr: string, ms = 20_000): Promise<ConfigReportBody> => {
    await until(() => server.reports(corr).some((r) => r.state !== 'applying'), `the final report to ${corr}`, ms, log);
    return server.reports(corr).find((r) => r.state !== 'applying')!;
  };

  beforeAll(async () => {
    const logins = new Map<string, CredentialEntry>([
      [DEVICE, { user: DEVICE, kind: 'device', hash: hashPassword(DEVICE_PASSWORD) }],
      ['cfg-server', { user: 'cfg-server', kind: 'server', hash: hashPassword(SERVER_PASSWORD) }],
    ]);
    broker = await startEmbeddedBroker({ port: 0, credentials: logins, log: { info: () => {}, warn: () => {} } });
    server = new ScriptedServer();
    await server.connect(`mqtt://127.0.0.1:${broker.port}`);
    await buildNodeAgentBundle(BUNDLE);

    const bin = join(dir.path, 'bin');
    const ubus = join(dir.path, 'ubus');
    mkdirSync(bin, { recursive: true });
    mkdirSync(ubus, { recursive: true });
    for (const [name, script] of [['nft', FAKE_NFT], ['tc', FAKE_TC]] as const) {
      writeFileSync(join(bin, name), script);
      chmodSync(join(bin, name), 0o755);
    }
    writeFileSync(join(ubus, 'board'), 'board.json');
    writeFileSync(join(ubus, 'dump'), 'dump-dual-stack.json');
    const passwordFile = join(dir.path, 'device.password');
    writeFileSync(passwordFile, `${DEVICE_PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(
      configPath,
      [
        "config agent 'agent'",
        `\toption device_id '${DEVICE}'`,
        `\toption state_dir '${join(dir.path, 'state')}'`,
        "config qos 'qos'",
        "\toption uplink_kbit '20000'",
        "\toption downlink_kbit '100000'",
        "\toption wan_device 'wan'",
        "\toption lan_device 'br-lan'",
        "config cloud 'cloud'",
        "\toption enabled '1'",
        "\toption broker '127.0.0.1'",
        `\toption port '${broker.port}'`,
        "\toption tls '0'",
        "\toption keepalive_s '30'",
        `\toption username '${DEVICE}'`,
        `\toption password_file '${passwordFile}'`,
        `\toption credentials_dir '${credentialsDir}'`,
        '',
      ].join('\n'),
    );
    agent = spawn(process.execPath, [BUNDLE, 'run', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: [bin, join(UBUS_FIXTURES, 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(':'), CALLQOS_FAKE_UBUS: ubus },
    });
    agent.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    await until(() => agentLog.includes('resynchronised'), 'the agent connects and holds the server gate', 30_000, log);
  }, 120_000);

  afterAll(async () => {
    // The agent writes its state until it has stopped: wait for that before removing its directory.
    if (agent && agent.exitCode === null) {
      const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
      agent.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    await broker?.close();
    dir.remove();
  });

  it('applies a valid version: applying, then applied with the self-test; the file changed, the gate kept', async () => {
    const next = withOption(sections(), 'qos', 'uplink_kbit', '30000');
    const id = apply(1, next);
    const report = await finalReport(id);
    expect(server.reports(id)[0]).toMatchObject({ version: 1, state: 'applying' });
    expect(report).toEqual({ version: 1, hash: configHashOf(next), state: 'applied', selfTest: { table: 'ok', queues: 'ok', counters: 'skipped' } });
    expect(configHashOf(sections())).toBe(configHashOf(next));
    expect(readFileSync(configPath, 'utf8')).toContain("option uplink_kbit '30000'");
    // The gate the server holds there survived the reload: no usage report ended it.
    expect(server.count('report.accounting')).toBe(0);
    const status = JSON.parse(readFileSync(join(dir.path, 'state', 'status.json'), 'utf8')) as { gates: number };
    expect(status.gates).toBe(1);
    // Kept for rollback and across restarts, private.
    const versions = join(credentialsDir, 'config-versions');
    expect(statSync(join(versions, 'v1.uci')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(versions, 'book.json'), 'utf8'))).toMatchObject({ applied: { version: 1, hash: configHashOf(next) }, good: [{ version: 1 }] });

    // The same version again: applied again, nothing redone.
    const again = apply(1, next);
    expect(await finalReport(again)).toEqual({ version: 1, hash: configHashOf(next), state: 'applied' });
  });

  it('rejects a version with a bad gate rate by its path, and leaves the file as it was', async () => {
    const before = readFileSync(configPath, 'utf8');
    const bad: ConfigSection[] = [...sections(), { type: 'gate', name: null, options: { lan_address: '192.168.1.30', lan_port: '5060', rate_kbit: '0' }, lists: {} }];
    const id = apply(2, bad);
    const report = await finalReport(id);
    expect(report.state).toBe('rejected');
    expect(report.reason).toMatch(/^E_CONFIG: /);
    expect(report.problems?.map((p) => p.path)).toEqual(['gate[0].rate_kbit']);
    expect(server.reports(id).map((r) => r.state)).toEqual(['rejected']);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
  });

  it('rolls back a version whose broker port is wrong within linkCheckS, back on the old link', async () => {
    const before = readFileSync(configPath, 'utf8');
    const opensBefore = server.count('open');
    const wrong = withOption(sections(), 'cloud', 'port', String(await freePort()));
    const sentAt = Date.now();
    const id = apply(3, wrong, 5);
    const report = await finalReport(id, 30_000);
    expect(report.state).toBe('rolled-back');
    expect(report.reason).toMatch(/^E_LINK: /);
    // The deadline, then the old link's reconnect (a few seconds of client backoff at most).
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(5_000);
    expect(Date.now() - sentAt).toBeLessThan(20_000);
    expect(server.reports(id).map((r) => r.state)).toEqual(['applying', 'rolled-back']);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    // The report came over a new session on the old settings, which the server accepted.
    expect(server.count('open')).toBeGreaterThan(opensBefore);
    expect(JSON.parse(readFileSync(join(credentialsDir, 'config-versions', 'book.json'), 'utf8'))).toMatchObject({ applied: { version: 1 } });
  });

  it('reports a local edit as drift, with the sections as they now are', async () => {
    const edited = readFileSync(configPath, 'utf8').replace("option uplink_kbit '30000'", "option uplink_kbit '25000'");
    writeFileSync(configPath, edited);
    agent.kill('SIGHUP');
    await until(() => server.reports().some((r) => r.state === 'drift'), 'the drift report', 15_000, log);
    const drift = server.reports().find((r) => r.state === 'drift')!;
    const now = sectionsOfFile(edited)!;
    expect(drift).toEqual({ version: 1, hash: configHashOf(now), state: 'drift', sections: now });
    expect(server.received.find((m) => m.type === 'config.report' && m.body.state === 'drift')?.corr).toBeUndefined();
    expect(server.errors).toEqual([]);
  });
});
