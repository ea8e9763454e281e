import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenGates } from '../../../test/fixtures/dataplane/gates.ts';
import { gateElements } from './gate-elements.ts';
import { hasCurrentSchema, parseClassMap } from './kernel-state.ts';

// Captured from the real kernel: test/fixtures/dataplane/gates.nft applied in a namespace, then `nft -j list …`.
const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/dataplane/${name}`, import.meta.url), 'utf8');
const settings = { markMask: 0x003f0000, washUnadmittedEf: true, policeMarginPercent: 10, wifiEfToVoice: true };

describe('kernel state from nft -j', () => {
  it('finds the schema mark in the forward chain, and not elsewhere', () => {
    expect(hasCurrentSchema(fixture('kernel-forward.json'))).toBe(true);
    expect(hasCurrentSchema(fixture('kernel-forward.json').replace('callqos schema 6', 'callqos schema 5'))).toBe(false);
    expect(hasCurrentSchema('')).toBe(false);
    expect(hasCurrentSchema('{"nftables": 3}')).toBe(false);
  });

  it('reads each gate element with its id, counters and a key that compares equal to the rendered one', () => {
    const up = parseClassMap(fixture('kernel-up_v4.json'), 'up');
    expect(up.ok).toBe(true);
    if (!up.ok) return;
    expect(up.value.map((e) => e.gateId)).toEqual(['call-1.audio', 'call-1.video', 'nat-phone']);
    for (const element of up.value) {
      const gate = goldenGates.find((g) => g.id === element.gateId)!;
      const rendered = gateElements(gate, settings);
      expect(rendered.ok && rendered.value.ways[0]!.key).toBe(element.key);
      expect(element).toMatchObject({ way: 'up', packets: 0, bytes: 0 });
    }
    const v6 = parseClassMap(fixture('kernel-up_v6.json'), 'up');
    expect(v6.ok && v6.value).toEqual([{ gateId: 'v6-phone', way: 'up', key: '2001:db8:0:1::20 . 5004 . 2001:db8:ffff::9 . 0-65535', packets: 0, bytes: 0 }]);
  });

  it('refuses output that is not nft JSON with a code', () => {
    expect(parseClassMap('Error: No such file', 'up')).toMatchObject({ ok: false, error: { code: 'E_JSON' } });
    expect(parseClassMap('{"nftables": []}', 'down')).toMatchObject({ ok: false, error: { code: 'E_NFT_JSON' } });
  });
});
