// The agent's enrolment code (src/agent/fleet/) on the Node host with the real mosquitto_sub and
// mosquitto_pub, against the embedded broker holding the enrolment login and a scripted server
// that answers as the test says: pending then accepted (the saved login, its file modes, and that
// it really logs in), and a final refusal (stops, says why).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, type CredentialEntry } from '../../../src/cloud/broker/credentials.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/cloud/broker/embedded.ts';
import { connectServerMqtt, type ServerMqttClient } from '../../../src/cloud/mqtt/client.ts';
import type { AgentConfig } from '../../../src/core/config/index.ts';
import { parseAgentConfig } from '../../../src/core/config/index.ts';
import { detach } from '../../../src/core/detach.ts';
import { createLogger } from '../../../src/core/log.ts';
import { ENROL_PASSWORD, ENROL_USERNAME } from '../../../src/core/protocol/acl.ts';
import { decodeMessage, makeMessage, type EnrolRequestMessage } from '../../../src/core/protocol/envelope.ts';
import type { EnrolAnswerBody } from '../../../src/core/protocol/messages/enrol.ts';
import { allEnrolFilter, enrolTopic } from '../../../src/core/protocol/topics.ts';
import { startCloudWithLogin, type EnrolmentStatus } from '../../../src/agent/fleet/index.ts';
import { pathsUnder } from '../../../src/agent/fleet/probe.ts';
import { AGENT_VERSION } from '../../../src/agent/version.ts';
import { createNodeHost } from '../../../src/hosts/node/index.ts';
import { makeTempDir } from '../../support/temp.ts';
import { sleep, until } from '../../support/wait.ts';
import { FAKE_ROUTER_HARDWARE_ID, makeFakeRouter, UBUS_FIXTURES } from './fake-router.ts';

const KEY = 'grp1.0123456789abcdefXYZ_-';
const SERVER_PASSWORD = 'server-password-for-the-test';
const timings = { settleMs: 500, answerTimeoutMs: 5_000, backoffMinMs: 200, backoffMaxMs: 1_000 };

/** The server's side, played by the test: answers each request with the next scripted answer. */
class ScriptedEnrolServer {
  readonly requests: EnrolRequestMessage[] = [];
  /** Answers that failed to go out: a test that sees any fails. */
  readonly errors: string[] = [];
  private client!: ServerMqttClient;
  private seq = 0;
  constructor(private readonly answers: EnrolAnswerBody[]) {}

