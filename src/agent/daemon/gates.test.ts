import { describe, expect, it } from 'vitest';
import { usageKey } from '../../core/dataplane/gate-elements.ts';
import type { GateElements, Usage } from '../../core/dataplane/gate-elements.ts';
import type { DataplaneGate, DataplaneSettings } from '../../core/dataplane/model.ts';
import type { GateChange } from '../../core/dataplane/render-changes.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { fail, ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';
import type { Dataplane } from './dataplane.ts';
import { GateManager } from './gates.ts';

const settings: DataplaneSettings = { markMask: 0x003f0000, washUnadmittedEf: true, policeMarginPercent: 10, wifiEfToVoice: true };
const gate: DataplaneGate = {
  id: 'call-1.0o',
  direction: 'both',
  lan: { address: '192.168.1.20', port: 49170 },
  remote: { address: '198.18.20.20', port: 50170 },
  dscp: 46,
  rateKbit: 80,
  lifetimeS: 3600,
};

/** The kernel as the gate manager sees it: per element key, a counter; early counts per flow (down key). */
class KernelStub {
  readonly counters = new Map<string, Usage>();
  readonly early = new Map<string, Usage>();
  readonly earlyReads: string[] = [];

  readonly dataplane = {
    readUsage: (g: GateElements) => {
      const usage = { up: { packets: 0, bytes: 0 }, down: { packets: 0, bytes: 0 } };
      for (const w of g.ways) usage[w.way] = this.counters.get(`${w.way} ${w.key}`) ?? { packets: 0, bytes: 0 };
      return Promise.resolve(usage);
    },
    change: (change: GateChange) => {
      for (const g of change.remove) for (const w of g.ways) this.counters.delete(`${w.way} ${w.key}`);
      for (const g of change.add) for (const w of g.ways) this.counters.set(`${w.way} ${w.key}`, change.usage?.get(usageKey(g.id, w.way)) ?? { packets: 0, bytes: 0 });
      return Promise.resolve(ok(undefined) as Result<void>);
    },
    takeEarly: (g: GateElements) => {
      const down = g.ways.find((w) => w.way === 'down');
      if (!down) return Promise.resolve({ packets: 0, bytes: 0 });
      this.earlyReads.push(down.key);
      const taken = this.early.get(down.key) ?? { packets: 0, bytes: 0 };
      this.early.delete(down.key);
      return Promise.resolve(taken);
    },
    rebuild: () => Promise.resolve(ok(undefined) as Result<void>),
  } as unknown as Dataplane;

  count(way: 'up' | 'down', key: string, packets: number): void {
    const now = this.counters.get(`${way} ${key}`)!;
    this.counters.set(`${way} ${key}`, { packets: now.packets + packets, bytes: now.bytes + packets * 200 });
  }
}

function memoryHost(): Host {
  const files = new Map<string, string>();
  return {
    files: {
      readText: (path: string) => (files.has(path) ? ok(files.get(path)!) : fail({ code: 'ENOENT', message: path })),
      writeAtomic: (path: string, text: string) => ok(void files.set(path, text)),
      append: (path: string, text: string) => ok(void files.set(path, (files.get(path) ?? '') + text)),
    },
    clock: { monotonicMs: () => 1000, wallMs: () => 1_700_000_000_000 },
  } as unknown as Host;
}

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent };
const KEY = '192.168.1.20 . 49170 . 198.18.20.20 . 50170';

describe('gate manager: what arrived before the gate', () => {
  it('adds it to the down count of the gate it belongs to, in usage and at removal', async () => {
    const kernel = new KernelStub();
    kernel.early.set(KEY, { packets: 27, bytes: 5400 });
    const gates = new GateManager(memoryHost(), silent, kernel.dataplane, '/state.json', settings);
    expect(await gates.add(gate, 'cloud', 'call-1')).toEqual({ ok: true, value: { replaced: false } });
    expect(gates.get(gate.id)?.early).toEqual({ packets: 27, bytes: 5400 });
    kernel.count('down', KEY, 100);
    kernel.count('up', KEY, 90);
    expect(await gates.usage(gate.id)).toEqual({ up: { packets: 90, bytes: 18000 }, down: { packets: 127, bytes: 25400 } });
    const removed = await gates.remove(gate.id, 'removed');
    expect(removed.ok && removed.value?.usage).toEqual({ up: { packets: 90, bytes: 18000 }, down: { packets: 127, bytes: 25400 } });
  });

  it('does not read it again when the same flow is renewed, and keeps it', async () => {
    const kernel = new KernelStub();
    kernel.early.set(KEY, { packets: 3, bytes: 600 });
    const gates = new GateManager(memoryHost(), silent, kernel.dataplane, '/state.json', settings);
    expect((await gates.add(gate, 'cloud', 'call-1')).ok).toBe(true);
    kernel.count('down', KEY, 10);
    kernel.early.set(KEY, { packets: 99, bytes: 99 });
    expect(await gates.add(gate, 'cloud', 'call-1')).toEqual({ ok: true, value: { replaced: true } });
    expect(kernel.earlyReads).toEqual([KEY]);
    expect((await gates.usage(gate.id))?.down).toEqual({ packets: 13, bytes: 2600 });
  });

  it('adds what arrived before a moved flow\'s new gate to what the old one had', async () => {
    const kernel = new KernelStub();
    const moved = { ...gate, remote: { address: '198.18.20.20', port: 50172 } };
    const movedKey = '192.168.1.20 . 49170 . 198.18.20.20 . 50172';
    kernel.early.set(KEY, { packets: 3, bytes: 600 });
    kernel.early.set(movedKey, { packets: 5, bytes: 1000 });
    const gates = new GateManager(memoryHost(), silent, kernel.dataplane, '/state.json', settings);
    expect((await gates.add(gate, 'cloud', 'call-1')).ok).toBe(true);
    kernel.count('down', KEY, 10);
    expect((await gates.add(moved, 'cloud', 'call-1')).ok).toBe(true);
    expect(kernel.earlyReads).toEqual([KEY, movedKey]);
    expect((await gates.usage(gate.id))?.down).toEqual({ packets: 18, bytes: 3600 });
  });

  it('keeps it in the state, for an agent that restarts', async () => {
    const kernel = new KernelStub();
    const host = memoryHost();
    kernel.early.set(KEY, { packets: 27, bytes: 5400 });
    expect((await new GateManager(host, silent, kernel.dataplane, '/state.json', settings).add(gate, 'cloud', 'call-1')).ok).toBe(true);
    const restarted = new GateManager(host, silent, kernel.dataplane, '/state.json', settings);
    restarted.loadState();
    expect(restarted.get(gate.id)?.early).toEqual({ packets: 27, bytes: 5400 });
    expect((await restarted.usage(gate.id))?.down.packets).toBe(27);
  });

  it('records nothing for a gate nothing arrived before', async () => {
    const kernel = new KernelStub();
    const gates = new GateManager(memoryHost(), silent, kernel.dataplane, '/state.json', settings);
    expect((await gates.add(gate, 'cloud', 'call-1')).ok).toBe(true);
    expect(gates.get(gate.id)).not.toHaveProperty('early');
  });
});
