import { describe, expect, it } from 'vitest';
import { parseRoutedScope } from '../../core/control/routed-scope.ts';
import { createLogger } from '../../core/log.ts';
import type { InterfaceEntry } from '../../core/protocol/messages/interfaces.ts';
import type { DeviceRecord, InterfaceChanges } from '../store/types.ts';
import { RouterIndex } from './router-index.ts';

const lan = (address: string): InterfaceEntry[] => [{ name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [{ address, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] }];

/** The store's change feed: each report pushed is handed out once, in order. */
function feed() {
  const pending: DeviceRecord[] = [];
  let cursor = 0;
  return {
    report: (id: string, interfaces: InterfaceEntry[]) => pending.push({ id, interfaces } as unknown as DeviceRecord),
    store: { interfacesChangedSince: (): Promise<InterfaceChanges> => Promise.resolve({ cursor: (cursor += pending.length), devices: pending.splice(0) }) },
  };
}

describe('router index with a routed scope', () => {
  const corp = parseRoutedScope('corp=10.0.0.0/8');
  if (!corp.ok) throw new Error(corp.error.message);

  it('logs a refused network once, as soon as its report is read, even when a rebuild was just made, and once more when it is over', async () => {
    const lines: string[] = [];
    const { report, store } = feed();
    const index = new RouterIndex(store, createLogger((l) => lines.push(l), 'info'), Date.now, [corp.value]);
    report('office-b', lan('10.2.0.1'));
    expect((await index.current()).locate({ mediaAddress: '10.2.0.20' })).toMatchObject({ ok: true, device: 'office-b' });
    // Right after that rebuild: this one is held back, and made at the window's end without being asked.
    report('office-x', lan('10.2.0.1'));
    await index.refresh();
    // Nothing else rebuilds here (no periodic refresh): only the held-back rebuild can log it.
    for (let waited = 0; !lines.some((l) => l.startsWith('error: routed network refused')) && waited < 15_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    const refused = lines.filter((l) => l.startsWith('error: routed network refused'));
    expect(refused).toEqual([expect.stringMatching(/scope=corp prefix=10\.2\.0\.0\/24 device=office-x holder=office-b/)]);
    // Reported again: no second line.
    report('office-x', lan('10.2.0.1'));
    expect(await index.claims()).toEqual([{ scope: 'corp', prefix: '10.2.0.0/24', holder: 'office-b', refused: ['office-x'] }]);
    expect(lines.filter((l) => l.startsWith('error: routed network refused'))).toHaveLength(1);
    report('office-x', lan('10.7.0.1'));
    expect((await index.claims()).every((c) => c.refused.length === 0)).toBe(true);
    expect(lines.filter((l) => l.startsWith('info: routed network conflict over'))).toHaveLength(1);
    index.close();
  });
});
