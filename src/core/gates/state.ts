/**
 * The agent's live gates as kept in its state file and journal, so that a restarted agent (procd respawn after
 * a crash, or an upgrade) picks up exactly where the old one left off. Times are monotonic
 * milliseconds since boot: the router's wall clock may jump at NTP sync, and the state file lives
 * in /var/run, which a reboot clears.
 *
 * Rewriting the whole file on every change costs milliseconds with thousands of gates, so a
 * change is appended to a journal (one line) and the snapshot is rewritten only when the agent
 * starts, stops, or the journal has grown: the state is the snapshot with the journal replayed.
 */
import type { DataplaneGate, GateDirection } from '../dataplane/model.ts';
import type { FileHost } from '../host/index.ts';
import type { LogFields } from '../log.ts';
import { parseStrictJson } from '../protocol/strict-json.ts';
import { fail, ok } from '../result.ts';
import type { Result } from '../result.ts';

/** Where a gate came from: the UCI config, the local interface (rpcd, CLI), or the QoS control server. */
export type GateSource = 'static' | 'local' | 'cloud';
const SOURCES: readonly GateSource[] = ['static', 'local', 'cloud'];
const DIRECTIONS: readonly GateDirection[] = ['both', 'up', 'down'];

export interface LiveGate {
  readonly gate: DataplaneGate;
  readonly source: GateSource;
  readonly installedAtMs: number;
  /** Monotonic time at which the agent removes the gate; null for gates without lifetime. */
  readonly expiresAtMs: number | null;
  /** The call the gate serves, as the QoS control server named it (cloud gates only). */
  readonly ref?: string;
  /**
   * Marked packets of the gate's down direction that arrived before the gate was installed (the
   * far router had marked and counted them as sent): part of what the gate received, added to its
   * down counter whenever it is read. Absent when none did.
   */
  readonly early?: { readonly packets: number; readonly bytes: number };
}

export const STATE_VERSION = 1;

export function serializeState(gates: readonly LiveGate[]): string {
  // Compact: the agent rewrites it on every change, megabytes with thousands of gates even so.
  return JSON.stringify({ version: STATE_VERSION, gates }) + '\n';
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const nullable = <T>(v: unknown, check: (x: unknown) => x is T): v is T | null => v === null || check(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => isInt(v) && v >= 0;

function readLive(entry: unknown): LiveGate | null {
  const gate = isObject(entry) ? readGate(entry.gate) : null;
  if (!isObject(entry) || gate === null || !SOURCES.includes(entry.source as GateSource) || !isInt(entry.installedAtMs) || !nullable(entry.expiresAtMs, isInt)) {
    return null;
  }
  const live: LiveGate = { gate, source: entry.source as GateSource, installedAtMs: entry.installedAtMs, expiresAtMs: entry.expiresAtMs };
  const early = isObject(entry.early) && isCount(entry.early.packets) && isCount(entry.early.bytes) ? { packets: entry.early.packets, bytes: entry.early.bytes } : null;
  return { ...live, ...(isString(entry.ref) ? { ref: entry.ref } : {}), ...(early ? { early } : {}) };
}

/** Shape only: the values are checked again by the data plane before anything reaches the kernel. */
function readGate(value: unknown): DataplaneGate | null {
  if (!isObject(value) || !isObject(value.lan) || !isObject(value.remote)) return null;
  const { id, direction, lan, remote, dscp, rateKbit, lifetimeS } = value;
  if (!isString(id) || !DIRECTIONS.includes(direction as GateDirection) || !isInt(dscp) || !isInt(rateKbit) || !nullable(lifetimeS, isInt)) return null;
  if (!isString(lan.address) || !isInt(lan.port) || !nullable(remote.address, isString) || !nullable(remote.port, isInt)) return null;
  return {
    id,
    direction: direction as GateDirection,
    lan: { address: lan.address, port: lan.port },
    remote: { address: remote.address, port: remote.port },
    dscp,
    rateKbit,
    lifetimeS,
  };
}

/** Reads a state file; entries that do not read back are left out and counted, not fatal. */
export function parseState(text: string): Result<{ gates: LiveGate[]; skipped: number }> {
  const parsed = parseStrictJson(text);
  if (!parsed.ok) return parsed;
  const root = parsed.value;
  if (!isObject(root) || root.version !== STATE_VERSION || !Array.isArray(root.gates)) {
    return fail({ code: 'E_STATE', message: `state file is not version ${STATE_VERSION} of the agent's state`, path: '' });
  }
  const gates: LiveGate[] = [];
  let skipped = 0;
  for (const entry of root.gates) {
    const live = readLive(entry);
    if (live === null) skipped += 1;
    else gates.push(live);
  }
  return ok({ gates, skipped });
}

/** One journal entry: a gate installed or replaced, or a gate gone. */
export type JournalEntry = { readonly put: LiveGate } | { readonly remove: string };

export function journalLine(entry: JournalEntry): string {
  return JSON.stringify(entry) + '\n';
}

/**
 * Replays a journal over the snapshot's gates, in order. A line that does not read back (the
 * torn last line of an agent killed mid-append, or damage) is skipped and counted.
 */
export function replayJournal(gates: readonly LiveGate[], text: string): { gates: LiveGate[]; lines: number; skipped: number } {
  const byId = new Map(gates.map((live) => [live.gate.id, live]));
  let lines = 0;
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines += 1;
    const parsed = parseStrictJson(line);
    const entry = parsed.ok && isObject(parsed.value) ? parsed.value : null;
    const live = entry !== null && 'put' in entry ? readLive(entry.put) : null;
    if (live !== null) byId.set(live.gate.id, live);
    else if (entry !== null && isString(entry.remove)) byId.delete(entry.remove);
    else skipped += 1;
  }
  return { gates: [...byId.values()], lines, skipped };
}

/** `…/state.json` -> `…/state.journal`. */
export function journalPathOf(statePath: string): string {
  return statePath.replace(/(\.json)?$/, '.journal');
}

export interface SavedState {
  readonly gates: LiveGate[];
  /** Lines of the journal, for deciding when to fold it into the snapshot. */
  readonly journalLines: number;
  /** What could not be read, for the log; none of it is fatal. */
  readonly warnings: readonly { readonly message: string; readonly fields: LogFields }[];
}

/** The saved gates: the snapshot with the journal replayed over it. Missing files are an empty state. */
export function readSavedState(files: FileHost, statePath: string): SavedState {
  const warnings: { message: string; fields: LogFields }[] = [];
  let gates: LiveGate[] = [];
  const snapshot = files.readText(statePath);
  if (!snapshot.ok) {
    if (snapshot.error.code !== 'ENOENT') warnings.push({ message: 'cannot read state file', fields: { path: statePath, code: snapshot.error.code } });
  } else {
    const state = parseState(snapshot.value);
    if (!state.ok) warnings.push({ message: 'state file ignored', fields: { path: statePath, reason: state.error.message } });
    else {
      gates = state.value.gates;
      if (state.value.skipped > 0) warnings.push({ message: 'state file entries skipped', fields: { count: state.value.skipped } });
    }
  }
  const journalPath = journalPathOf(statePath);
  const journal = files.readText(journalPath);
  if (!journal.ok && journal.error.code !== 'ENOENT') warnings.push({ message: 'cannot read state journal', fields: { path: journalPath, code: journal.error.code } });
  const replayed = replayJournal(gates, journal.ok ? journal.value : '');
  if (replayed.skipped > 0) warnings.push({ message: 'state journal lines skipped', fields: { count: replayed.skipped } });
  return { gates: replayed.gates, journalLines: replayed.lines, warnings };
}
