import { describe, expect, it } from 'vitest';
import { buildLocator } from '../../core/control/locate.ts';
import type { InterfaceEntry } from '../../core/protocol/messages/interfaces.ts';
import type { MediaLine, SessionAddBody } from '../../core/protocol/messages/cc.ts';
import type { DeviceRecord } from '../store/types.ts';
import { admissionCheck, gateRateKbps, planLine } from './planner.ts';
import { GATE_RATE_MAX_KBPS } from '../../core/protocol/limits.ts';

const audio = (codec: MediaLine['codec'], offer = '192.168.1.20', answer = '198.18.20.20'): MediaLine => ({
  line: 0, type: 'audio', offer: { address: offer, port: 49170 }, answer: { address: answer, port: 3456 }, direction: 'sendrecv', codec,
});

describe('gate rate', () => {
  it('adds IP, UDP and RTP headers per packet to the codec rate', () => {
    expect(gateRateKbps(audio({ name: 'PCMU', clockRate: 8000, ptimeMs: 20 }))).toBe(80);
    expect(gateRateKbps(audio({ name: 'G729', clockRate: 8000 }))).toBe(24);
    expect(gateRateKbps(audio({ name: 'PCMA', clockRate: 8000 }, '2001:db8:a:1::20', '2001:db8:b:1::20'))).toBe(88);
    expect(gateRateKbps(audio({ name: 'PCMU', clockRate: 8000, ptimeMs: 30 }))).toBe(75);
    expect(gateRateKbps(audio({ name: 'opus', clockRate: 48000, bandwidthKbps: 32 }))).toBe(48);
    expect(gateRateKbps(audio({ name: 'X-unknown', clockRate: 8000 }))).toBeNull();
    const video: MediaLine = { ...audio({ name: 'H264', clockRate: 90000, bandwidthKbps: 1500 }), type: 'video' };
    expect(gateRateKbps(video)).toBe(1500 + Math.ceil((1500_000 / 9600) * 320 / 1000));
  });
});

const lan = (name: string, v4: string, v6: string): InterfaceEntry => ({
  name, device: 'br-lan', role: 'lan', up: true, ipv4: [{ address: v4, prefixLength: 24 }], ipv6: [{ address: v6, prefixLength: 64 }], ipv6Prefixes: [],
});
const wan = (v4: string): InterfaceEntry => ({ name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [{ address: v4, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] });

const locator = buildLocator([
  { device: 'rtA', interfaces: [lan('lan', '192.168.1.1', '2001:db8:a:1::1'), wan('203.0.113.1')] },
  { device: 'rtB', interfaces: [lan('lan', '198.18.20.1', '2001:db8:b:1::1'), wan('198.51.100.1')] },
]);
const body = (media: MediaLine, callerSource: string | null = '203.0.113.1'): SessionAddBody => ({
  callId: 'call-1@x', caller: { source: callerSource }, callee: { source: '198.51.100.1' }, media: [media],
});

describe('planLine', () => {
  it('puts a gate on each router with a LAN end: the NATed far end by its public address and any port', () => {
    const media = audio({ name: 'PCMU', clockRate: 8000 });
    const plan = planLine(locator, 'call-1@x', body(media), media, 600);
    expect(plan.reason).toBeNull();
    const byDevice = Object.fromEntries(plan.gates.map((g) => [g.device, g.gate]));
    expect(byDevice.rtA).toMatchObject({ direction: 'both', lan: { address: '192.168.1.20', port: 49170 }, remote: { address: '198.18.20.20', port: 3456 }, dscp: 46, rateKbps: 80, lifetimeS: 600 });
    expect(byDevice.rtB).toMatchObject({ direction: 'both', lan: { address: '198.18.20.20', port: 3456 }, remote: { address: '203.0.113.1', port: null }, dscp: 46 });
    expect(new Set(plan.gates.map((g) => g.gate.id)).size).toBe(2);
    expect(planLine(locator, 'call-1@x', body(media), media, 600).gates.map((g) => g.gate.id)).toEqual(plan.gates.map((g) => g.gate.id));
  });

  it('turns sendonly into one direction per router, and gives no gate to an inactive or removed stream', () => {
    const media = { ...audio({ name: 'PCMU', clockRate: 8000 }), direction: 'sendonly' as const };
    const plan = planLine(locator, 'c', body(media), media, 600);
    expect(Object.fromEntries(plan.gates.map((g) => [g.device, g.gate.direction]))).toEqual({ rtA: 'up', rtB: 'down' });
    expect(planLine(locator, 'c', body(media), { ...media, direction: 'inactive' }, 600)).toMatchObject({ gates: [], reason: { code: 'E_NO_STREAM', detail: 'the stream is inactive' } });
    expect(planLine(locator, 'c', body(media), { ...media, answer: { ...media.answer, port: 0 } }, 600).gates).toEqual([]);
  });

  it('does not guess a private address without the signalling source: only the public end gets a gate', () => {
    const media = audio({ name: 'PCMU', clockRate: 8000 });
    const plan = planLine(locator, 'c', body(media, null), media, 600);
    expect(plan.gates.map((g) => g.device)).toEqual(['rtB']);
    expect(plan.gates[0]!.gate.remote).toEqual({ address: null, port: null });
  });

  it('says why when neither end is found', () => {
    const media = audio({ name: 'PCMU', clockRate: 8000 }, '10.9.9.9', '192.0.2.77');
    const plan = planLine(locator, 'c', body(media, null), media, 600);
    expect(plan.gates).toEqual([]);
    expect(plan.reason).toMatchObject({ code: 'E_NO_ROUTER', detail: expect.stringMatching(/^no router found for either end/) as unknown });
  });

  it('refuses a stream whose rate with headers is more than one gate admits, rather than deciding a gate that cannot be sent', () => {
    const media = { ...audio({ name: 'PCMU', clockRate: 8000 }), type: 'video' as const, codec: { name: 'H264', clockRate: 90000, bandwidthKbps: GATE_RATE_MAX_KBPS } };
    const plan = planLine(locator, 'c', body(media), media, 600);
    expect(plan.gates).toEqual([]);
    expect(plan.reason?.code).toBe('E_RATE');
    const fits = { ...media, codec: { ...media.codec, bandwidthKbps: 90000 } };
    expect(planLine(locator, 'c', body(fits), fits, 600).gates.every((g) => g.gate.rateKbps <= GATE_RATE_MAX_KBPS)).toBe(true);
  });
});

describe('admission', () => {
  const device = { id: 'rtA', link: { upKbps: 1000, downKbps: 10000, efBudgetPercent: 30 } } as DeviceRecord;
  const gate = (direction: 'both' | 'up' | 'down', rateKbps: number) => ({ id: 'g', direction, lan: { address: '192.168.1.20', port: 1 }, remote: { address: null, port: null }, dscp: 46 as const, rateKbps, lifetimeS: 60 });
  it('admits within the budget in each direction and names the direction that is full', () => {
    expect(admissionCheck(device, { up: 200, down: 0 }, [gate('both', 100)])).toBeNull();
    expect(admissionCheck(device, { up: 250, down: 0 }, [gate('both', 100)])).toEqual({ code: 'E_BUDGET', detail: 'router rtA: EF budget up is 300 kbit/s, 250 in use, 100 asked' });
    expect(admissionCheck(device, { up: 250, down: 0 }, [gate('down', 100)])).toBeNull();
  });
});
