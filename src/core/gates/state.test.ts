import { describe, expect, it } from 'vitest';
import { parseState, serializeState } from './state.ts';
import type { LiveGate } from './state.ts';

const live: LiveGate[] = [
  {
    gate: { id: 'a', direction: 'both', lan: { address: '192.168.1.20', port: 5004 }, remote: { address: null, port: null }, dscp: 46, rateKbit: 100, lifetimeS: null },
    source: 'static',
    installedAtMs: 1000,
    expiresAtMs: null,
  },
  {
    gate: { id: 'b', direction: 'up', lan: { address: '2001:db8::20', port: 4000 }, remote: { address: '2001:db8::9', port: 40000 }, dscp: 34, rateKbit: 1500, lifetimeS: 600 },
    source: 'cloud',
    installedAtMs: 2000,
    expiresAtMs: 602_000,
  },
];

describe('agent state file', () => {
  it('reads back what it wrote', () => {
    expect(parseState(serializeState(live))).toEqual({ ok: true, value: { gates: live, skipped: 0 } });
  });

  it('skips entries that do not read back and counts them', () => {
    const text = JSON.stringify({ version: 1, gates: [live[0], { ...live[1], source: 'elsewhere' }, { gate: { id: 3 } }, 'junk'] });
    expect(parseState(text)).toEqual({ ok: true, value: { gates: [live[0]], skipped: 3 } });
  });

  it('refuses another version or text that is not JSON, with a code', () => {
    expect(parseState(JSON.stringify({ version: 2, gates: [] }))).toMatchObject({ ok: false, error: { code: 'E_STATE' } });
    expect(parseState('{"version":1,')).toMatchObject({ ok: false, error: { code: 'E_JSON' } });
  });
});
