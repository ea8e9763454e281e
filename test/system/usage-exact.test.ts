/**
 * Usage counted exactly when the two routers install a call's gates at different moments. The
 * phones send their media (50 packets/s, EF-marked as softphones do) from before the answer to
 * well after it, the call goes through the built-in proxy (which holds the 200 OK until both
 * routers installed), and the test holds one router's agent (SIGSTOP) until the other router's
 * gate has been in for half a second. The router whose gate is in marks and counts the packets it
 * sends; the other must count them as received too, even those that arrived before its own gate.
 * The clearinghouse's CDR then books 0 lost in both directions, and for the flow towards the late
 * router the two routers' counts are equal.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from '../support/bundles.ts';
import { CLOUD_ADDRESS, PHONE_A, PHONE_B, ROUTER_A_WAN } from './support/cloud-lab.ts';
import { start, until, type RouterName } from './support/cloud-rig.ts';
import { describeSystem } from './support/guard.ts';
import { builtInProxy } from './support/sip-proxies.ts';
import { SIP_STACK_TOOLS, SIPP_SCENARIOS, SipStack } from './support/sip-stack.ts';

const SEND_UDP = join(repoRoot, 'test/system/support/send-udp.py');
/** 4.5 s of G.711 at 20 ms, 172 bytes of RTP each: over well before the BYE, 6 s after the answer. */
const PACKETS = 225;
const HOLD_MS = 500;

interface Usage {
  device: string;
  up_packets: number;
  down_packets: number;
}

describeSystem('usage counted exactly: gates installed at different moments, media from the first millisecond', SIP_STACK_TOOLS, () => {
  const stack = new SipStack();
  const rig = stack.rig;

  beforeAll(async () => {
    await stack.start(builtInProxy());
  });

  afterAll(() => stack.stop());

  /** The phone's media, from its SDP port: `count` packets 20 ms apart, EF as a softphone marks it. */
  function media(from: 'A' | 'B', port: number, farPort: number): Promise<number | null> {
    const [ns, src, dst] = from === 'A' ? [rig.lab.phoneA, PHONE_A.v4, PHONE_B.v4] : [rig.lab.phoneB, PHONE_B.v4, ROUTER_A_WAN];
    const sender = start(ns, ['python3', SEND_UDP, src, String(port), dst, String(farPort), '46', String(PACKETS), '172', '20']);
    return new Promise((resolve) => sender.child.on('close', resolve));
  }

  /** The router's IPv4 gate maps as nft lists them (the early sets, which name the same ports, left out). */
  function gateMaps(name: RouterName): string {
    const ns = name === 'A' ? rig.lab.routerA : rig.lab.routerB;
    return ['up_v4', 'down_v4', 'up_v4_any', 'down_v4_any'].map((map) => ns.run(['nft', 'list', 'map', 'inet', 'callqos', map]).stdout).join('\n');
  }

  /** Router A's connection tracking has seen phone A's media (and, if `replied`, phone B's back). */
  function conntrackHas(portA: number, portB: number, replied: boolean): boolean {
    const text = rig.lab.routerA.run(['cat', '/proc/net/nf_conntrack']).stdout;
    return text.split('\n').some((l) => l.includes(`src=${PHONE_A.v4} dst=${PHONE_B.v4} sport=${portA} dport=${portB}`) && (!replied || !l.includes('UNREPLIED')));
  }

  function usageOf(callId: string): Usage[] {
    const db = new Database(rig.dbPath, { readonly: true });
    try {
      return db.prepare('SELECT device, up_packets, down_packets FROM usage WHERE call_id = ? ORDER BY device').all(callId) as Usage[];
    } finally {
      db.close();
    }
  }

  async function call(late: RouterName, n: number): Promise<void> {
    const callId = `exact-${late}-1@lab`;
    const [portA, portB] = [49170 + 2 * n, 50170 + 2 * n];
    const agent = rig.agents[late]!;
    const early = late === 'A' ? 'B' : 'A';
    const lateLogFrom = agent.log.length;
    stack.sipp(rig.lab.phoneB, ['-sf', join(SIPP_SCENARIOS, 'uas-answer.xml'), '-i', PHONE_B.v4, '-p', String(5070 + n), '-key', 'sdp_port', String(portB), '-m', '1']);
    await new Promise((r) => setTimeout(r, 300));

    // Phone A first, so that router A's source NAT knows where phone B's media goes (B's packets
    // before it would make router A map phone A to another port); both flowing before the INVITE.
    const sentA = media('A', portA, portB);
    await until(() => conntrackHas(portA, portB, false), 10_000, () => 'no media from phone A through router A');
    const sentB = media('B', portB, portA);
    await until(() => conntrackHas(portA, portB, true), 10_000, () => 'no media from phone B through router A');
    process.kill(agent.child.pid!, 'SIGSTOP');
    let held = true;
    try {
      const caller = stack.sipp(rig.lab.phoneA, [
        '-sf', join(SIPP_SCENARIOS, 'uac-call.xml'), `${PHONE_B.v4}:${5070 + n}`, '-i', PHONE_A.v4, '-p', String(5080 + n), '-rsa', `${CLOUD_ADDRESS}:5060`, '-s', 'bob',
        '-key', 'sdp_port', String(portA), '-d', '6000', '-m', '1', '-cid_str', `exact-${late}-%u@lab`,
      ]);
      const hasGate = (name: RouterName) => gateMaps(name).includes(` ${name === 'A' ? portA : portB} . `);
      await until(() => hasGate(early), 10_000, () => `router ${early} installed nothing:\n${rig.server?.log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, HOLD_MS));
      expect(hasGate(late)).toBe(false);
      process.kill(agent.child.pid!, 'SIGCONT');
      held = false;
      await rig.untilState(callId, 'active', 10_000);
      expect(await sentA).toBe(0);
      expect(await sentB).toBe(0);
      expect(await caller.exit).toBe(0);
    } finally {
      if (held) process.kill(agent.child.pid!, 'SIGCONT');
    }
    await rig.untilState(callId, 'ended', 10_000);
    await until(() => stack.cdrs(callId).length === 1, 15_000, () => `no CDR; server log:\n${rig.server?.log.slice(-2000)}`);

    const flows = JSON.parse(String(stack.cdrs(callId)[0]!.flows)) as { direction: string; packets: number; lost: number | null }[];
    const usage = usageOf(callId);
    const lateLog = agent.log.slice(lateLogFrom);
    console.log(`router ${late} installed ${HOLD_MS} ms after router ${early}: CDR flows ${JSON.stringify(flows)}; usage ${JSON.stringify(usage)}`);
    console.log(`router ${late}: ${lateLog.split('\n').filter((l) => l.includes('gate installed')).join(' | ')}`);
    expect(flows.map((f) => [f.direction, f.lost])).toEqual([
      ['forward', 0],
      ['reverse', 0],
    ]);
    // Towards the late router, everything the early one counted as sent was counted as received.
    const [a, b] = [usage.find((u) => u.device === 'rtA')!, usage.find((u) => u.device === 'rtB')!];
    if (late === 'A') expect(a.down_packets).toBe(b.up_packets);
    else expect(b.down_packets).toBe(a.up_packets);
    // The flow from the early router was running while the late router's gate was missing.
    expect(late === 'A' ? b.up_packets : a.up_packets).toBeGreaterThan(late === 'A' ? a.up_packets : b.up_packets);
  }

  it('books no loss when the caller\'s router installs after the callee\'s', async () => {
    await call('A', 0);
  });

  it('books no loss when the callee\'s router installs after the caller\'s', async () => {
    await call('B', 1);
  });
});
