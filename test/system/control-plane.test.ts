/**
 * The control plane end to end, as deployed: real Mosquitto and the QoS control server in a cloud
 * namespace, two routers each running the real agent bundle under real qjs with real nftables
 * (router A with source NAT, router B routed), phones behind them. A session request through the
 * HTTP API must end with both routers marking the call EF in both directions, counted on the
 * receiving phones; deleting it removes the gates and records the routers' usage.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { buildCloudBundle } from '../../scripts/build.mjs';
import { bundles, repoRoot } from '../support/bundles.ts';
import { buildCloudLab, CLOUD_ADDRESS, PHONE_A, PHONE_B, ROUTER_A_WAN, ROUTER_B_WAN } from './support/cloud-lab.ts';
import type { CloudLab } from './support/cloud-lab.ts';
import { describeSystem } from './support/guard.ts';
import type { Namespace } from './support/netns.ts';
import { counted, observe, send } from './support/traffic.ts';

const MQTT_PORT = 1883;
const HTTP_PORT = 8080;

interface Running {
  child: ChildProcess;
  log: string;
}

function start(ns: Namespace, argv: string[], env: Record<string, string> = {}): Running {
  const child = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const running: Running = { child, log: '' };
  // Read both streams as they come: a full pipe would block the program.
  child.stdout!.on('data', (d: Buffer) => (running.log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (running.log += d.toString()));
  return running;
}

async function waitFor(running: Running, text: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!running.log.includes(text)) {
    if (Date.now() > end) throw new Error(`"${text}" not logged within ${ms} ms:\n${running.log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function stop(running: Running | undefined): Promise<void> {
  const child = running?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
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
    `\toption broker '${CLOUD_ADDRESS}'`,
    `\toption port '${MQTT_PORT}'`,
    "\toption tls '0'",
    "\toption keepalive_s '10'",
    '',
  ].join('\n');
}

describeSystem('control plane: HTTP session -> server -> MQTT -> two qjs agents -> EF both ways', ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'curl'], () => {
  let lab: CloudLab;
  let temp: string;
  let broker: Running;
  let server: Running;
  const agents: Record<'A' | 'B', Running | undefined> = { A: undefined, B: undefined };
  let cloudBundle: string;

  const api = (method: string, path: string, body?: unknown): Record<string, unknown> => {
    const argv = ['ip', 'netns', 'exec', lab.cloud.name, 'curl', '-s', '-X', method, `http://127.0.0.1:${HTTP_PORT}${path}`];
    if (body !== undefined) argv.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
    const run = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
    return JSON.parse(run.stdout) as Record<string, unknown>;
  };
  const gatesIn = (ns: Namespace): string => ns.run(['nft', 'list', 'table', 'inet', 'callqos']).stdout;

  beforeAll(async () => {
    lab = buildCloudLab();
    temp = mkdtempSync(join(tmpdir(), 'callqos-cp-'));
    // Inside the checkout, so that its packages resolve from node_modules.
    cloudBundle = (await buildCloudBundle(join(repoRoot, 'dist', 'test', 'callqos-cloud.mjs'))).file;
    writeFileSync(join(temp, 'mosquitto.conf'), `listener ${MQTT_PORT} 0.0.0.0\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nuser root\n`);
    broker = start(lab.cloud, ['mosquitto', '-c', join(temp, 'mosquitto.conf')]);
    server = start(lab.cloud, [process.execPath, cloudBundle, '--broker', `mqtt://127.0.0.1:${MQTT_PORT}`, '--store', `sqlite:${join(temp, 'server.db')}`, '--http', `127.0.0.1:${HTTP_PORT}`, '--deadline-ms', '5000', '--log-level', 'debug']);
    await waitFor(server, 'QoS control server running');
    for (const [name, ns, dump] of [['A', lab.routerA, 'dump-cloud-lab-a.json'], ['B', lab.routerB, 'dump-cloud-lab-b.json']] as const) {
      const dir = join(temp, `rt${name}`);
      const ubus = join(dir, 'ubus');
      mkdirSync(ubus, { recursive: true });
      writeFileSync(join(ubus, 'dump'), dump);
      writeFileSync(join(ubus, 'board'), 'board.json');
      writeFileSync(join(dir, 'callqos'), agentConfig(join(dir, 'state'), `rt${name}`));
      agents[name] = start(ns, [inject('qjsPath'), bundles.agent, 'run', '--config', join(dir, 'callqos')], {
        PATH: `${repoRoot}/test/fixtures/ubus/bin:${process.env.PATH ?? ''}`,
        CALLQOS_FAKE_UBUS: ubus,
      });
    }
    await waitFor(agents.A!, 'cloud session accepted');
    await waitFor(agents.B!, 'cloud session accepted');
    await waitFor(server, 'device=rtA desired=');
    await waitFor(server, 'device=rtB desired=');
    observe(lab.phoneB, [50170]);
    observe(lab.phoneA, [49170]);
  });

  afterAll(async () => {
    await stop(agents.A);
    await stop(agents.B);
    await stop(server);
    await stop(broker);
    lab?.lab.destroy();
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

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
    expect(gatesIn(lab.routerA)).toContain('192.168.1.20 . 49170 . 198.18.20.20 . 50170');
    expect(gatesIn(lab.routerB)).toContain('198.18.20.20 . 50170 . 203.0.113.1 . 0-65535');
  });

  it('marks the call EF in both directions, through router A\'s NAT, counted on the receiving phones', () => {
    // Phone A first, so that router A's conntrack knows where phone B's answer goes.
    send(lab.phoneA, PHONE_A.v4, 49170, PHONE_B.v4, 50170, 0, 30);
    send(lab.phoneB, PHONE_B.v4, 50170, ROUTER_A_WAN, 49170, 0, 30);
    expect(counted(lab.phoneB, '4', 50170, 'ef')).toBe(30);
    expect(counted(lab.phoneA, '4', 49170, 'ef')).toBe(30);
  });

  it('removes the gates on delete and records each router\'s usage once', async () => {
    const ended = api('DELETE', `/v1/sessions/${encodeURIComponent(call.callId)}`);
    expect(['ending', 'ended']).toContain(ended.state);
    const end = Date.now() + 10_000;
    while ((api('GET', `/v1/sessions/${encodeURIComponent(call.callId)}`) as { state?: string }).state !== 'ended') {
      if (Date.now() > end) throw new Error(`session did not end:\n${server.log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(gatesIn(lab.routerA)).not.toContain('49170');
    expect(gatesIn(lab.routerB)).not.toContain('50170');
    const db = new Database(join(temp, 'server.db'), { readonly: true });
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

  const count = (text: string, what: string) => text.split(what).length - 1;
  const until = async (what: () => boolean, ms: number, explain: () => string) => {
    const end = Date.now() + ms;
    while (!what()) {
      if (Date.now() > end) throw new Error(explain());
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const call2 = { ...call, callId: 'cp-call-2@lab', media: [{ ...call.media[0]!, offer: { address: PHONE_A.v4, port: 49180 }, answer: { address: PHONE_B.v4, port: 50180 } }] };

  it('keeps marking while the broker restarts, and both routers resynchronise after it returns', async () => {
    expect(api('POST', '/v1/sessions', call2)).toMatchObject({ state: 'active' });
    observe(lab.phoneB, [50180]);
    await stop(broker);
    send(lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(lab.phoneB, '4', 50180, 'ef')).toBe(20);
    const before = { a: count(server.log, 'device=rtA desired='), b: count(server.log, 'device=rtB desired=') };
    const restarted = Date.now();
    broker = start(lab.cloud, ['mosquitto', '-c', join(temp, 'mosquitto.conf')]);
    await until(
      () => count(server.log, 'device=rtA desired=') > before.a && count(server.log, 'device=rtB desired=') > before.b,
      30_000,
      () => `routers did not resynchronise:\n${server.log.slice(-2000)}\n${agents.A!.log.slice(-1500)}`,
    );
    console.log(`broker restart: both routers resynchronised ${Date.now() - restarted} ms after the broker was started again`);
    expect(api('GET', `/v1/sessions/${encodeURIComponent(call2.callId)}`)).toMatchObject({ state: 'active' });
    send(lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(lab.phoneB, '4', 50180, 'ef')).toBe(40);
  });

  it('keeps marking while an agent is SIGKILLed, and the restarted agent resynchronises without losing the gate', async () => {
    const killed = agents.A!;
    await new Promise<void>((resolve) => {
      killed.child.once('exit', () => resolve());
      killed.child.kill('SIGKILL');
    });
    send(lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(lab.phoneB, '4', 50180, 'ef')).toBe(60);
    const before = count(server.log, 'device=rtA desired=');
    const restarted = Date.now();
    const dir = join(temp, 'rtA');
    agents.A = start(lab.routerA, [inject('qjsPath'), bundles.agent, 'run', '--config', join(dir, 'callqos')], {
      PATH: `${repoRoot}/test/fixtures/ubus/bin:${process.env.PATH ?? ''}`,
      CALLQOS_FAKE_UBUS: join(dir, 'ubus'),
    });
    await until(() => count(server.log, 'device=rtA desired=') > before, 30_000, () => `agent did not resynchronise:\n${agents.A!.log.slice(-2000)}`);
    console.log(`agent SIGKILL: restarted agent resynchronised in ${Date.now() - restarted} ms`);
    expect(server.log).toMatch(/device opened .*device=rtA .*boot=2/);
    expect(gatesIn(lab.routerA)).toContain('192.168.1.20 . 49180 . 198.18.20.20 . 50180');
    send(lab.phoneA, PHONE_A.v4, 49180, PHONE_B.v4, 50180, 0, 20);
    expect(counted(lab.phoneB, '4', 50180, 'ef')).toBe(80);
  });
});
