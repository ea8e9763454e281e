/**
 * A SIP call end to end, as deployed, through a given SIP proxy: two phones running sipp (caller
 * behind router A's NAT, callee behind router B), the proxy, the QoS control server with
 * authorization required and the clearinghouse in the cloud namespace, real Mosquitto, and both
 * routers running the real agent under qjs with real nftables. Once the call is answered, packets
 * from the SDP ports arrive EF in both directions; the 200 OK carries the clearinghouse's token;
 * after the BYE the gates are gone and the clearinghouse holds one CDR whose packet counts are
 * what was sent. The built-in proxy and Kamailio run the same suite.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKey } from '../../../src/cloud/clearinghouse/keys.ts';
import { repoRoot } from '../../support/bundles.ts';
import { CLOUD_ADDRESS, PHONE_A, PHONE_B, ROUTER_A_WAN } from './cloud-lab.ts';
import { CloudRig, MQTT_PORT, start, stop, until, waitFor, type Running } from './cloud-rig.ts';
import { describeSystem } from './guard.ts';
import { counted, observe, send } from './traffic.ts';

const SIPP = join(repoRoot, 'test/system/fixtures/sipp');
const CALL_ID = 'sipcall-1@lab';

export interface ProxyUnderTest {
  /** For the suite's title and the figures it prints. */
  readonly name: string;
  /** Programs the suite needs besides its own. */
  readonly tools: readonly string[];
  /** Starts the proxy in the cloud namespace on CLOUD_ADDRESS:5060, the rig running; resolves once it takes calls. */
  start(rig: CloudRig, bundle: string, broker: string): Promise<Running>;
  /** What the proxy logs once it had the session API's answer for the call. */
  readonly answeredLog: string;
}

