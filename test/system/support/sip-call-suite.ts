/**
 * A SIP call end to end, as deployed, through a given SIP proxy (support/sip-stack.ts): two phones
 * running sipp (caller behind router A's NAT, callee behind router B), the proxy, the QoS control
 * server with authorization required and the clearinghouse, real Mosquitto, and both routers
 * running the real agent under qjs with real nftables. Once the call is answered, packets from the
 * SDP ports arrive EF in both directions; the 200 OK carries the clearinghouse's token; after the
 * BYE the gates are gone and the clearinghouse holds one CDR whose packet counts are what was
 * sent. The built-in proxy and Kamailio run the same suite.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLOUD_ADDRESS, PHONE_A, PHONE_B, ROUTER_A_WAN } from './cloud-lab.ts';
import { until, type Running } from './cloud-rig.ts';
import { describeSystem } from './guard.ts';
import { SIP_STACK_TOOLS, SIPP_SCENARIOS, SipStack, type ProxyUnderTest, type Sipp } from './sip-stack.ts';
import { efBothWays, observe } from './traffic.ts';

const CALL_ID = 'sipcall-1@lab';

export function sipCallSuite(under: ProxyUnderTest): void {
  describeSystem(`SIP call through ${under.name}: sipp phones -> proxy -> QoS server + clearinghouse -> two qjs agents -> EF both ways -> CDR`, [...SIP_STACK_TOOLS, ...under.tools], () => {
    const stack = new SipStack();
    const rig = stack.rig;
    let caller: Sipp;
    let proxy: Running;

    beforeAll(async () => {
      await stack.start(under);
      proxy = stack.proxy!;
      observe(rig.lab.phoneB, [50170]);
      observe(rig.lab.phoneA, [49170]);
      stack.sipp(rig.lab.phoneB, ['-sf', join(SIPP_SCENARIOS, 'uas-answer.xml'), '-i', PHONE_B.v4, '-p', '5070', '-key', 'sdp_port', '50170', '-m', '1']);
      await new Promise((r) => setTimeout(r, 500));
    });

    afterAll(() => stack.stop());

    it('answers the call through the proxy only once both routers marked it, with the clearinghouse\'s token in the 200 OK', async () => {
      const started = Date.now();
      caller = stack.sipp(rig.lab.phoneA, [
        '-sf', join(SIPP_SCENARIOS, 'uac-call.xml'), `${PHONE_B.v4}:5070`, '-i', PHONE_A.v4, '-p', '5080', '-rsa', `${CLOUD_ADDRESS}:5060`, '-s', 'bob',
        '-key', 'sdp_port', '49170', '-d', '6000', '-m', '1', '-cid_str', 'sipcall-%u@lab', '-trace_msg', '-message_file', join(stack.dir, 'uac-messages.log'),
      ]);
      const state = await rig.untilState(CALL_ID, 'active', 10_000);
      console.log(`${under.name}: INVITE to QoS active through the proxy, the clearinghouse and both routers: ${Date.now() - started} ms`);
      expect(state).toMatchObject({ state: 'active', reason: null });
      expect(typeof state.token).toBe('string');
      expect(rig.gatesIn('A')).toContain('192.168.1.20 . 49170 . 198.18.20.20 . 50170');
      expect(rig.gatesIn('B')).toContain(`198.18.20.20 . 50170 . ${ROUTER_A_WAN} . 0-65535`);
      await until(() => proxy.log.includes(under.answeredLog), 5000, () => proxy.log.slice(-2000));
    });

    it('marks the call\'s packets EF in both directions while it lasts', () => {
      expect(efBothWays(rig.lab, { phoneA: PHONE_A.v4, phoneB: PHONE_B.v4, routerAWan: ROUTER_A_WAN }, 49170, 50170, 30)).toEqual({ atB: 30, atA: 30 });
    });

    it('ends the call on BYE: the caller\'s sipp succeeds, the gates go, and the clearinghouse records one CDR with what was sent', async () => {
      expect(await caller.exit).toBe(0);
      const messages = readFileSync(join(stack.dir, 'uac-messages.log'), 'utf8');
      expect(messages).toMatch(/SIP\/2\.0 200 OK[\s\S]*P-Media-Authorization: [\w-]+\.[\w-]+\.[\w-]+/);
      await rig.untilState(CALL_ID, 'ended', 10_000);
      await until(() => !rig.gatesIn('A').includes('49170') && !rig.gatesIn('B').includes('50170'), 10_000, () => `gates left:\n${rig.gatesIn('A')}\n${rig.gatesIn('B')}`);
      await until(() => stack.cdrs(CALL_ID).length === 1, 15_000, () => `no CDR; server log:\n${rig.server?.log.slice(-2000)}\nclearinghouse log:\n${stack.clearinghouse?.log.slice(-2000)}`);
      const [cdr] = stack.cdrs(CALL_ID);
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
