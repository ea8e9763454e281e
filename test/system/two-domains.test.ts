/**
 * A call between two policy domains, as deployed: domain A's Mosquitto (router A, A's QoS server,
 * the clearinghouse) bridged by Mosquitto to domain B's (router B, B's server) for the topics the
 * domains share; and again with one Mosquitto both domains share, each domain's routers and server
 * in the domain's own topic tree. Both routers run the real agent under qjs with nftables. A session asked of A's
 * server is authorized by the clearinghouse for both domains, installed by A on router A and by B
 * (asked by A over the bridge, with A's token) on router B: EF both ways on the phones. Deleting
 * it removes both ends, and the clearinghouse gets each domain's usage of its own end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/cloud/clearinghouse/keys.ts';
import { repoRoot } from '../support/bundles.ts';
import { PHONE_A, PHONE_B, ROUTER_A_WAN, ROUTER_B_WAN } from './support/cloud-lab.ts';
import { CloudRig, HTTP_PORT_B, MQTT_PORT, start, stop, until, waitFor, type Running } from './support/cloud-rig.ts';
import { describeSystem } from './support/guard.ts';
import { efBothWays, observe } from './support/traffic.ts';

const CALL = 'inter-1@lab';

const BROKERS = [
  {
    name: 'server A -> Mosquitto bridge -> server B',
    // What crosses between the domains: A's requests to B's server, and B's clearinghouse exchange.
    bridge: ['callqos/v1/cc/qos-server-1/req out 1', 'callqos/v1/cc/qos-server-1/res in 1', 'callqos/v1/ch/qos-b/req in 1', 'callqos/v1/ch/qos-b/res out 1'],
    treeArgs: [],
  },
  { name: 'server A -> one shared Mosquitto, a topic tree per domain -> server B', bridge: null, treeArgs: ['--topic-tree', 'domain'] },
];

for (const brokers of BROKERS) describeSystem(`two policy domains: ${brokers.name}, each installing its own router; EF both ways; usage from both`, ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'curl'], () => {
  const dir = mkdtempSync(join(tmpdir(), 'callqos-domains-'));
  const keys = join(dir, 'ch-keys.json');
  const rig = new CloudRig({
    uplinkKbit: 20_000,
    downlinkKbit: 100_000,
    twoDomains: { bridge: brokers.bridge, serverArgs: ['--authorization', 'required', '--domain', 'domain-b', '--clearinghouse-keys', keys, ...brokers.treeArgs] },
  });
  let clearinghouse: Running | undefined;
  const cdrs = (): Record<string, unknown>[] => {
    const db = new Database(join(dir, 'ch.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT * FROM ch_cdrs WHERE call_id = ? ORDER BY side').all(CALL) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    generateSigningKey('ch-1', join(dir, 'ch.pem'), keys);
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ domains: [{ id: 'domain-a', clients: ['qos-server-1'], peers: ['domain-b'] }, { id: 'domain-b', clients: ['qos-b'], peers: ['domain-a'] }] }));
    await rig.start(['--authorization', 'required', '--domain', 'domain-a', '--clearinghouse-keys', keys, '--peer', 'domain-b=qos-b@198.18.20.0/24,2001:db8:b:1::/64', ...brokers.treeArgs]);
    clearinghouse = start(rig.lab.cloud, [process.execPath, join(repoRoot, 'dist', 'test', 'callqos-cloud.mjs'), 'clearinghouse', 'run', '--id', 'ch-1', '--key', join(dir, 'ch.pem'),
      '--policy', join(dir, 'policy.json'), '--broker', `mqtt://127.0.0.1:${MQTT_PORT}`, '--store', `sqlite:${join(dir, 'ch.db')}`]);
    await waitFor(clearinghouse, 'clearinghouse running');
    observe(rig.lab.phoneB, [50170]);
    observe(rig.lab.phoneA, [49170]);
  });

  afterAll(async () => {
    await stop(clearinghouse);
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs each end through its own domain: A on router A, B (asked by A) on router B', async () => {
    const started = Date.now();
    const state = rig.api('POST', '/v1/sessions', {
      callId: CALL,
      caller: { source: ROUTER_A_WAN, uri: 'sip:alice@a.example' },
      callee: { source: ROUTER_B_WAN, uri: 'sip:bob@b.example' },
      media: [{ line: 0, type: 'audio', offer: { address: PHONE_A.v4, port: 49170 }, answer: { address: PHONE_B.v4, port: 50170 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
      wait: true,
    });
    console.log(`two domains: session to active through both servers, the bridge and both routers: ${Date.now() - started} ms (curl included)`);
    expect(state).toMatchObject({ callId: CALL, state: 'active', reason: null });
    // Each domain knows only its own router: the far end is a wildcard on both (it may be behind NAT).
    console.log(`router A:\n${rig.gatesIn('A').split('\n').filter((l) => l.includes('49170')).join('\n')}`);
    expect(rig.gatesIn('A')).toMatch(/192\.168\.1\.20 \. 49170 \. 0\.0\.0\.0\/0 \. 0-65535/);
    expect(rig.gatesIn('B')).toMatch(/198\.18\.20\.20 \. 50170 \. 0\.0\.0\.0\/0 \. 0-65535/);
    // Each server holds only its own end.
    expect(rig.api('GET', `/v1/sessions/${encodeURIComponent(CALL)}`, undefined, HTTP_PORT_B)).toMatchObject({ state: 'active' });
    // B took A's token: authorized without a round trip of its own.
    const b = new Database(join(rig.temp, 'server-b.db'), { readonly: true, fileMustExist: true });
    try {
      expect(b.prepare('SELECT source FROM call_authorizations WHERE call_id = ?').get(CALL)).toEqual({ source: 'token' });
      expect(b.prepare('SELECT client FROM sessions WHERE call_id = ?').get(CALL)).toEqual({ client: 'qos-server-1' });
    } finally {
      b.close();
    }
  });

  it('marks the call EF in both directions', () => {
    expect(efBothWays(rig.lab, { phoneA: PHONE_A.v4, phoneB: PHONE_B.v4, routerAWan: ROUTER_A_WAN }, 49170, 50170, 30)).toEqual({ atB: 30, atA: 30 });
  });

  it('removes both ends on delete, and the clearinghouse gets each domain\'s usage of its own end', async () => {
    rig.api('DELETE', `/v1/sessions/${encodeURIComponent(CALL)}`, { callId: CALL, releasedBy: 'caller', sipStatus: 200, reason: 'BYE' });
    await until(() => !rig.gatesIn('A').includes('49170') && !rig.gatesIn('B').includes('50170'), 10_000, () => `gates left:\n${rig.gatesIn('A')}\n${rig.gatesIn('B')}`);
    await until(() => cdrs().length === 2, 15_000, () => `CDRs: ${JSON.stringify(cdrs())}\nA: ${rig.server?.log.slice(-1500)}\nB: ${rig.serverB?.log.slice(-1500)}`);
    const [destination, source] = cdrs();
    expect(source).toMatchObject({ side: 'source', domain: 'domain-a', destination_domain: 'domain-b' });
    expect(destination).toMatchObject({ side: 'destination', domain: 'domain-a' });
    expect(JSON.parse(String(source!.flows))).toEqual([
      { line: 0, direction: 'forward', packets: 30, bytes: expect.any(Number), lost: null },
      { line: 0, direction: 'reverse', packets: 30, bytes: expect.any(Number), lost: null },
    ]);
    expect(JSON.parse(String(destination!.flows))).toEqual([
      { line: 0, direction: 'forward', packets: 30, bytes: expect.any(Number), lost: null },
      { line: 0, direction: 'reverse', packets: 30, bytes: expect.any(Number), lost: null },
    ]);
  });
});