  async connect(url: string): Promise<void> {
    const quiet = { info: () => {}, warn: () => {} };
    this.client = await connectServerMqtt({ url, clientId: 'fleet-server', username: 'fleet-server', password: SERVER_PASSWORD, protocolVersion: 4, log: quiet });
    await this.client.subscribe(allEnrolFilter('req'), (_topic, text) => {
      const decoded = decodeMessage(text);
      if (!decoded.ok || decoded.value.type !== 'enrol.request') throw new Error(`bad enrolment request: ${text}`);
      const request = decoded.value;
      this.requests.push(request);
      const body = this.answers[Math.min(this.requests.length - 1, this.answers.length - 1)]!;
      this.seq += 1;
      const answer = makeMessage('enrol.answer', { id: `answer-${this.seq}`, corr: request.id, device: 'fleet-server', session: 1, seq: this.seq, ts: Date.now() }, body);
      if (!answer.ok) throw new Error(answer.error.message);
      detach(
        this.client.publishMessage(enrolTopic(request.body.hardwareId, 'res'), answer.value).then((sent) => {
          if (!sent.ok) this.errors.push(sent.error.message);
        }),
        (error) => this.errors.push(String(error)),
      );
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function enrolConfig(port: number, credentialsDir: string, stateDir: string): AgentConfig {
  const parsed = parseAgentConfig(
    `config agent 'agent'\n\toption state_dir '${stateDir}'\nconfig qos 'qos'\n\toption uplink_kbit 20000\n\toption downlink_kbit 100000\n` +
      `config cloud 'cloud'\n\toption enabled 1\n\toption broker 127.0.0.1\n\toption port ${port}\n\toption tls 0\n\toption enrol_key '${KEY}'\n\toption credentials_dir '${credentialsDir}'\n`,
  );
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value.config;
}

/** Whether mosquitto_sub gets in with this login (it exits 0 after -W 1 when it did, non-zero when refused). */
function loginWorks(port: number, username: string, password: string, topic: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-u', username, '-P', password, '-t', topic, '-W', '1', '-i', `check-${Date.now()}`]);
    child.on('exit', (code) => resolve(code === 27 || code === 0));
  });
}

describe('agent enrolment against the embedded broker', () => {
  const dir = makeTempDir('enrol');
  const logins = new Map<string, CredentialEntry>();
  let broker: EmbeddedBroker;
  let server: ScriptedEnrolServer | null = null;
  let stopAgent: (() => void) | null = null;
  const savedPath = process.env.PATH;
  const savedUbus = process.env.CALLQOS_FAKE_UBUS;
  const fake = makeFakeRouter(dir.path);

  beforeAll(async () => {
    process.env.PATH = `${fake.bin}:${join(UBUS_FIXTURES, 'bin')}:${savedPath ?? '/usr/bin:/bin'}`;
    process.env.CALLQOS_FAKE_UBUS = fake.ubusState;
    logins.set(ENROL_USERNAME, { user: ENROL_USERNAME, kind: 'enrol', hash: hashPassword(ENROL_PASSWORD) });
    logins.set('fleet-server', { user: 'fleet-server', kind: 'server', hash: hashPassword(SERVER_PASSWORD) });
    broker = await startEmbeddedBroker({ port: 0, credentials: logins, log: { info: () => {}, warn: () => {} } });
  });

  afterEach(async () => {
    stopAgent?.();
    stopAgent = null;
    expect(server?.errors ?? []).toEqual([]);
    await server?.close();
    server = null;
  });

  afterAll(async () => {
    await broker.close();
    process.env.PATH = savedPath;
    if (savedUbus === undefined) delete process.env.CALLQOS_FAKE_UBUS;
    else process.env.CALLQOS_FAKE_UBUS = savedUbus;
    dir.remove();
  });

  function runAgent(name: string) {
    const lines: string[] = [];
    const statuses: EnrolmentStatus[] = [];
    const started: { config: AgentConfig; deviceId: string }[] = [];
    const host = createNodeHost([]);
    const log = createLogger((line) => lines.push(line), 'debug');
    const config = enrolConfig(broker.port, join(dir.path, name, 'credentials'), join(dir.path, name, 'state'));
    const starter = startCloudWithLogin(host, log, config, 'OpenWrt', (c, deviceId) => started.push({ config: c, deviceId }), (s) => statuses.push(s), {
      timings,
      paths: pathsUnder(dir.path),
    });
    stopAgent = () => starter.stop();
    return { lines, statuses, started, config, host, log };
  }

  it('asks, waits while pending, saves the accepted login (mode 0600) and starts the link with it', async () => {
    server = new ScriptedEnrolServer([
      { outcome: 'pending', retryS: 1 },
      { outcome: 'accepted', deviceId: 'dev-000042', username: 'dev-000042' },
    ]);
    await server.connect(`mqtt://127.0.0.1:${broker.port}`);
    const agent = runAgent('accepted');
    await until(() => agent.started.length > 0, 'the cloud link started', 30_000, () => agent.lines.join('\n'));

    // The requests: the same router each time, one password, everything probed.
    const requests = server.requests;
    expect(requests.length).toBeGreaterThanOrEqual(2);
    const first = requests[0]!;
    expect(first.device).toBe(FAKE_ROUTER_HARDWARE_ID);
    expect(first.body).toEqual({
      key: KEY,
      hardwareId: FAKE_ROUTER_HARDWARE_ID,
      password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) as unknown as string,
      hostname: 'OpenWrt',
      hardware: { model: 'D-Link COVR-X1860 A1', boardName: 'dlink,covr-x1860-a1', release: '23.05-SNAPSHOT', target: 'ramips/mt7621', kernel: '5.15.130' },
      versions: { agent: AGENT_VERSION, quickjs: 'node' },
      features: { cake: true, fqCodel: true, ctinfo: true, flowOffload: false, nft: '1.0.6' },
    });
    expect(new Set(requests.map((r) => r.body.password)).size).toBe(1);
    expect(new Set(requests.map((r) => r.id)).size).toBe(requests.length);
    expect(agent.statuses.map((s) => s.state)).toContain('pending');
    expect(agent.statuses.at(-1)).toEqual({ state: 'enrolled', deviceId: 'dev-000042', hardwareId: FAKE_ROUTER_HARDWARE_ID });

    // The saved files: content and mode.
    const credentials = join(dir.path, 'accepted', 'credentials');
    const password = first.body.password;
    expect(readFileSync(join(credentials, 'enrolled-password'), 'utf8')).toBe(`${password}\n`);
    const saved = JSON.parse(readFileSync(join(credentials, 'enrolled.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toEqual({ deviceId: 'dev-000042', username: 'dev-000042', hardwareId: FAKE_ROUTER_HARDWARE_ID, broker: '127.0.0.1', enrolledAtMs: expect.any(Number) as unknown as number });
    expect(statSync(join(credentials, 'enrolled-password')).mode & 0o777).toBe(0o600);
    expect(statSync(join(credentials, 'enrolled.json')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(credentials, 'enrolling-password'))).toBe(false);

    // The link: the enrolled login and device id, the password file the saved one.
    const link = agent.started[0]!;
    expect(agent.started).toHaveLength(1);
    expect(link.deviceId).toBe('dev-000042');
    expect(link.config.cloud.username).toBe('dev-000042');
    expect(link.config.cloud.passwordFile).toBe(join(credentials, 'enrolled-password'));

    // The broker identity the server makes from the request's password lets the saved one in.
    logins.set('dev-000042', { user: 'dev-000042', kind: 'device', hash: hashPassword(password) });
    broker.setCredentials(logins);
    expect(await loginWorks(broker.port, 'dev-000042', readFileSync(link.config.cloud.passwordFile!, 'utf8').trim(), 'callqos/v1/dev/dev-000042/down')).toBe(true);
    expect(await loginWorks(broker.port, 'dev-000042', 'not-the-password-at-all-000', 'callqos/v1/dev/dev-000042/down')).toBe(false);

    // A later start goes straight to the link with the saved login, without asking.
    stopAgent?.();
    const before = server.requests.length;
    const again = runAgent('accepted');
    expect(again.started).toEqual([{ config: expect.anything() as unknown as AgentConfig, deviceId: 'dev-000042' }]);
    expect(again.started[0]!.config.cloud.passwordFile).toBe(join(credentials, 'enrolled-password'));
    await sleep(timings.settleMs * 2);
    expect(server.requests.length).toBe(before);
  });

  it('a restart while pending asks again with the same password, kept with mode 0600', async () => {
    server = new ScriptedEnrolServer([{ outcome: 'pending', retryS: 60 }]);
    await server.connect(`mqtt://127.0.0.1:${broker.port}`);
    const first = runAgent('restarted');
    await until(() => first.statuses.some((s) => s.state === 'pending'), 'pending', 30_000, () => first.lines.join('\n'));
    stopAgent?.();
    const kept = join(dir.path, 'restarted', 'credentials', 'enrolling-password');
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(readFileSync(kept, 'utf8')).toBe(`${server.requests[0]!.body.password}\n`);
    const second = runAgent('restarted');
    await until(() => server!.requests.length >= 2, 'the second request', 30_000, () => second.lines.join('\n'));
    expect(server.requests[1]!.body.password).toBe(server.requests[0]!.body.password);
    expect(server.requests[1]!.id).not.toBe(server.requests[0]!.id);
  });

  it('stops for good on a final refusal, logging the code at error and showing it in the status', async () => {
    server = new ScriptedEnrolServer([{ outcome: 'refused', code: 'E_KEY_REVOKED', detail: 'enrolment key grp1 was revoked' }]);
    await server.connect(`mqtt://127.0.0.1:${broker.port}`);
    const agent = runAgent('refused');
    await until(() => agent.statuses.some((s) => s.state === 'refused'), 'the refusal', 30_000, () => agent.lines.join('\n'));
    expect(agent.statuses.at(-1)).toEqual({ state: 'refused', code: 'E_KEY_REVOKED', detail: 'enrolment key grp1 was revoked', hardwareId: FAKE_ROUTER_HARDWARE_ID });
    const logged = agent.lines.find((line) => line.includes('E_KEY_REVOKED'));
    expect(logged).toBeDefined();
    expect(logged).toMatch(/error/i);
    expect(logged).toContain('enrolment key grp1 was revoked');
    // No second request, no link, nothing saved.
    await sleep(timings.answerTimeoutMs / 2);
    expect(server.requests).toHaveLength(1);
    expect(agent.started).toHaveLength(0);
    expect(() => statSync(join(dir.path, 'refused', 'credentials', 'enrolled.json'))).toThrow();
  });

  it('a router with a login configured by hand starts the link as before, without enrolling', async () => {
    const host = createNodeHost([]);
    const started: { config: AgentConfig; deviceId: string }[] = [];
    const config = enrolConfig(broker.port, join(dir.path, 'manual', 'credentials'), join(dir.path, 'manual', 'state'));
    const manual: AgentConfig = { ...config, cloud: { ...config.cloud, username: 'router-7', passwordFile: '/etc/callqos/password' } };
    const starter = startCloudWithLogin(host, createLogger(() => {}), manual, 'office-gw', (c, deviceId) => started.push({ config: c, deviceId }), () => {});
    starter.stop();
    expect(started).toEqual([{ config: manual, deviceId: 'office-gw' }]);
  });
});
