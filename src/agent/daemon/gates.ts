/**
 * The agent's live gates: validated, kept conflict-free, applied to the kernel one change at a
 * time, journalled after every change (see core/gates/state.ts), and removed when their lifetime ends. The kernel's own
 * element timeout is the lifetime plus a grace period: a safety net for an agent that is down,
 * while a running agent removes the gate itself and so can read its final counters first.
 */
import { gateElements, usageKey } from '../../core/dataplane/gate-elements.ts';
import type { GateElements, Usage } from '../../core/dataplane/gate-elements.ts';
import type { DataplaneGate, DataplaneSettings } from '../../core/dataplane/model.ts';
import { GateSet } from '../../core/dataplane/gate-set.ts';
import type { KeepLan } from '../../core/dataplane/render-changes.ts';
import { journalLine, journalPathOf, readSavedState, serializeState } from '../../core/gates/state.ts';
import type { GateSource, JournalEntry, LiveGate } from '../../core/gates/state.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';
import type { Dataplane } from './dataplane.ts';

export const KERNEL_GRACE_S = 5;
/** The journal is folded into the snapshot once it has this many lines, or twice as many as gates. */
export const JOURNAL_COMPACT_LINES = 1000;

interface Entry {
  readonly live: LiveGate;
  readonly elements: GateElements;
}

export interface RemovedGate {
  readonly gate: DataplaneGate;
  readonly usage: Record<'up' | 'down', Usage>;
}

/** A gate that went, with why and its final counters, for whoever reports usage (the cloud link). */
export interface EndedGate extends RemovedGate {
  readonly source: GateSource;
  readonly reason: string;
}

function addUsage(a: Usage | undefined, b: Usage | undefined): Usage {
  return { packets: (a?.packets ?? 0) + (b?.packets ?? 0), bytes: (a?.bytes ?? 0) + (b?.bytes ?? 0) };
}

/** A live gate (made without one) with its early count, left out when there is none. */
function withEarly(live: LiveGate, early: Usage | undefined): LiveGate {
  return early && (early.packets > 0 || early.bytes > 0) ? { ...live, early } : live;
}

/** The gate as the kernel holds it: with the grace period added to its lifetime. */
function kernelGate(gate: DataplaneGate): DataplaneGate {
  return gate.lifetimeS === null ? gate : { ...gate, lifetimeS: gate.lifetimeS + KERNEL_GRACE_S };
}

