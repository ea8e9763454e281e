import { describe, expect, it } from 'vitest';
import { gateElements } from './gate-elements.ts';
import type { GateElements } from './gate-elements.ts';
import { GateSet } from './gate-set.ts';
import type { DataplaneGate } from './model.ts';

const settings = { markMask: 0x003f0000, washUnadmittedEf: true, policeMarginPercent: 10, wifiEfToVoice: true };

function g(id: string, lanPort: number, remote: string | null, remotePort: number | null, direction: DataplaneGate['direction'] = 'both'): GateElements {
  const result = gateElements(
    { id, direction, lan: { address: '192.168.1.20', port: lanPort }, remote: { address: remote, port: remotePort }, dscp: 46, rateKbit: 100, lifetimeS: 60 },
    settings,
  );
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('GateSet', () => {
  it('refuses a second gate with the same id, or flows another gate of the same LAN endpoint covers', () => {
    const set = new GateSet();
    set.set(g('a', 5004, '203.0.113.9', 40000));
    expect(set.check(g('a', 6000, null, null))).toMatchObject({ ok: false, error: { code: 'E_GATE', path: 'id' } });
    expect(set.check(g('b', 5004, null, null))).toMatchObject({ ok: false, error: { code: 'E_GATE_CONFLICT' } });
    expect(set.check(g('c', 5004, '203.0.113.9', null))).toMatchObject({ ok: false, error: { code: 'E_GATE_CONFLICT' } });
    expect(set.check(g('d', 5004, '203.0.113.10', 40000)).ok).toBe(true);
    expect(set.check(g('e', 5006, null, null)).ok).toBe(true);
  });

  it('lets a gate be replaced by its new version, and only one-way gates of opposite directions share flows', () => {
    const set = new GateSet();
    set.set(g('a', 5004, '203.0.113.9', 40000));
    expect(set.check(g('a', 5004, null, null), 'a').ok).toBe(true);
    const oneWay = new GateSet();
    oneWay.set(g('up', 5004, null, null, 'up'));
    expect(oneWay.check(g('down', 5004, null, null, 'down')).ok).toBe(true);
    expect(oneWay.check(g('both', 5004, null, null, 'both')).ok).toBe(false);
  });

  it('forgets deleted gates', () => {
    const set = new GateSet();
    set.set(g('a', 5004, null, null));
    set.delete('a');
    expect(set.size).toBe(0);
    expect(set.check(g('b', 5004, null, null)).ok).toBe(true);
  });

  it('tells whether another gate of the same LAN endpoint and direction still needs its set element', () => {
    const set = new GateSet();
    const a = g('a', 5004, '203.0.113.9', null, 'up');
    const b = g('b', 5004, '203.0.113.10', null, 'both');
    const exact = g('c', 5004, '203.0.113.11', 40000, 'up');
    for (const gate of [a, b, exact]) set.set(gate);
    const up = a.ways[0]!;
    expect(set.otherGateAt(a, up, new Set(['a']))).toBe(true);
    set.delete('b');
    expect(set.otherGateAt(a, up, new Set(['a']))).toBe(true);
    set.delete('c');
    expect(set.otherGateAt(a, up, new Set(['a']))).toBe(false);
    expect(set.otherGateAt(a, up, new Set())).toBe(true);
  });
});