export function sipCallSuite(under: ProxyUnderTest): void {
describeSystem(`SIP call through ${under.name}: sipp phones -> proxy -> QoS server + clearinghouse -> two qjs agents -> EF both ways -> CDR`, ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'curl', 'sipp', ...under.tools], () => {
  const rig = new CloudRig({ uplinkKbit: 20_000, downlinkKbit: 100_000 });
  let clearinghouse: Running | undefined;
  let proxy: Running | undefined;
  let callee: Running | undefined;
  let caller: Running | undefined;
  let callerExit: Promise<number | null>;
  const chDb = () => join(rig.temp, 'clearinghouse.db');

  beforeAll(async () => {
    await rig.start(['--authorization', 'required', '--domain', 'domain-a']);
    const key = join(rig.temp, 'ch.pem');
    generateSigningKey('ch-1', key, join(rig.temp, 'ch-keys.json'));
    writeFileSync(join(rig.temp, 'ch-policy.json'), JSON.stringify({ domains: [{ id: 'domain-a', clients: ['qos-server-1'] }] }));
    const bundle = join(repoRoot, 'dist', 'test', 'callqos-cloud.mjs');
    const broker = `mqtt://127.0.0.1:${MQTT_PORT}`;
    clearinghouse = start(rig.lab.cloud, [process.execPath, bundle, 'clearinghouse', 'run', '--id', 'ch-1', '--key', key, '--policy', join(rig.temp, 'ch-policy.json'), '--broker', broker, '--store', `sqlite:${chDb()}`]);
    await waitFor(clearinghouse, 'clearinghouse running');
    proxy = await under.start(rig, bundle, broker);
    observe(rig.lab.phoneB, [50170]);
    observe(rig.lab.phoneA, [49170]);
    callee = start(rig.lab.phoneB, ['sipp', '-sf', join(SIPP, 'uas-answer.xml'), '-i', PHONE_B.v4, '-p', '5070', '-key', 'sdp_port', '50170', '-m', '1', '-nostdin', '-trace_err', '-error_file', join(rig.temp, 'uas-errors.log')]);
    await new Promise((r) => setTimeout(r, 500));
  });

  afterAll(async () => {
    await stop(caller, 'SIGKILL');
    await stop(callee, 'SIGKILL');
    await stop(proxy);
    await stop(clearinghouse);
    await rig.stop();
  });

  it('answers the call through the proxy only once both routers marked it, with the clearinghouse\'s token in the 200 OK', async () => {
    const started = Date.now();
    caller = start(rig.lab.phoneA, [
      'sipp', '-sf', join(SIPP, 'uac-call.xml'), `${PHONE_B.v4}:5070`, '-i', PHONE_A.v4, '-p', '5080', '-rsa', `${CLOUD_ADDRESS}:5060`, '-s', 'bob',
      '-key', 'sdp_port', '49170', '-d', '6000', '-m', '1', '-cid_str', 'sipcall-%u@lab', '-nostdin', '-trace_msg', '-message_file', join(rig.temp, 'uac-messages.log'),
    ]);
    callerExit = new Promise((resolve) => caller!.child.on('close', resolve));
    const state = await rig.untilState(CALL_ID, 'active', 10_000);
    console.log(`${under.name}: INVITE to QoS active through the proxy, the clearinghouse and both routers: ${Date.now() - started} ms`);
    expect(state).toMatchObject({ state: 'active', reason: null });
    expect(typeof state.token).toBe('string');
    expect(rig.gatesIn('A')).toContain('192.168.1.20 . 49170 . 198.18.20.20 . 50170');
    expect(rig.gatesIn('B')).toContain(`198.18.20.20 . 50170 . ${ROUTER_A_WAN} . 0-65535`);
    await until(() => proxy!.log.includes(under.answeredLog), 5000, () => proxy!.log.slice(-2000));
  });

  it('marks the call\'s packets EF in both directions while it lasts', () => {
    send(rig.lab.phoneA, PHONE_A.v4, 49170, PHONE_B.v4, 50170, 0, 30);
    send(rig.lab.phoneB, PHONE_B.v4, 50170, ROUTER_A_WAN, 49170, 0, 30);
    expect(counted(rig.lab.phoneB, '4', 50170, 'ef')).toBe(30);
    expect(counted(rig.lab.phoneA, '4', 49170, 'ef')).toBe(30);
  });

  it('ends the call on BYE: the caller\'s sipp succeeds, the gates go, and the clearinghouse records one CDR with what was sent', async () => {
    expect(await callerExit).toBe(0);
    const { readFileSync } = await import('node:fs');
    const messages = readFileSync(join(rig.temp, 'uac-messages.log'), 'utf8');
    expect(messages).toMatch(/SIP\/2\.0 200 OK[\s\S]*P-Media-Authorization: [\w-]+\.[\w-]+\.[\w-]+/);
    await rig.untilState(CALL_ID, 'ended', 10_000);
    await until(() => !rig.gatesIn('A').includes('49170') && !rig.gatesIn('B').includes('50170'), 10_000, () => `gates left:\n${rig.gatesIn('A')}\n${rig.gatesIn('B')}`);
    const cdrs = () => {
      const db = new Database(chDb(), { readonly: true, fileMustExist: true });
      try {
        return db.prepare('SELECT * FROM ch_cdrs WHERE call_id = ?').all(CALL_ID) as Record<string, unknown>[];
      } finally {
        db.close();
      }
    };
    await until(() => cdrs().length === 1, 15_000, () => `no CDR; server log:\n${rig.server?.log.slice(-2000)}\nclearinghouse log:\n${clearinghouse?.log.slice(-2000)}`);
    const [cdr] = cdrs();
    expect(cdr).toMatchObject({ side: 'source', domain: 'domain-a', released_by: 'caller', sip_status: 200, codec: 'PCMU', service_class: 'voice' });
    expect(JSON.parse(String(cdr!.flows))).toEqual([
      { line: 0, direction: 'forward', packets: 30, bytes: expect.any(Number), lost: 0 },
      { line: 0, direction: 'reverse', packets: 30, bytes: expect.any(Number), lost: 0 },
    ]);
    expect(Number(cdr!.duration_s)).toBeGreaterThanOrEqual(5);
    console.log(`${under.name}: CDR: ${cdr!.duration_s} s answered, ${cdr!.billable_s} s billed, ${cdr!.amount} ${cdr!.currency} cents; flows ${cdr!.flows}`);
  });
});
}