export class GateManager {
  private readonly entries = new Map<string, Entry>();
  /** The same gates' kernel elements, indexed for conflict checks; kept in step with entries. */
  private readonly index = new GateSet();
  private readonly journalPath: string;
  private journalLines = 0;
  private readonly endedListeners: ((ended: EndedGate) => void)[] = [];

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
    private readonly dataplane: Dataplane,
    private readonly statePath: string,
    private settings: DataplaneSettings,
  ) {
    this.journalPath = journalPathOf(statePath);
  }

  /** Called after every removal (by request or at the end of the lifetime), with the final counters. */
  onEnded(listener: (ended: EndedGate) => void): void {
    this.endedListeners.push(listener);
  }

  get(id: string): LiveGate | undefined {
    return this.entries.get(id)?.live;
  }

  /** A live gate's counters now (for interim accounting); null when there is no such gate. */
  async usage(id: string): Promise<Record<'up' | 'down', Usage> | null> {
    const entry = this.entries.get(id);
    return entry ? this.counted(entry) : null;
  }

  /** A gate's counters: the kernel's, with what arrived before the gate added to its down count. */
  private async counted(entry: Entry): Promise<Record<'up' | 'down', Usage>> {
    const kernel = await this.dataplane.readUsage(entry.elements);
    const hasDown = entry.elements.ways.some((w) => w.way === 'down');
    return hasDown ? { up: kernel.up, down: addUsage(kernel.down, entry.live.early) } : kernel;
  }

  list(): LiveGate[] {
    return [...this.entries.values()].map((e) => e.live);
  }

  private elementsOf(gate: DataplaneGate): Result<GateElements> {
    return gateElements(kernelGate(gate), this.settings);
  }

  /**
   * Takes the gates a previous agent saved (snapshot plus journal); ones that no longer validate
   * are dropped with a warning. The result is written back as a fresh snapshot.
   */
  loadState(): void {
    const saved = readSavedState(this.host.files, this.statePath);
    for (const { message, fields } of saved.warnings) this.log.warn(message, fields);
    const now = this.host.clock.monotonicMs();
    for (const live of saved.gates) {
      // The kernel dropped these by itself while no agent ran; installing them again would revive them.
      if (live.expiresAtMs !== null && live.expiresAtMs <= now) this.log.info('gate expired while the agent was down', { gate: live.gate.id });
      else this.adopt(live);
    }
    this.persist();
  }

  private adopt(live: LiveGate): boolean {
    const elements = this.elementsOf(live.gate);
    const clash = elements.ok ? this.index.check(elements.value, live.gate.id) : elements;
    if (!elements.ok || !clash.ok) {
      this.log.warn('gate dropped', { gate: live.gate.id, reason: !elements.ok ? elements.error.message : !clash.ok ? clash.error.message : '' });
      return false;
    }
    this.record(live.gate.id, { live, elements: elements.value });
    return true;
  }

  private record(id: string, entry: Entry | null | undefined): void {
    if (entry) {
      this.entries.set(id, entry);
      this.index.set(entry.elements);
    } else {
      this.entries.delete(id);
      this.index.delete(id);
    }
  }

  /** Replaces the gates of the config with the given ones (kernel untouched: follow with rebuild). */
  setStaticGates(gates: readonly DataplaneGate[]): void {
    for (const [id, entry] of [...this.entries]) if (entry.live.source === 'static') this.record(id, null);
    const now = Math.round(this.host.clock.monotonicMs());
    for (const gate of gates) this.adopt({ gate, source: 'static', installedAtMs: now, expiresAtMs: null });
    this.persist();
  }

  setSettings(settings: DataplaneSettings): void {
    this.settings = settings;
    for (const entry of [...this.entries.values()]) this.adopt(entry.live);
    this.persist();
  }

  /** Makes the kernel hold exactly the live gates, in one transaction. */
  async rebuild(): Promise<Result<void>> {
    return this.dataplane.rebuild(this.settings, this.list().map((l) => kernelGate(l.gate)));
  }

  /**
   * Installs a gate, or replaces the one with the same id (a media change): one transaction, no
   * gap. Then, for a flow the gate did not have before, takes what arrived before it (see
   * Dataplane.takeEarly), so that the gate's down count starts where the far router's up count did.
   */
  async add(gate: DataplaneGate, source: GateSource, ref?: string): Promise<Result<{ replaced: boolean }>> {
    const elements = this.elementsOf(gate);
    if (!elements.ok) return elements;
    const old = this.entries.get(gate.id);
    const clash = this.index.check(elements.value, gate.id);
    if (!clash.ok) return clash;
    const now = Math.round(this.host.clock.monotonicMs());
    const expiresAtMs = gate.lifetimeS === null ? null : now + gate.lifetimeS * 1000;
    const base: LiveGate = ref === undefined ? { gate, source, installedAtMs: now, expiresAtMs } : { gate, source, installedAtMs: now, expiresAtMs, ref };
    // A replaced gate (media moved, or the server renewing its lifetime) keeps counting from where it was.
    const usage = new Map<string, Usage>();
    if (old) {
      const counted = await this.dataplane.readUsage(old.elements);
      for (const w of old.elements.ways) usage.set(usageKey(gate.id, w.way), counted[w.way]);
    }
    const applied = await this.applyOrRebuild(gate.id, { live: withEarly(base, old?.live.early), elements: elements.value }, () =>
      this.dataplane.change({ remove: old ? [old.elements] : [], add: [elements.value], keepLan: this.keepLan(gate.id), usage }),
    );
    if (!applied.ok) return applied;
    // A renewal keeps its flow: the gate took all of it, nothing can have arrived before it.
    const newFlow = !old || !old.elements.ways.some((w) => w.way === 'down' && elements.value.ways.some((v) => v.way === 'down' && v.key === w.key));
    const early = newFlow ? await this.dataplane.takeEarly(elements.value) : { packets: 0, bytes: 0 };
    const live = withEarly(base, addUsage(old?.live.early, early));
    this.record(gate.id, { live, elements: elements.value });
    this.journal({ put: live });
    const fields = { gate: gate.id, source, dscp: gate.dscp, rate: gate.rateKbit, ...(early.packets > 0 ? { early_packets: early.packets } : {}) };
    this.log.info(old ? 'gate modified' : 'gate installed', fields);
    return ok({ replaced: old !== undefined });
  }

  /** Removes a gate, reading its counters first; null when there is no such gate. */
  async remove(id: string, reason: string): Promise<Result<RemovedGate | null>> {
    const entry = this.entries.get(id);
    if (!entry) return ok(null);
    const usage = await this.counted(entry);
    const applied = await this.applyOrRebuild(id, null, () => this.dataplane.change({ remove: [entry.elements], add: [], keepLan: this.keepLan(id) }));
    if (!applied.ok) return applied;
    this.journal({ remove: id });
    this.log.info('gate removed', { gate: id, reason, packets_up: usage.up.packets, packets_down: usage.down.packets });
    const ended: EndedGate = { gate: entry.live.gate, usage, source: entry.live.source, reason };
    for (const listener of this.endedListeners) listener(ended);
    return ok({ gate: entry.live.gate, usage });
  }

  /** For a change to gate `id`: whether another gate keeps a LAN endpoint in use. */
  private keepLan(id: string): KeepLan {
    const except = new Set([id]);
    return (gate, way) => this.index.otherGateAt(gate, way, except);
  }

  /**
   * Applies one gate's change and records it (entry null: the gate goes). When the kernel refuses
   * the change (its table differs from what the agent last wrote), the whole table is rebuilt
   * from the gates with the change made, and only if that fails too is the change refused.
   */
  private async applyOrRebuild(id: string, entry: Entry | null, change: () => Promise<Result<void>>): Promise<Result<void>> {
    const previous = this.entries.get(id);
    const applied = await change();
    this.record(id, entry);
    if (applied.ok) return applied;
    this.log.warn('gate change refused by the kernel; rebuilding the table', { gate: id, reason: applied.error.message });
    const rebuilt = await this.rebuild();
    if (!rebuilt.ok) this.record(id, previous);
    return rebuilt;
  }

  /** Removes the gates whose lifetime has ended. */
  async expire(): Promise<void> {
    const now = this.host.clock.monotonicMs();
    for (const { live } of [...this.entries.values()]) {
      if (live.expiresAtMs === null || live.expiresAtMs > now) continue;
      const removed = await this.remove(live.gate.id, 'expired');
      if (!removed.ok) this.log.error('cannot remove an expired gate; trying again on the next check', { gate: live.gate.id, reason: removed.error.message });
    }
  }

  /** Milliseconds until the next gate expires, or null. */
  nextExpiryInMs(): number | null {
    let next: number | null = null;
    for (const { live } of this.entries.values()) if (live.expiresAtMs !== null) next = next === null ? live.expiresAtMs : Math.min(next, live.expiresAtMs);
    return next === null ? null : Math.max(0, next - this.host.clock.monotonicMs());
  }

  /** Records one change; folds the journal into a new snapshot once it has grown. */
  private journal(entry: JournalEntry): void {
    const appended = this.host.files.append(this.journalPath, journalLine(entry));
    if (!appended.ok) this.log.error('cannot append to state journal', { path: this.journalPath, code: appended.error.code });
    this.journalLines += 1;
    if (!appended.ok || this.journalLines >= Math.max(JOURNAL_COMPACT_LINES, 2 * this.entries.size)) this.persist();
  }

  /** Writes the whole state as the snapshot, then empties the journal (a crash between the two only replays entries already in it). */
  persist(): void {
    const written = this.host.files.writeAtomic(this.statePath, serializeState(this.list()));
    if (!written.ok) {
      this.log.error('cannot write state file', { path: this.statePath, code: written.error.code });
      return;
    }
    const emptied = this.host.files.writeAtomic(this.journalPath, '');
    if (!emptied.ok) this.log.error('cannot reset state journal', { path: this.journalPath, code: emptied.error.code });
    this.journalLines = 0;
  }
}
