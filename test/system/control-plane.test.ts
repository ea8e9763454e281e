/**
 * The control plane end to end, as deployed: real Mosquitto and the QoS control server in a cloud
 * namespace, two routers each running the real agent bundle under real qjs with real nftables
 * (router A with source NAT, router B routed), phones behind them. A session request through the
 * HTTP API must end with both routers marking the call EF in both directions, counted on the
 * receiving phones; deleting it removes the gates and records the routers' usage.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PHONE_A, PHONE_B, ROUTER_A_WAN, ROUTER_B_WAN } from './support/cloud-lab.ts';
import { CloudRig, count, MQTT_PORT, start, stop, until } from './support/cloud-rig.ts';
import { describeSystem } from './support/guard.ts';
import { counted, efBothWays, observe, send } from './support/traffic.ts';

describeSystem('control plane: HTTP session -> server -> MQTT -> two qjs agents -> EF both ways', ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'curl'], () => {
  const rig = new CloudRig({ uplinkKbit: 20_000, downlinkKbit: 100_000, perDeviceLogins: true });
  const api = (method: string, path: string, payload?: unknown) => rig.api(method, path, payload);

  beforeAll(async () => {
    await rig.start();
    observe(rig.lab.phoneB, [50170]);
    observe(rig.lab.phoneA, [49170]);
  });

  afterAll(() => rig.stop());

  const call = {
    callId: 'cp-call-1@lab',
    caller: { source: ROUTER_A_WAN },
    callee: { source: ROUTER_B_WAN },
    media: [{ line: 0, type: 'audio', offer: { address: PHONE_A.v4, port: 49170 }, answer: { address: PHONE_B.v4, port: 50170 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    wait: true,
  };

  it('installs the call on both routers through the real broker and reports it active', async () => {
    const started = Date.now();
    const state = api('POST', '/v1/sessions', call);
    const ms = Date.now() - started;
    console.log(`session add to active through Mosquitto and two qjs agents: ${ms} ms (HTTP via curl included)`);
    expect(state).toMatchObject({ callId: 'cp-call-1@lab', state: 'active', reason: null });
    expect(rig.gatesIn('A')).toContain('192.168.1.20 . 49170 . 198.18.20.20 . 50170');
    expect(rig.gatesIn('B')).toContain('198.18.20.20 . 50170 . 203.0.113.1 . 0-65535');
  });

  it('marks the call EF in both directions, through router A\'s NAT, counted on the receiving phones', () => {
    // Phone A first, so that router A's conntrack knows where phone B's answer goes.
    expect(efBothWays(rig.lab, { phoneA: PHONE_A.v4, phoneB: PHONE_B.v4, routerAWan: ROUTER_A_WAN }, 49170, 50170, 30)).toEqual({ atB: 30, atA: 30 });
  });

  it('lets each router\'s login read its own retained desired state and not the other router\'s', async () => {
    // mosquitto_sub as a router would log in: one retained message, or nothing within 2 s.
    const read = async (login: string, topic: string) => {
      const sub = start(rig.lab.cloud, ['mosquitto_sub', '-h', '127.0.0.1', '-p', String(MQTT_PORT), '-u', login, '-P', rig.passwords.get(login)!, '-t', topic, '-C', '1', '-W', '2']);
      await new Promise((resolve) => sub.child.on('close', resolve));
      return sub.log;
    };
    expect(await read('rtA', 'callqos/v1/dev/rtA/desired')).toContain('"type":"desired"');
    expect(await read('rtB', 'callqos/v1/dev/rtB/desired')).toContain('"type":"desired"');
    expect(await read('rtA', 'callqos/v1/dev/rtB/desired')).not.toContain('"type"');
    expect(await read('rtA', 'callqos/v1/dev/+/desired')).not.toContain('rtB');
  });

  it('removes the gates on delete and records each router\'s usage once', async () => {
    const ended = api('DELETE', `/v1/sessions/${encodeURIComponent(call.callId)}`);
    expect(['ending', 'ended']).toContain(ended.state);
    const end = Date.now() + 10_000;
    while ((api('GET', `/v1/sessions/${encodeURIComponent(call.callId)}`) as { state?: string }).state !== 'ended') {
      if (Date.now() > end) throw new Error(`session did not end:\n${rig.server!.log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rig.gatesIn('A')).not.toContain('49170');
    expect(rig.gatesIn('B')).not.toContain('50170');
    const db = new Database(rig.dbPath, { readonly: true });
    const poll = Date.now() + 5000;
    let rows: Array<{ device: string; up_packets: number; down_packets: number; ended: string }> = [];
    while (Date.now() < poll) {
      rows = db.prepare('SELECT device, up_packets, down_packets, ended FROM usage WHERE call_id = ? ORDER BY device').all(call.callId) as typeof rows;
      if (rows.length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    db.close();
    expect(rows).toEqual([
      { device: 'rtA', up_packets: 30, down_packets: 30, ended: 'removed' },
      { device: 'rtB', up_packets: 30, down_packets: 30, ended: 'removed' },
    ]);
  });

  const call2 = { ...call, callId: 'cp-call-2@lab', media: [{ ...call.media[0]!, offer: { address: PHONE_A.v4, port: 49180 }, answer: { address: PHONE_B.v4, port: 50180 } }] };

  it('keeps marking while the broker restarts, and both routers resynchronise after it returns', async () => {
    expect(api('POST', '/v1/sessions', call2)).toMatchObject({ state: 'active' });
    observe(rig.lab.phoneB, [50180]);
    await stop(rig.broker);
    send(rig.lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(rig.lab.phoneB, '4', 50180, 'ef')).toBe(20);
    const before = { a: count(rig.server!.log, 'device=rtA desired='), b: count(rig.server!.log, 'device=rtB desired=') };
    const restarted = Date.now();
    rig.startBroker();
    await until(
      () => count(rig.server!.log, 'device=rtA desired=') > before.a && count(rig.server!.log, 'device=rtB desired=') > before.b,
      30_000,
      () => `routers did not resynchronise:\n${rig.server!.log.slice(-2000)}\n${rig.agents.A!.log.slice(-1500)}`,
    );
    console.log(`broker restart: both routers resynchronised ${Date.now() - restarted} ms after the broker was started again`);
    expect(api('GET', `/v1/sessions/${encodeURIComponent(call2.callId)}`)).toMatchObject({ state: 'active' });
    send(rig.lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(rig.lab.phoneB, '4', 50180, 'ef')).toBe(40);
  });

  it('keeps marking while an agent is SIGKILLed, and the restarted agent resynchronises without losing the gate', async () => {
    const killed = rig.agents.A!;
    await new Promise<void>((resolve) => {
      killed.child.once('exit', () => resolve());
      killed.child.kill('SIGKILL');
    });
    send(rig.lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(rig.lab.phoneB, '4', 50180, 'ef')).toBe(60);
    const before = count(rig.server!.log, 'device=rtA desired=');
    const restarted = Date.now();
    rig.startAgent('A');
    await until(() => count(rig.server!.log, 'device=rtA desired=') > before, 30_000, () => `agent did not resynchronise:\n${rig.agents.A!.log.slice(-2000)}`);
    console.log(`agent SIGKILL: restarted agent resynchronised in ${Date.now() - restarted} ms`);
    expect(rig.server!.log).toMatch(/device opened .*device=rtA .*boot=2/);
    expect(rig.gatesIn('A')).toContain('192.168.1.20 . 49180 . 198.18.20.20 . 50180');
    send(rig.lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(rig.lab.phoneB, '4', 50180, 'ef')).toBe(80);
  });
});
