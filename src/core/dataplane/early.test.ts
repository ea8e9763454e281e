import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenGates } from '../../../test/fixtures/dataplane/gates.ts';
import { earlyArrivals, renderEarlyRemoval } from './early.ts';
import { gateElements } from './gate-elements.ts';
import { parseEarlySet } from './kernel-state.ts';

// Captured from the real kernel: elements added to the early sets of gates.nft, then `nft -j list set …`.
const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/dataplane/${name}`, import.meta.url), 'utf8');
const settings = { markMask: 0x003f0000, washUnadmittedEf: true, policeMarginPercent: 10, wifiEfToVoice: true };

function elementsOf(id: string) {
  const rendered = gateElements(goldenGates.find((g) => g.id === id)!, settings);
  if (!rendered.ok) throw new Error(rendered.error.message);
  return rendered.value;
}

function early(name: string) {
  const parsed = parseEarlySet(fixture(name));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

describe('early arrivals', () => {
  it('reads the early set: keys in packet order with their counters', () => {
    expect(early('kernel-early_v4.json')).toEqual([
      { key: '192.168.1.20 . 5004 . 203.0.113.9 . 40000', packets: 7, bytes: 1204 },
      { key: '203.0.113.9 . 40000 . 192.168.1.20 . 5004', packets: 12, bytes: 2064 },
      { key: '198.51.100.9 . 7000 . 192.168.1.21 . 7078', packets: 3, bytes: 516 },
      { key: '198.51.100.10 . 7001 . 192.168.1.21 . 7078', packets: 2, bytes: 344 },
    ]);
    expect(early('kernel-early_v6.json')).toEqual([{ key: '2001:db8:ffff::9 . 7002 . 2001:db8:0:1::20 . 5004', packets: 5, bytes: 1000 }]);
  });

  it('gives a gate what arrived from its remote end to its LAN endpoint, not what its LAN host sent', () => {
    expect(earlyArrivals(elementsOf('call-1.audio'), early('kernel-early_v4.json'))).toEqual({
      usage: { packets: 12, bytes: 2064 },
      keys: ['203.0.113.9 . 40000 . 192.168.1.20 . 5004'],
    });
  });

  it('sums every remote end for a gate whose remote is a wildcard', () => {
    expect(earlyArrivals(elementsOf('nat-phone'), early('kernel-early_v4.json'))).toEqual({
      usage: { packets: 5, bytes: 860 },
      keys: ['198.51.100.9 . 7000 . 192.168.1.21 . 7078', '198.51.100.10 . 7001 . 192.168.1.21 . 7078'],
    });
  });

  it('gives nothing to a gate without a down direction or with another remote port', () => {
    expect(earlyArrivals(elementsOf('v6-phone'), early('kernel-early_v6.json')).usage).toEqual({ packets: 0, bytes: 0 });
    expect(earlyArrivals(elementsOf('call-1.video'), early('kernel-early_v4.json'))).toEqual({ usage: { packets: 0, bytes: 0 }, keys: [] });
  });

  it('deletes the elements read, recreating each first so that one that timed out cannot fail the batch', () => {
    expect(renderEarlyRemoval('v4', ['203.0.113.9 . 40000 . 192.168.1.20 . 5004'])).toBe(
      'add element inet callqos early_v4 { 203.0.113.9 . 40000 . 192.168.1.20 . 5004 }\ndelete element inet callqos early_v4 { 203.0.113.9 . 40000 . 192.168.1.20 . 5004 }\n',
    );
  });

  it('writes no key that is not exactly two addresses of the family and two ports', () => {
    const bad = ['1.2.3.4 . 1 . 5.6.7.8 . 2 } ; flush ruleset ; {', '1.2.3.4 . 1 . 5.6.7.8', '2001:db8::1 . 1 . 2001:db8::2 . 2', '1.2.3.4 . 70000 . 5.6.7.8 . 2', '01.2.3.4 . 1 . 5.6.7.8 . 2'];
    expect(renderEarlyRemoval('v4', bad)).toBe('');
    expect(renderEarlyRemoval('v6', ['2001:db8::1 . 1 . 2001:db8::2 . 2'])).toContain('early_v6 { 2001:db8::1 . 1 . 2001:db8::2 . 2 }');
  });

  it('refuses output that is not an nft set', () => {
    expect(parseEarlySet('{"nftables": []}')).toMatchObject({ ok: false, error: { code: 'E_NFT_JSON' } });
    expect(parseEarlySet('Error: No such file')).toMatchObject({ ok: false });
  });
});
