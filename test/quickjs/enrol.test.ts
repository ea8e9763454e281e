// The router's enrolment in the real bundle under real qjs 2021-03-27: the probe of a fake router
// (files, fake ubus and nft), random bytes from /dev/urandom, the request it builds, and a whole
// enrolment with the real mosquitto clients against the embedded broker and a scripted server
// (pending, then accepted), ending with the saved login (mode 0600).
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildQuickjsBundle } from '../../scripts/build.mjs';
import { hashPassword, type CredentialEntry } from '../../src/cloud/broker/credentials.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/cloud/broker/embedded.ts';
import { connectServerMqtt, type ServerMqttClient } from '../../src/cloud/mqtt/client.ts';
import { detach } from '../../src/core/detach.ts';
import { ENROL_PASSWORD, ENROL_USERNAME } from '../../src/core/protocol/acl.ts';
import { decodeMessage, makeMessage, type EnrolRequestMessage } from '../../src/core/protocol/envelope.ts';
import { allEnrolFilter, enrolTopic } from '../../src/core/protocol/topics.ts';
import { repoRoot } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';
import { FAKE_ROUTER_HARDWARE_ID, makeFakeRouter, UBUS_FIXTURES } from '../integration/enrolment/fake-router.ts';

const bundle = join(repoRoot, 'dist', 'test', 'enrol-quickjs.js');
const SERVER_PASSWORD = 'server-password-for-the-test';

interface Line {
  kind: string;
  [field: string]: unknown;
}

function runQjs(env: Record<string, string>): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(inject('qjsPath'), [bundle], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line), stderr });
    });
  });
}

describe('enrolment under QuickJS', () => {
  const dir = makeTempDir('enrol-qjs');
  const fake = makeFakeRouter(dir.path);
  const env = () => ({
    PATH: `${fake.bin}:${join(UBUS_FIXTURES, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    CALLQOS_FAKE_UBUS: fake.ubusState,
    CALLQOS_FAKE_ROOT: dir.path,
    CALLQOS_STATE: join(dir.path, 'agent'),
  });
  let broker: EmbeddedBroker;
  let server: ServerMqttClient;
  const requests: EnrolRequestMessage[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    await buildQuickjsBundle(join(repoRoot, 'test', 'quickjs', 'entries', 'enrol.ts'), bundle, { minify: false });
    const logins = new Map<string, CredentialEntry>([
      [ENROL_USERNAME, { user: ENROL_USERNAME, kind: 'enrol', hash: hashPassword(ENROL_PASSWORD) }],
      ['fleet-server', { user: 'fleet-server', kind: 'server', hash: hashPassword(SERVER_PASSWORD) }],
    ]);
    broker = await startEmbeddedBroker({ port: 0, credentials: logins, log: { info: () => {}, warn: () => {} } });
    server = await connectServerMqtt({ url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'fleet-server', username: 'fleet-server', password: SERVER_PASSWORD, protocolVersion: 4, log: { info: () => {}, warn: () => {} } });
    await server.subscribe(allEnrolFilter('req'), (_topic, text) => {
      const decoded = decodeMessage(text);
      if (!decoded.ok || decoded.value.type !== 'enrol.request') return void errors.push(`bad request: ${text}`);
      requests.push(decoded.value);
      const body = requests.length === 1 ? { outcome: 'pending' as const, retryS: 1 } : { outcome: 'accepted' as const, deviceId: 'dev-qjs-1', username: 'dev-qjs-1' };
      const answer = makeMessage('enrol.answer', { id: `answer-${requests.length}`, corr: decoded.value.id, device: 'fleet-server', session: 1, seq: requests.length, ts: Date.now() }, body);
      if (!answer.ok) return void errors.push(answer.error.message);
      detach(server.publishMessage(enrolTopic(decoded.value.body.hardwareId, 'res'), answer.value).then((r) => void (r.ok || errors.push(r.error.message))), (e) => errors.push(String(e)));
    });
  });

  afterAll(async () => {
    await server?.close();
    await broker?.close();
    dir.remove();
  });

  it('probes the router, reads /dev/urandom and builds a valid enrol.request', async () => {
    const run = await runQjs(env());
    expect(run.code, run.stderr).toBe(0);
    const probe = run.lines.find((l) => l.kind === 'probe');
    expect(probe, run.stderr).toBeDefined();
    expect(probe!.randomBytes).toBe(32);
    expect(probe!.probe).toMatchObject({
      hardwareId: FAKE_ROUTER_HARDWARE_ID,
      hostname: 'OpenWrt',
      hardware: { model: 'D-Link COVR-X1860 A1', boardName: 'dlink,covr-x1860-a1', release: '23.05-SNAPSHOT', target: 'ramips/mt7621', kernel: '5.15.130' },
      features: { cake: true, fqCodel: true, ctinfo: true, flowOffload: false, nft: '1.0.6' },
      // No opkg control file in the fake router: unknown, not a guess.
      versions: { quickjs: '' },
    });
    const decoded = decodeMessage(probe!.request as string);
    expect(decoded.ok, String(probe!.request)).toBe(true);
    if (!decoded.ok || decoded.value.type !== 'enrol.request') return;
    expect(decoded.value.device).toBe(FAKE_ROUTER_HARDWARE_ID);
    expect(decoded.value.body.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('enrols through the real clients: pending, then accepted, login saved with mode 0600', async () => {
    const run = await runQjs({ ...env(), CALLQOS_BROKER_PORT: String(broker.port) });
    expect(run.code, run.stderr).toBe(0);
    expect(errors).toEqual([]);
    const statuses = run.lines.filter((l) => l.kind === 'status').map((l) => (l.status as { state: string }).state);
    expect(statuses).toContain('pending');
    expect(statuses.at(-1)).toBe('enrolled');
    const credentials = join(dir.path, 'agent', 'credentials');
    expect(run.lines.find((l) => l.kind === 'started')).toEqual({ kind: 'started', deviceId: 'dev-qjs-1', username: 'dev-qjs-1', passwordFile: join(credentials, 'enrolled-password') });
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests[0]!.body.versions.quickjs).toBe('');
    expect(readFileSync(join(credentials, 'enrolled-password'), 'utf8')).toBe(`${requests.at(-1)!.body.password}\n`);
    expect(JSON.parse(readFileSync(join(credentials, 'enrolled.json'), 'utf8'))).toMatchObject({ deviceId: 'dev-qjs-1', username: 'dev-qjs-1', hardwareId: FAKE_ROUTER_HARDWARE_ID });
    expect(statSync(join(credentials, 'enrolled-password')).mode & 0o777).toBe(0o600);
    expect(statSync(join(credentials, 'enrolled.json')).mode & 0o777).toBe(0o600);
  });
});
