/**
 * Calls on a company's routed private network, as deployed (support/routed-lab.ts): two offices on
 * 10.1.0.0/24 and 10.2.0.0/24 with no NAT, Mosquitto, the QoS control server (`--routed-scope
 * corp=10.0.0.0/8`) and the built-in SIP proxy on a third private subnet, 10.3.0.0/24, sipp phones,
 * and the real agent under qjs with nftables on every router. The proxy sees each office phone's
 * own private address as signalling source; the server locates it by the scope. A call between
 * the offices is marked EF both ways; so is a call between an office and a phone at home behind
 * NAT. Then a router that reports office B's network too is refused: logged with both routers
 * and the network, listed by GET /v1/scopes, and a call into that network gets no gate there,
 * with a reason that names the conflict.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { until } from './support/cloud-rig.ts';
import { describeSystem } from './support/guard.ts';
import { CALL_CONTROL, HOME_WAN, PHONES, RoutedRig } from './support/routed-lab.ts';
import { SIPP_SCENARIOS } from './support/sip-stack.ts';
import { counted, observe, send } from './support/traffic.ts';

const PORTS = { officeCall: { A: 49170, B: 50170 }, homeCall: { A: 49190, H: 50190 } } as const;

describeSystem('calls on a routed private network: two offices on 10.x without NAT, call control on a third subnet, a home behind NAT, a conflicting router', ['ip', 'nft', 'python3', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'curl', 'sipp'], () => {
  const rig = new RoutedRig();

  beforeAll(async () => {
    await rig.start();
    for (const name of ['A', 'B', 'H'] as const) await rig.startAgent(name);
    observe(rig.lab.phones.A, [PORTS.officeCall.A, PORTS.homeCall.A]);
    observe(rig.lab.phones.B, [PORTS.officeCall.B]);
    observe(rig.lab.phones.H, [PORTS.homeCall.H]);
  });

  afterAll(() => rig.stop());

  /** A SIP call from `caller` to `callee` through the proxy, held for 6 s; resolves once it is QoS-active. */
  async function sipCall(callId: string, caller: { ns: 'A' | 'H'; address: string; sdpPort: number }, callee: { ns: 'A' | 'B'; address: string; sdpPort: number; sipPort: number }) {
    rig.sipp(rig.lab.phones[callee.ns], ['-sf', join(SIPP_SCENARIOS, 'uas-answer.xml'), '-i', callee.address, '-p', String(callee.sipPort), '-key', 'sdp_port', String(callee.sdpPort), '-m', '1']);
    await new Promise((r) => setTimeout(r, 500));
    const phone = rig.sipp(rig.lab.phones[caller.ns], [
      '-sf', join(SIPP_SCENARIOS, 'uac-call.xml'), `${callee.address}:${callee.sipPort}`, '-i', caller.address, '-p', '5080', '-rsa', `${CALL_CONTROL}:5060`, '-s', 'bob',
      '-key', 'sdp_port', String(caller.sdpPort), '-d', '6000', '-m', '1', '-cid_str', callId.replace('1@', '%u@'),
    ]);
    const state = await rig.untilState(callId, 'active', 10_000);
    return { state, phone };
  }

  it('marks a call between the two offices EF both ways, the proxy seeing each phone\'s own private address', async () => {
    const { state, phone } = await sipCall('office-1@corp', { ns: 'A', address: PHONES.A, sdpPort: PORTS.officeCall.A }, { ns: 'B', address: PHONES.B, sdpPort: PORTS.officeCall.B, sipPort: 5070 });
    expect(state).toMatchObject({ state: 'active', reason: null });
    // Exact far ends both ways: nothing translates between the offices.
    expect(rig.gatesIn('A')).toContain(`${PHONES.A} . ${PORTS.officeCall.A} . ${PHONES.B} . ${PORTS.officeCall.B}`);
    expect(rig.gatesIn('B')).toContain(`${PHONES.B} . ${PORTS.officeCall.B} . ${PHONES.A} . ${PORTS.officeCall.A}`);
    send(rig.lab.phones.A, PHONES.A, PORTS.officeCall.A, PHONES.B, PORTS.officeCall.B, 0, 30);
    send(rig.lab.phones.B, PHONES.B, PORTS.officeCall.B, PHONES.A, PORTS.officeCall.A, 0, 30);
    expect({ atB: counted(rig.lab.phones.B, '4', PORTS.officeCall.B, 'ef'), atA: counted(rig.lab.phones.A, '4', PORTS.officeCall.A, 'ef') }).toEqual({ atB: 30, atA: 30 });
    expect(await phone.exit).toBe(0);
    await rig.untilState('office-1@corp', 'ended');
  });

  it('marks a call between a phone at home behind NAT and an office EF both ways', async () => {
    const { state, phone } = await sipCall('home-1@corp', { ns: 'H', address: PHONES.H, sdpPort: PORTS.homeCall.H }, { ns: 'A', address: PHONES.A, sdpPort: PORTS.homeCall.A, sipPort: 5071 });
    expect(state).toMatchObject({ state: 'active', reason: null });
    // The office sees the home's public address; the home, any address (the office's is private).
    expect(rig.gatesIn('A')).toContain(`${PHONES.A} . ${PORTS.homeCall.A} . ${HOME_WAN} . 0-65535`);
    expect(rig.gatesIn('H')).toMatch(new RegExp(`${PHONES.H.replace(/\./g, '\\.')} \\. ${PORTS.homeCall.H}`));
    // The home phone first, so that its router's conntrack knows where the office's answer goes.
    send(rig.lab.phones.H, PHONES.H, PORTS.homeCall.H, PHONES.A, PORTS.homeCall.A, 0, 30);
    send(rig.lab.phones.A, PHONES.A, PORTS.homeCall.A, HOME_WAN, PORTS.homeCall.H, 0, 30);
    expect({ atA: counted(rig.lab.phones.A, '4', PORTS.homeCall.A, 'ef'), atH: counted(rig.lab.phones.H, '4', PORTS.homeCall.H, 'ef') }).toEqual({ atA: 30, atH: 30 });
    expect(await phone.exit).toBe(0);
    await rig.untilState('home-1@corp', 'ended');
  });

  it('refuses office B\'s network to a second router reporting it: logged with both, listed by the API, calls into it without a gate there and a reason naming the conflict', async () => {
    await rig.startAgent('X');
    await until(() => rig.server!.log.includes('routed network refused'), 15_000, () => rig.server!.log.slice(-3000));
    expect(rig.server!.log).toMatch(/error: routed network refused: another router of the scope reported it first and keeps it .*scope=corp prefix=10\.2\.0\.0\/24 device=rtX holder=rtB/);
    expect(rig.api('GET', '/v1/scopes')).toMatchObject({ scopes: [{ name: 'corp', conflicts: [{ prefix: '10.2.0.0/24', holder: 'rtB', refused: ['rtX'] }] }] });

    const line = (offer: string, answer: string) => ({ line: 0, type: 'audio', offer: { address: offer, port: 49200 }, answer: { address: answer, port: 50200 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } });
    // From office A into the disputed network: office A's end only.
    const intoIt = rig.api('POST', '/v1/sessions', { callId: 'disputed-1@corp', caller: { source: PHONES.A }, callee: { source: PHONES.B }, media: [line(PHONES.A, PHONES.B)], wait: true });
    expect(intoIt).toMatchObject({ state: 'active', lines: [{ gates: [{ device: 'rtA' }] }] });
    expect(rig.gatesIn('B')).not.toContain('50200');
    expect(rig.gatesIn('X')).not.toContain('50200');
    // From the disputed network to a carrier's media gateway (no router there): no gate at all, and the reason says why.
    const toCarrier = rig.api('POST', '/v1/sessions', { callId: 'carrier-1@corp', caller: { source: PHONES.B }, callee: { source: '192.0.2.50' }, media: [line(PHONES.B, '192.0.2.50')], wait: true });
    expect(toCarrier.state).toBe('rejected');
    expect(String(toCarrier.reason)).toMatch(/10\.2\.0\.0\/24 of routed scope corp is reported by rtB and rtX \(conflict/);
  });
});
