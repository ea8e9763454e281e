import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenGates } from '../../../test/fixtures/dataplane/gates.ts';
import type { DataplaneGate, DataplaneSettings } from './model.ts';
import { renderNftBatch } from './render-nft.ts';

const settings: DataplaneSettings = { markMask: 0x003f0000, washUnadmittedEf: true, policeMarginPercent: 10, wifiEfToVoice: true };

function golden(name: string, actual: string): void {
  const path = new URL(`../../../test/fixtures/dataplane/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

function render(gates: readonly DataplaneGate[], overrides: Partial<DataplaneSettings> = {}) {
  return renderNftBatch({ ...settings, ...overrides }, gates);
}

describe('renderNftBatch', () => {
  it('renders the golden batch for gates of both families, wildcard remotes and three classes', () => {
    const batch = render(goldenGates);
    expect(batch.ok).toBe(true);
    if (batch.ok) golden('gates.nft', batch.value);
  });

  it('renders an empty table without washing when washing is off, with another mark mask', () => {
    const batch = render([], { washUnadmittedEf: false, markMask: 0xff000000 });
    expect(batch.ok).toBe(true);
    if (batch.ok) golden('empty-nowash.nft', batch.value);
  });

  it.each([
    ['lan.address', { lan: { address: '192.168.1.20; flush ruleset', port: 5004 } }],
    ['lan.address', { lan: { address: '192.168.1.0/24', port: 5004 } }],
    ['lan.port', { lan: { address: '192.168.1.20', port: 0 } }],
    ['lan.port', { lan: { address: '192.168.1.20', port: 65536 } }],
    ['lan.port', { lan: { address: '192.168.1.20', port: 50.5 } }],
    ['remote.address', { remote: { address: '2001:db8::1', port: 1 } }],
    ['remote.address', { remote: { address: 'example.com', port: 1 } }],
    ['remote.port', { remote: { address: null, port: -1 } }],
    ['dscp', { dscp: 0 }],
    ['dscp', { dscp: 47 }],
    ['lifetimeS', { lifetimeS: 0 }],
    ['lifetimeS', { lifetimeS: 1.5 }],
    ['id', { id: 'a" ; delete table inet fw4 ; "' }],
    ['id', { id: '' }],
  ] as const)('refuses a gate whose %s is %j, naming the gate and the field', (path, change) => {
    const gate = { ...goldenGates[0]!, ...change } as DataplaneGate;
    const batch = render([gate]);
    expect(batch.ok).toBe(false);
    if (!batch.ok) {
      expect(batch.error.code).toBe('E_GATE');
      expect(batch.error.path).toBe(path);
      expect(batch.error.message).toContain(`gate ${JSON.stringify(gate.id)}`);
    }
  });

  it('refuses a gate id used twice', () => {
    const batch = render([goldenGates[0]!, { ...goldenGates[1]!, id: goldenGates[0]!.id }]);
    expect(batch.ok ? null : batch.error.message).toBe('gate "call-1.audio": gate id is used twice');
  });

  it.each([0, 0x1f, 0x1ff, 0x00f0f000, 1.5, -1, 2 ** 32])('refuses mark mask %s', (markMask) => {
    const batch = render([], { markMask });
    expect(batch.ok ? null : batch.error.code).toBe('E_CONFIG');
  });

  it('puts the class into the masked conntrack bits and keeps the rest', () => {
    const batch = render([goldenGates[0]!], { markMask: 0x0000ff00 });
    expect(batch.ok && batch.value).toContain('ip dscp set ef ct mark set ct mark and 0xffff00ff or 0x00002e00');
    expect(batch.ok && batch.value).toContain('ip6 dscp set af41 ct mark set ct mark and 0xffff00ff or 0x00002200');
  });
});
