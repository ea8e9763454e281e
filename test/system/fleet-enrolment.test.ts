/**
 * Fleet enrolment on the path real routers take: Mosquitto with the dynamic-security plugin and
 * the QoS control server (built bundle, `--identities dynsec`) in the cloud namespace, the real
 * agent bundle under real qjs on two routers. Router A has no login, only an enrolment key: its
 * hardware id comes from the factory-style MAC of its wan port, it asks with the key, waits while
 * pending, and once an operator approves it through the operators' HTTP API (curl with a cookie
 * jar inside the cloud namespace, as a script of the operator's would) it connects with the login
 * the server made for it. Router B keeps a login made by hand (`callqos-cloud credentials`). A call
 * between them gets QoS; revoking router A cuts it off the broker, ends the call with E_REVOKED
 * and its gates go: router B's by removal, router A's (which nobody can reach any more) by lifetime.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLOUD_ADDRESS, PHONE_A, PHONE_B, ROUTER_A_WAN, ROUTER_B_WAN } from './support/cloud-lab.ts';
import { CloudRig, HTTP_PORT, ROUTER_A_HARDWARE_ID } from './support/cloud-rig.ts';
import { describeSystem } from './support/guard.ts';
import { efBothWays, observe } from './support/traffic.ts';
import { EXPECTED_WITHIN_MS, until } from '../support/wait.ts';

/** Lifetime of a gate on the routers: how long router A, cut off, keeps a gate nobody removes. */
const GATE_LIFETIME_S = 10;
/** docs/fleet.md: a revoked router's live connection is cut within 2 s. */
const CUT_WITHIN_MS = 2000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describeSystem('fleet enrolment: a qjs agent enrols with a key on Mosquitto dynsec, approved and revoked through the operators\' API', ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_ctrl', 'mosquitto_sub', 'mosquitto_pub', 'curl'], () => {
  const rig = new CloudRig({ uplinkKbit: 20_000, downlinkKbit: 100_000, enrolment: true });
  let cookieJar = '';
  let csrfToken = '';
  let enrolKey = '';

  /** The operators' API as a script would call it: curl in the cloud namespace, the session in a cookie jar, the CSRF token on changes. */
  const operator = (method: 'GET' | 'POST', path: string, body?: unknown): Answer => {
    const argv = ['ip', 'netns', 'exec', rig.lab.cloud.name, 'curl', '-s', '-b', cookieJar, '-c', cookieJar, '-X', method, '-w', '\n%{http_code}'];
    if (method !== 'GET' && csrfToken !== '') argv.push('-H', `x-csrf-token: ${csrfToken}`);
    if (body !== undefined) argv.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
    argv.push(`http://127.0.0.1:${HTTP_PORT}/api/v1${path}`);
    const run = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
    const cut = run.stdout.lastIndexOf('\n');
    const status = Number(run.stdout.slice(cut + 1));
    try {
      return { status, body: JSON.parse(run.stdout.slice(0, cut)) as Record<string, unknown> };
    } catch {
      throw new Error(`${method} ${path}: no JSON answer (curl ${run.status}, HTTP ${status}): ${run.stdout.slice(0, 300)} ${run.stderr.slice(0, 300)}`);
    }
  };
  const session = (method: string, path: string, payload?: unknown) => rig.api(method, path, payload);
  const inventoryRow = (): Record<string, unknown> | undefined => {
    const page = operator('GET', `/devices?search=${ROUTER_A_HARDWARE_ID}`);
    return (page.body.rows as Record<string, unknown>[] | undefined)?.find((r) => r.deviceId === ROUTER_A_HARDWARE_ID);
  };
  const logs = () => `--- server\n${rig.server?.log.slice(-2500) ?? ''}\n--- agent A\n${rig.agents.A?.log.slice(-2500) ?? ''}\n--- broker\n${rig.broker?.log.slice(-1500) ?? ''}`;

  beforeAll(async () => {
    await rig.start(['--gate-lifetime-s', String(GATE_LIFETIME_S)]);
    cookieJar = join(rig.temp, 'operator.cookies');
    observe(rig.lab.phoneB, [50270]);
    observe(rig.lab.phoneA, [49270]);
  });

  afterAll(() => rig.stop());

  it('makes an admin with the operators command, logs in, and creates a group that needs approval and its enrolment key', () => {
    const made = spawnSync(process.execPath, [rig.cloudProgram, 'operators', 'add', 'lab-admin', '--role', 'admin', '--store', `sqlite:${rig.dbPath}`], { encoding: 'utf8', timeout: 30_000 });
    expect(made.status, made.stderr).toBe(0);
    const password = made.stdout.trim();
    expect(password.length).toBeGreaterThanOrEqual(12);

    const login = operator('POST', '/auth/login', { username: 'lab-admin', password });
    expect(login).toMatchObject({ status: 200, body: { operator: { username: 'lab-admin', role: 'admin' }, csrfToken: expect.any(String) } });
    csrfToken = login.body.csrfToken as string;
    expect(readFileSync(cookieJar, 'utf8')).toContain('callqos_session');

    expect(operator('POST', '/groups', { id: 'lab', name: 'Lab routers', domain: null, enrolPolicy: 'approve', reenrolPolicy: 'replace' })).toMatchObject({ status: 200, body: { id: 'lab', enrolPolicy: 'approve' } });
    const key = operator('POST', '/enrolment-keys', { group: 'lab', label: 'lab bench', expiresAtMs: null });
    expect(key).toMatchObject({ status: 200, body: { enrolmentKey: { group: 'lab' }, key: expect.any(String) } });
    enrolKey = key.body.key as string;
  });

  it('router A enrols with the key: pending until approved, then connects with a login of its own', async () => {
    const agent = rig.startEnrollingAgent('A', enrolKey);
    await until(() => inventoryRow()?.fleet !== undefined && agent.log.includes('enrolment pending approval'), 'router A pending, in GET /devices and in its log', EXPECTED_WITHIN_MS, logs);
    expect(inventoryRow()).toMatchObject({ deviceId: ROUTER_A_HARDWARE_ID, fleet: { hardwareId: ROUTER_A_HARDWARE_ID, group: 'lab', state: 'pending' } });
    expect(agent.log).not.toContain('cloud session accepted');

    const approved = operator('POST', `/devices/${ROUTER_A_HARDWARE_ID}/approve`);
    expect(approved).toMatchObject({ status: 200, body: { deviceId: ROUTER_A_HARDWARE_ID } });
    const approvedAt = Date.now();
    await until(() => agent.log.includes('cloud session accepted'), 'router A\'s cloud session accepted', EXPECTED_WITHIN_MS, logs);
    console.log(`enrolment: router A's cloud session accepted ${Date.now() - approvedAt} ms after the approval`);
    expect(agent.log).toMatch(new RegExp(`enrolled .*device_id=${ROUTER_A_HARDWARE_ID} .*username=${ROUTER_A_HARDWARE_ID}`));
    // The broker names the login each connection used: router A's own, the hardware id.
    expect(rig.broker!.log).toContain(`u'${ROUTER_A_HARDWARE_ID}'`);

    const dir = rig.credentialsDir('A');
    const saved = JSON.parse(readFileSync(join(dir, 'enrolled.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ deviceId: ROUTER_A_HARDWARE_ID, username: ROUTER_A_HARDWARE_ID, hardwareId: ROUTER_A_HARDWARE_ID, broker: CLOUD_ADDRESS });
    expect(statSync(join(dir, 'enrolled.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'enrolled-password')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'enrolled-password'), 'utf8').trim()).toMatch(/^\S{32}$/);
    expect(existsSync(join(dir, 'enrolling-password'))).toBe(false);

    await until(() => inventoryRow()?.status === 'online', 'router A online in GET /devices', EXPECTED_WITHIN_MS, logs);
    expect(inventoryRow()).toMatchObject({ status: 'online', fleet: { state: 'accepted' } });
  });

  const call = {
    callId: 'fleet-call-1@lab',
    caller: { source: ROUTER_A_WAN },
    callee: { source: ROUTER_B_WAN },
    media: [{ line: 0, type: 'audio', offer: { address: PHONE_A.v4, port: 49270 }, answer: { address: PHONE_B.v4, port: 50270 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
  };
  const gateA = '192.168.1.20 . 49270 . 198.18.20.20 . 50270';
  const gateB = '198.18.20.20 . 50270 . 203.0.113.1 . 0-65535';

  it('gives a call between the enrolled router and router B QoS: active, gated on both, marked EF both ways', () => {
    expect(session('POST', '/v1/sessions', call)).toMatchObject({ callId: call.callId, state: 'active', reason: null });
    expect(rig.gatesIn('A')).toContain(gateA);
    expect(rig.gatesIn('B')).toContain(gateB);
    expect(efBothWays(rig.lab, { phoneA: PHONE_A.v4, phoneB: PHONE_B.v4, routerAWan: ROUTER_A_WAN }, 49270, 50270, 10)).toEqual({ atB: 10, atA: 10 });
  });

  it('revoking router A cuts its broker connection within 2 s, ends the call with E_REVOKED, and both gates go', async () => {
    const brokerFrom = rig.broker!.log.length;
    const agentFrom = rig.agents.A!.log.length;
    const revokedAt = Date.now();
    const revoked = operator('POST', `/devices/${ROUTER_A_HARDWARE_ID}/revoke`, { reason: 'stolen from the lab' });
    expect(revoked).toMatchObject({ status: 200, body: { deviceId: ROUTER_A_HARDWARE_ID, state: 'revoked' } });
    // The dynamic-security plugin kicks the disabled login's clients (ids <device id>-sub-<n>, -pub-<n>); Mosquitto logs each.
    const cutLine = new RegExp(`Client ${ROUTER_A_HARDWARE_ID}-(sub|pub)-\\d+ been disconnected by administrative action`);
    await until(() => cutLine.test(rig.broker!.log.slice(brokerFrom)), 'router A\'s broker connection cut', Math.max(0, CUT_WITHIN_MS - (Date.now() - revokedAt)), logs);
    console.log(`revocation: router A's connection cut ${Date.now() - revokedAt} ms after the revoke request was sent`);

    let ended: Record<string, unknown> = {};
    await until(
      () => {
        ended = session('GET', `/v1/sessions/${encodeURIComponent(call.callId)}`);
        return typeof ended.reason === 'string' && !['pending', 'active', 'ending'].includes(ended.state as string);
      },
      'the call ended',
      EXPECTED_WITHIN_MS,
      () => `${JSON.stringify(ended)}\n${logs()}`,
    );
    expect(ended.reason).toContain('E_REVOKED');

    await until(() => !rig.gatesIn('B').includes(gateB), 'router B\'s gate removed', EXPECTED_WITHIN_MS, () => rig.gatesIn('B'));
    // Router A hears nothing any more: its gate ends when its lifetime, no longer renewed, runs out.
    await until(() => !rig.gatesIn('A').includes(gateA), 'router A\'s gate gone', GATE_LIFETIME_S * 1000 + EXPECTED_WITHIN_MS, () => rig.gatesIn('A'));
    console.log(`revocation: router A's gate gone ${Date.now() - revokedAt} ms after the revoke (gate lifetime ${GATE_LIFETIME_S} s)`);

    // It stays cut off: its agent tries its login again and the broker refuses it.
    await until(() => /not authori[sz]ed/i.test(rig.agents.A!.log.slice(agentFrom)) || /not authori[sz]ed/i.test(rig.broker!.log.slice(brokerFrom)), 'router A\'s login refused', EXPECTED_WITHIN_MS, logs);
    expect(inventoryRow()).toMatchObject({ fleet: { state: 'revoked', stateReason: expect.stringContaining('stolen from the lab') } });
  });
});
