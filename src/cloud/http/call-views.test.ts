import { describe, expect, it } from 'vitest';
import type { GateRecord, SessionRecord, UsageRecord } from '../store/types.ts';
import { callLine, efHold, efSeries, routerStates } from './call-views.ts';

const line: SessionRecord = {
  callId: 'c1', line: 0, client: 'sip', state: 'active', spec: {}, reason: null, gateIds: ['g1', 'g2'],
  createdAtMs: 1000, updatedAtMs: 1200, deadlineMs: null, activeAtMs: 1150, endedAtMs: null,
};
function gate(id: string, device: string, direction: GateRecord['direction'], state: GateRecord['state'] = 'installed', updatedAtMs = 1150): GateRecord {
  return {
    id, device, callId: 'c1', line: 0, hash: 'h', direction, rateKbps: 80, state, updatedAtMs, error: null,
    gate: { id, direction, lan: { address: '10.0.0.2', port: 4000 }, remote: { address: '192.0.2.9', port: 5000 }, dscp: 46, rateKbps: 80, lifetimeS: 600 },
  };
}
function usage(device: string, gateId: string, up: number, down: number, ended: UsageRecord['ended'] = null, receivedAtMs = 2000): UsageRecord {
  return { device, gateId, callId: 'c1', up: { packets: up, bytes: up * 160 }, down: { packets: down, bytes: down * 160 }, firstSeen: 1, lastSeen: 2, ended, receivedAtMs };
}

describe('call views', () => {
  it('measures loss between the two routers per direction they both count', () => {
    const l = callLine(line, [gate('g1', 'a', 'both'), gate('g2', 'b', 'both')], [usage('a', 'g1', 100, 95, 'removed', 2100), usage('b', 'g2', 97, 99, null, 2000)]);
    expect(l.betweenRouters).toEqual([
      { from: 'a', to: 'b', sent: 100, received: 99, lost: 1, lossPercent: 1, final: false, asOfMs: 2000 },
      { from: 'b', to: 'a', sent: 97, received: 95, lost: 2, lossPercent: (2 / 97) * 100, final: false, asOfMs: 2000 },
    ]);
    expect(l.routers[0]!.gates[0]).toMatchObject({ requestedAtMs: 1000, installedAtMs: 1150, installMs: 150 });
  });

  it('shows no loss without both routers\' reports, and never a negative one', () => {
    expect(callLine(line, [gate('g1', 'a', 'both'), gate('g2', 'b', 'both')], [usage('a', 'g1', 10, 10)]).betweenRouters).toEqual([]);
    const early = callLine(line, [gate('g1', 'a', 'up'), gate('g2', 'b', 'down')], [usage('a', 'g1', 10, 0), usage('b', 'g2', 0, 12)]);
    expect(early.betweenRouters).toEqual([{ from: 'a', to: 'b', sent: 10, received: 12, lost: 0, lossPercent: 0, final: false, asOfMs: 2000 }]);
  });

  it('gives each router its least settled gate state', () => {
    expect(routerStates([gate('g1', 'a', 'up', 'installed'), gate('g3', 'a', 'down', 'installing'), gate('g2', 'b', 'both', 'removed')])).toEqual([
      { device: 'a', state: 'installing' },
      { device: 'b', state: 'removed' },
    ]);
  });

  it('keeps a hold shorter than a step as that step\'s maximum, per direction', () => {
    const holds = [efHold(gate('g1', 'a', 'both', 'removed', 25_000), 21_000), efHold(gate('g2', 'a', 'up', 'installed'), 50_000)];
    const s = efSeries('a', holds, 0, 60_000, 6);
    expect(s.stepMs).toBe(10_000);
    expect(s.up).toEqual([0, 0, 80, 0, 0, 80]);
    expect(s.down).toEqual([0, 0, 80, 0, 0, 0]);
  });
});
