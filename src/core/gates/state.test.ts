import { describe, expect, it } from 'vitest';
import { journalLine, parseState, replayJournal, serializeState } from './state.ts';
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
  {
    gate: { id: 'c', direction: 'both', lan: { address: '192.168.1.21', port: 5006 }, remote: { address: '198.51.100.9', port: 7000 }, dscp: 46, rateKbit: 90, lifetimeS: 3600 },
    source: 'cloud',
    installedAtMs: 3000,
    expiresAtMs: 3_603_000,
    ref: 'call-c',
    early: { packets: 12, bytes: 2064 },
  },
];

describe('agent state file', () => {
  it('reads back what it wrote', () => {
    expect(parseState(serializeState(live))).toEqual({ ok: true, value: { gates: live, skipped: 0 } });
  });

  it('leaves out an early count that is not two counts', () => {
    const c = live[2]!;
    for (const early of [{ packets: -1, bytes: 0 }, { packets: 1 }, 'many', { packets: 1.5, bytes: 2 }]) {
      const text = JSON.stringify({ version: 1, gates: [{ ...c, early }] });
      expect(parseState(text)).toEqual({ ok: true, value: { gates: [{ gate: c.gate, source: c.source, installedAtMs: c.installedAtMs, expiresAtMs: c.expiresAtMs, ref: c.ref }], skipped: 0 } });
    }
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

describe('agent state journal', () => {
  const [a, b] = live as [LiveGate, LiveGate];
  const moved: LiveGate = { ...b, gate: { ...b.gate, lan: { address: '2001:db8::21', port: 4002 } } };

  it('replays puts and removes in order over the snapshot', () => {
    const journal = journalLine({ put: moved }) + journalLine({ remove: 'a' }) + journalLine({ put: a }) + journalLine({ remove: 'b' });
    expect(replayJournal([a, b], journal)).toEqual({ gates: [a], lines: 4, skipped: 0 });
    expect(replayJournal([a, b], journalLine({ put: moved }))).toEqual({ gates: [a, moved], lines: 1, skipped: 0 });
  });

  it('skips a torn last line and damaged lines, and counts them', () => {
    const whole = journalLine({ remove: 'a' });
    const torn = journalLine({ put: moved }).slice(0, 40);
    expect(replayJournal([a, b], 'junk\n' + whole + '{"put":{"gate":{"id":3}}}\n' + torn)).toEqual({ gates: [b], lines: 4, skipped: 3 });
  });

  it('replaying an entry twice changes nothing (a crash between snapshot and journal reset)', () => {
    const journal = journalLine({ put: moved }) + journalLine({ remove: 'a' });
    const once = replayJournal([a, b], journal).gates;
    expect(replayJournal(once, journal).gates).toEqual(once);
  });
});
