/**
 * The kernel side of the agent: applies the desired gates to `table inet callqos` through `nft`,
 * notices when the table is gone or from an older agent (firewall stop, fw4 reload, `nft flush
 * ruleset`) and rebuilds it, carrying the gates' counters over. Every change is one `nft -f`
 * transaction.
 */
import { earlyArrivals, renderEarlyRemoval } from '../../core/dataplane/early.ts';
import { parseElementCounter, parseElementCounters } from '../../core/dataplane/element-counter.ts';
import { usageKey } from '../../core/dataplane/gate-elements.ts';
import type { GateElements, Usage } from '../../core/dataplane/gate-elements.ts';
import { hasCurrentSchema, parseClassMap, parseEarlySet } from '../../core/dataplane/kernel-state.ts';
import { CLASS_MAPS, NFT_TABLE, earlySet } from '../../core/dataplane/model.ts';
import type { DataplaneGate, DataplaneSettings } from '../../core/dataplane/model.ts';
import { renderGateChanges } from '../../core/dataplane/render-changes.ts';
import type { GateChange } from '../../core/dataplane/render-changes.ts';
import { renderNftBatch } from '../../core/dataplane/render-nft.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { fail, ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';
import { describeFailure, execute } from '../exec.ts';

export class Dataplane {
  constructor(
    private readonly host: Host,
    private readonly log: Logger,
  ) {}

  private async nft(args: readonly string[], stdin?: string): Promise<Result<string[]>> {
    const argv = ['nft', ...args];
    const done = await execute(this.host, argv, { stdin, timeoutMs: 20_000 });
    if (done.status.code === 0) return ok(done.stdout);
    return fail({ code: 'E_NFT', message: describeFailure(argv, done) });
  }

  /** Cheap (no set elements listed): is our table there, with the layout this agent writes? */
  async isCurrent(): Promise<boolean> {
    const listed = await this.nft(['-j', 'list', 'chain', 'inet', NFT_TABLE, 'forward']);
    return listed.ok && hasCurrentSchema(listed.value.join('\n'));
  }

  /** Counters of every gate element in the kernel now, by usageKey; empty when there is no current table. */
  async readAllUsage(): Promise<Map<string, Usage>> {
    const usage = new Map<string, Usage>();
    for (const { name, way } of CLASS_MAPS) {
      const listed = await this.nft(['-j', 'list', 'map', 'inet', NFT_TABLE, name]);
      if (!listed.ok) continue;
      const elements = parseClassMap(listed.value.join('\n'), way);
      if (!elements.ok) continue;
      for (const e of elements.value) if (e.gateId !== null) usage.set(usageKey(e.gateId, way), { packets: e.packets, bytes: e.bytes });
    }
    return usage;
  }

  /**
   * Counters of one gate, per direction it covers (zero where the kernel no longer has it). Both
   * directions are read by one nft: a removal waits for this read, and every nft process costs
   * several milliseconds. nft stops a batch at its first missing element, so after a failure the
   * directions it did not print are asked for one by one.
   */
  async readUsage(gate: GateElements): Promise<Record<'up' | 'down', Usage>> {
    const usage = { up: { packets: 0, bytes: 0 }, down: { packets: 0, bytes: 0 } };
    const query = gate.ways.map((w) => `get element inet ${NFT_TABLE} ${w.map} { ${w.key} }\n`).join('');
    const batch = await execute(this.host, ['nft', '-f', '-'], { stdin: query, timeoutMs: 20_000 });
    const counters = parseElementCounters(batch.stdout.join('\n'));
    for (const w of gate.ways) {
      let counter = counters.get(w.map) ?? null;
      if (counter === null && batch.status.code !== 0) {
        const got = await this.nft(['get', 'element', 'inet', NFT_TABLE, w.map, `{ ${w.key} }`]);
        counter = got.ok ? parseElementCounter(got.value.join('\n')) : null;
      }
      if (counter) usage[w.way] = counter;
    }
    return usage;
  }

  /**
   * For a gate just installed: the marked packets of its down direction that arrived before it was
   * there (counted in the early set, see core/dataplane/early.ts), taken out of the set so that
   * they are counted once. Call only once the gate is in the kernel: from then on it takes the
   * flow's packets and the count no longer moves. The early set is small (bounded, a handful of
   * flows), so listing it costs the same with 10,000 gates as with none.
   */
  async takeEarly(gate: GateElements): Promise<Usage> {
    const none = { packets: 0, bytes: 0 };
    if (!gate.ways.some((w) => w.way === 'down')) return none;
    const listed = await this.nft(['-j', 'list', 'set', 'inet', NFT_TABLE, earlySet(gate.family)]);
    if (!listed.ok) {
      this.log.warn('cannot read the early set', { gate: gate.id, reason: listed.error.message });
      return none;
    }
    const elements = parseEarlySet(listed.value.join('\n'));
    if (!elements.ok) return none;
    const early = earlyArrivals(gate, elements.value);
    if (early.keys.length === 0) return none;
    const removed = await this.nft(['-f', '-'], renderEarlyRemoval(gate.family, early.keys));
    // Left in the set, the count would only time out; a later gate on the same flow could count it again.
    if (!removed.ok) this.log.warn('cannot delete early counts', { gate: gate.id, reason: removed.error.message });
    return early.usage;
  }

  /** Replaces the whole table in one transaction, keeping the counters of gates that stay. */
  async rebuild(settings: DataplaneSettings, gates: readonly DataplaneGate[]): Promise<Result<void>> {
    const usage = (await this.isCurrent()) ? await this.readAllUsage() : new Map<string, Usage>();
    const batch = renderNftBatch(settings, gates, usage);
    if (!batch.ok) return batch;
    const applied = await this.nft(['-f', '-'], batch.value);
    if (!applied.ok) return applied;
    this.log.info('data plane rebuilt', { gates: gates.length });
    return ok(undefined);
  }

  async change(change: GateChange): Promise<Result<void>> {
    if (change.remove.length === 0 && change.add.length === 0) return ok(undefined);
    const applied = await this.nft(['-f', '-'], renderGateChanges(change));
    return applied.ok ? ok(undefined) : applied;
  }

  async deleteTable(): Promise<Result<void>> {
    const deleted = await this.nft(['-f', '-'], `table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n`);
    return deleted.ok ? ok(undefined) : deleted;
  }
}
