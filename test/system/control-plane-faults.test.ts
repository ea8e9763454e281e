/**
 * Control-plane faults on the deployed system (real Mosquitto, the server, two qjs agents with
 * nftables): the server SIGKILLed with 1,000 sessions active and more on the way, a router
 * offline when a session starts (under both offline policies), and a removal that never reaches
 * a router (its gate expires; its usage is still recorded once). Each case prints its figure.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from '../support/bundles.ts';
import { PHONE_A, PHONE_B, ROUTER_A_WAN, ROUTER_B_WAN } from './support/cloud-lab.ts';
import { CloudRig, HTTP_PORT, start, stop, until } from './support/cloud-rig.ts';
import type { RouterName } from './support/cloud-rig.ts';
import { describeSystem } from './support/guard.ts';
import { counted, observe, send } from './support/traffic.ts';

const SESSIONS = 1000;

function callBody(callId: string, portA: number, portB: number) {
  return {
    callId,
    caller: { source: ROUTER_A_WAN },
    callee: { source: ROUTER_B_WAN },
    media: [{ line: 0, type: 'audio', offer: { address: PHONE_A.v4, port: portA }, answer: { address: PHONE_B.v4, port: portB }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
  };
}

describeSystem('control-plane faults: server SIGKILL, router offline, lost removal', ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'curl'], () => {
  // Links large enough for 1,000 G.711 calls inside the EF budget.
  const rig = new CloudRig({ uplinkKbit: 1_000_000, downlinkKbit: 1_000_000 });

  beforeAll(() => rig.start(), 60_000);
  afterAll(() => rig.stop());

  const query = <T>(sql: string, ...args: unknown[]): T[] => {
    const db = new Database(rig.dbPath, { readonly: true });
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  };
  /** The cloud gates a router's kernel holds, by id (each gate's elements carry its id as comment). */
  const kernelGateIds = (name: RouterName): Set<string> => new Set([...rig.gatesIn(name).matchAll(/comment "([^"]+)" : (?:goto|jump) /g)].map((m) => m[1]!));
  const storeGateIds = (device: string): Set<string> =>
    new Set(query<{ id: string }>("SELECT id FROM gates WHERE device = ? AND state IN ('installing', 'installed')", device).map((r) => r.id));

  /** Runs the session driver in the cloud namespace without blocking this process (it reads every program's output). */
  async function drive(mode: 'add' | 'delete', prefix: string, n: number, portBase: number, concurrency: number, whileRunning?: () => Promise<void>) {
    const argv = [process.execPath, join(repoRoot, 'test/system/support/session-driver.mjs'), `http://127.0.0.1:${HTTP_PORT}`, mode, prefix, String(n), String(portBase), String(concurrency)];
    const driver = start(rig.lab.cloud, argv);
    const exited = new Promise<number | null>((resolve) => driver.child.on('close', resolve));
    await whileRunning?.();
    const code = await exited;
    expect(code, driver.log).toBe(0);
    return JSON.parse(driver.log.trim().split('\n').pop()!) as { states: Record<string, number>; failedRequests: number; ms: number };
  }

  it(`loses no session when the server is SIGKILLed with ${SESSIONS} active, and the routers' gates equal the store's after it restarts`, async () => {
    const added = await drive('add', 'bulk', SESSIONS, 20000, 16);
    console.log(`${SESSIONS} sessions active in ${added.ms} ms (${Math.round((SESSIONS * 1000) / added.ms)}/s, 16 at a time)`);
    expect(added).toMatchObject({ states: { active: SESSIONS }, failedRequests: 0 });
    expect(kernelGateIds('A').size).toBe(SESSIONS);
    expect(kernelGateIds('B').size).toBe(SESSIONS);

    // SIGKILL while 50 more are on their way: some decided and sent, some not yet, none confirmed.
    const inFlight = await drive('add', 'inflight', 50, 30000, 10, async () => {
      await new Promise((r) => setTimeout(r, 150));
      await stop(rig.server, 'SIGKILL');
    });
    console.log(`server SIGKILLed with ${JSON.stringify(inFlight.states)} answered and ${inFlight.failedRequests} requests cut off`);
    const killedAt = Date.now();
    await rig.startServer();
    const restartedMs = Date.now() - killedAt;

    // Converged: nothing pending or unconfirmed in the store, and each router holds exactly what the store says it should.
    const settled = () =>
      query("SELECT 1 FROM sessions WHERE state = 'pending'").length === 0 &&
      query("SELECT 1 FROM gates WHERE state IN ('installing', 'removing')").length === 0 &&
      ['A', 'B'].every((n) => {
        const kernel = kernelGateIds(n as RouterName);
        const store = storeGateIds(`rt${n}`);
        return kernel.size === store.size && [...store].every((id) => kernel.has(id));
      });
    await until(settled, 30_000, () => `not converged:\n${rig.server!.log.slice(-3000)}`);
    console.log(`server SIGKILL: restarted in ${restartedMs} ms; store and both routers converged ${Date.now() - killedAt} ms after the kill`);

    const bulk = query<{ state: string; n: number }>("SELECT state, COUNT(*) AS n FROM sessions WHERE call_id LIKE 'bulk-%' GROUP BY state");
    expect(bulk).toEqual([{ state: 'active', n: SESSIONS }]);
    for (const n of ['A', 'B'] as const) {
      const kernel = kernelGateIds(n);
      expect([...storeGateIds(`rt${n}`)].sort()).toEqual([...kernel].sort());
      expect(kernel.size).toBeGreaterThanOrEqual(SESSIONS);
    }
    // Every in-flight call ended one way or the other: active with both gates, or failed and rolled back.
    const inflight = query<{ state: string }>("SELECT state FROM sessions WHERE call_id LIKE 'inflight-%'");
    for (const line of inflight) expect(['active', 'failed']).toContain(line.state);

    // Clean up, for the cases after this one: every call deleted, both routers empty.
    const deleting = Date.now();
    await drive('delete', 'bulk', SESSIONS, 20000, 16);
    await drive('delete', 'inflight', 50, 30000, 10);
    // A removal costs the router two nft processes where an install costs one, and the first (its
    // counters, `nft get element`) reads the whole map, so removals take several times as long as
    // the installs did (3.4 times on a slow day here): allow six times, following the machine's speed.
    const removalBudgetMs = Math.max(180_000, 6 * added.ms);
    await until(() => kernelGateIds('A').size === 0 && kernelGateIds('B').size === 0, removalBudgetMs, () => `gates left after ${removalBudgetMs} ms: A ${kernelGateIds('A').size}, B ${kernelGateIds('B').size}`);
    console.log(`all calls deleted and both routers empty in ${Date.now() - deleting} ms`);
  }, 900_000);

  it('refuses at once a session whose router is offline (policy fail), and with policy wait installs it when the router returns', async () => {
    await stop(rig.agents.B);
    await until(() => query("SELECT 1 FROM devices WHERE id = 'rtB' AND status = 'offline'").length === 1, 10_000, () => 'router B not marked offline');

    let started = Date.now();
    const refused = rig.api('POST', '/v1/sessions', callBody('offline-fail@lab', 41000, 42000));
    console.log(`router offline, policy fail: answered ${refused.state} in ${Date.now() - started} ms: ${refused.reason}`);
    expect(refused).toMatchObject({ state: 'rejected' });
    expect(String(refused.reason)).toContain('rtB is offline');
    expect(rig.gatesIn('A')).not.toContain('41000');

    await stop(rig.server);
    await rig.startServer(['--offline', 'wait', '--deadline-ms', '1000']);
    started = Date.now();
    const waiting = rig.api('POST', '/v1/sessions', callBody('offline-wait@lab', 41010, 42010));
    console.log(`router offline, policy wait: answered ${waiting.state} in ${Date.now() - started} ms: ${waiting.reason}`);
    expect(waiting).toMatchObject({ state: 'pending', reason: 'E_ROUTER_OFFLINE: waiting for offline router rtB' });
    expect(rig.gatesIn('A')).toContain('192.168.1.20 . 41010');

    const returned = Date.now();
    rig.startAgent('B');
    await rig.untilState('offline-wait@lab', 'active', 20_000);
    console.log(`router offline, policy wait: active ${Date.now() - returned} ms after router B's agent started again`);
    expect(rig.gatesIn('B')).toContain('198.18.20.20 . 42010');
    observe(rig.lab.phoneB, [42010]);
    send(rig.lab.phoneA, PHONE_A.v4, 41010, PHONE_B.v4, 42010, 0, 10);
    expect(counted(rig.lab.phoneB, '4', 42010, 'ef')).toBe(10);
    rig.api('DELETE', '/v1/sessions/offline-wait%40lab');
    await rig.untilState('offline-wait@lab', 'ended');
  }, 90_000);

  it('records usage once when a removal never reaches a router and its gate expires', async () => {
    await stop(rig.server);
    await rig.startServer(['--gate-lifetime-s', '10']);
    const call = callBody('lost-removal@lab', 41020, 42020);
    expect(rig.api('POST', '/v1/sessions', call)).toMatchObject({ state: 'active' });
    const installedAt = Date.now();
    observe(rig.lab.phoneB, [42020]);
    send(rig.lab.phoneA, PHONE_A.v4, 41020, PHONE_B.v4, 42020, 0, 12);
    expect(counted(rig.lab.phoneB, '4', 42020, 'ef')).toBe(12);

    // Router B's subscriber stops reading: the removal waits at the broker and B never hears it in time.
    // The running agent's own subscriber (`ip netns exec` became the agent, so its pid is the agent's).
    const subscribers = rig.lab.routerB.run(['pgrep', '-P', String(rig.agents.B!.child.pid), '-f', 'mosquitto_sub']).stdout.trim().split('\n');
    expect(subscribers).toHaveLength(1);
    const subscriber = subscribers[0]!;
    expect(subscriber).toMatch(/^\d+$/);
    rig.lab.routerB.run(['kill', '-STOP', subscriber]);
    try {
      rig.api('DELETE', '/v1/sessions/lost-removal%40lab');
      await rig.untilState('lost-removal@lab', 'ended', 15_000);
      console.log(`lost removal: the line ended unconfirmed ${Date.now() - installedAt} ms after install (removal deadline)`);
      expect(rig.gatesIn('A')).not.toContain('41020');
      await until(() => !rig.gatesIn('B').includes('42020'), 20_000, () => `router B kept the gate:\n${rig.agents.B!.log.slice(-1500)}`);
      console.log(`lost removal: router B's gate expired by itself ${Date.now() - installedAt} ms after install (lifetime 10 s)`);
    } finally {
      rig.lab.routerB.run(['kill', '-CONT', subscriber]);
    }
    await until(() => query("SELECT 1 FROM usage WHERE call_id = 'lost-removal@lab'").length === 2, 10_000, () => 'usage not recorded');
    // The late removal (delivered now) must not record anything again.
    await new Promise((r) => setTimeout(r, 1000));
    const usage = query<{ device: string; up_packets: number; down_packets: number; ended: string }>(
      "SELECT device, up_packets, down_packets, ended FROM usage WHERE call_id = 'lost-removal@lab' ORDER BY device",
    );
    expect(usage).toEqual([
      { device: 'rtA', up_packets: 12, down_packets: 0, ended: 'removed' },
      { device: 'rtB', up_packets: 0, down_packets: 12, ended: 'expired' },
    ]);
  }, 90_000);

  it('keeps a call longer than its gates\' lifetime: the server renews them in place and the routers keep counting', async () => {
    // The server of the previous case runs with a 10 s gate lifetime.
    const call = callBody('long-call@lab', 41030, 42030);
    expect(rig.api('POST', '/v1/sessions', call)).toMatchObject({ state: 'active' });
    const installedAt = Date.now();
    observe(rig.lab.phoneB, [42030]);
    send(rig.lab.phoneA, PHONE_A.v4, 41030, PHONE_B.v4, 42030, 0, 10);
    const renewals = () => rig.server!.log.split('gate lifetimes renewed').length - 1;
    const before = renewals();
    // Past the lifetime by more than the routers' grace: without renewal both gates would be gone.
    await until(() => Date.now() - installedAt > 16_000, 20_000, () => 'clock');
    console.log(`long call: ${renewals() - before} renewals in ${Date.now() - installedAt} ms (lifetime 10 s)`);
    expect(renewals() - before).toBeGreaterThanOrEqual(2);
    expect(rig.gatesIn('A')).toContain('192.168.1.20 . 41030');
    expect(rig.gatesIn('B')).toContain('198.18.20.20 . 42030');
    send(rig.lab.phoneA, PHONE_A.v4, 41030, PHONE_B.v4, 42030, 0, 10);
    expect(counted(rig.lab.phoneB, '4', 42030, 'ef')).toBe(20);
    expect(rig.api('GET', '/v1/sessions/long-call%40lab')).toMatchObject({ state: 'active' });
    rig.api('DELETE', '/v1/sessions/long-call%40lab');
    await rig.untilState('long-call@lab', 'ended');
    await until(() => query("SELECT 1 FROM usage WHERE call_id = 'long-call@lab'").length === 2, 10_000, () => 'usage not recorded');
    expect(query("SELECT device, up_packets, down_packets FROM usage WHERE call_id = 'long-call@lab' ORDER BY device")).toEqual([
      { device: 'rtA', up_packets: 20, down_packets: 0 },
      { device: 'rtB', up_packets: 0, down_packets: 20 },
    ]);
  }, 60_000);
});
