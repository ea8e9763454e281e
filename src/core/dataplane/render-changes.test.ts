import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenGates } from '../../../test/fixtures/dataplane/gates.ts';
import { gateElements, usageKey } from './gate-elements.ts';
import type { GateElements } from './gate-elements.ts';
import { renderGateChanges } from './render-changes.ts';

const settings = { markMask: 0x003f0000, washUnadmittedEf: true, policeMarginPercent: 10, wifiEfToVoice: true };

function elements(index: number, change: object = {}): GateElements {
  const result = gateElements({ ...goldenGates[index]!, ...change }, settings);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('renderGateChanges', () => {
  it('modifies a gate (new remote port) and adds an IPv6 one in one transaction, touching no other gate', () => {
    const batch = renderGateChanges({
      remove: [elements(0)],
      add: [elements(0, { remote: { address: '203.0.113.9', port: 40100 } }), elements(3)],
    });
    const path = new URL('../../../test/fixtures/dataplane/changes.nft', import.meta.url);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, batch);
    expect(batch).toBe(readFileSync(path, 'utf8'));
    for (const other of ['call-1.video', 'nat-phone', 'sip-trunk']) expect(batch).not.toContain(other);
  });

  it('removes each element only after re-adding it, so an element the kernel timed out cannot fail the batch', () => {
    const lines = renderGateChanges({ remove: [elements(3)], add: [] }).trim().split('\n');
    const key = '2001:db8:0:1::20 . 5004 . 2001:db8:ffff::9 . 0-65535';
    const addAt = lines.findIndex((l) => l.startsWith('add element inet callqos up_v6_any') && l.includes(key));
    const deleteAt = lines.findIndex((l) => l.startsWith('delete element inet callqos up_v6_any') && l.includes(key));
    expect(addAt).toBeGreaterThanOrEqual(0);
    expect(deleteAt).toBeGreaterThan(addAt);
    expect(lines).toHaveLength(4);
  });

  it('adds a gate\'s LAN endpoint to its set, and removes it only when no other gate keeps it', () => {
    const wildcard = elements(3);
    const key = '2001:db8:0:1::20 . 5004';
    const added = renderGateChanges({ remove: [], add: [wildcard] }).trim().split('\n');
    expect(added[0]).toBe(`add element inet callqos up_v6_lan { ${key} }`);
    expect(added[1]).toMatch(/^add element inet callqos up_v6_any /);
    const removed = renderGateChanges({ remove: [wildcard], add: [] }).trim().split('\n');
    expect(removed.slice(2)).toEqual([`add element inet callqos up_v6_lan { ${key} }`, `delete element inet callqos up_v6_lan { ${key} }`]);
    const kept = renderGateChanges({ remove: [wildcard], add: [], keepLan: () => true }).trim().split('\n');
    expect(kept.join('\n')).not.toContain('up_v6_lan');
    // An exact gate's endpoint is in its direction's set too.
    expect(renderGateChanges({ remove: [], add: [elements(0)] })).toContain('add element inet callqos up_v4_lan { 192.168.1.20 . 5004 }');
  });

  it('lets a replaced gate start from the counters it had, per direction', () => {
    const gate = elements(0);
    const usage = new Map(gate.ways.map((w, i) => [usageKey(gate.id, w.way), { packets: 100 + i, bytes: 17200 + i }]));
    const added = renderGateChanges({ remove: [gate], add: [gate], usage }).split('\n').filter((l) => l.startsWith(`add element inet callqos ${gate.ways[0]!.map} `) && l.includes(' : goto '));
    expect(added.at(-1)).toContain('counter packets 100 bytes 17200 ');
    const fresh = renderGateChanges({ remove: [], add: [gate] });
    expect(fresh).not.toContain('counter packets');
  });

  it('renders nothing for no change', () => {
    expect(renderGateChanges({ remove: [], add: [] })).toBe('');
  });
});
