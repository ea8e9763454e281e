import { describe, expect, it } from 'vitest';
import type { UsageView } from '../../core/fleet/api.ts';
import { latestUsageByGate } from './usage.ts';

const report = (gateId: string, receivedAtMs: number, packets: number): UsageView => ({
  device: 'r1',
  gateId,
  callId: 'c1',
  up: { packets, bytes: packets * 200 },
  down: { packets: 0, bytes: 0 },
  firstSeen: null,
  lastSeen: null,
  ended: null,
  receivedAtMs,
});

describe('latest usage per gate', () => {
  it('keeps the newest report of each gate whatever the order', () => {
    const latest = latestUsageByGate([report('g1', 2000, 20), report('g2', 1000, 5), report('g1', 3000, 30), report('g1', 1000, 10)]);
    expect(latest.get('g1')?.up.packets).toBe(30);
    expect(latest.get('g2')?.up.packets).toBe(5);
    expect(latest.size).toBe(2);
  });
});
