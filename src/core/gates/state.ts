/**
 * The agent's live gates as kept in its state file, so that a restarted agent (procd respawn after
 * a crash, or an upgrade) picks up exactly where the old one left off. Times are monotonic
 * milliseconds since boot: the router's wall clock may jump at NTP sync, and the state file lives
 * in /var/run, which a reboot clears.
 */
import type { DataplaneGate, GateDirection } from '../dataplane/model.ts';
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
    const gate = isObject(entry) ? readGate(entry.gate) : null;
    if (!isObject(entry) || gate === null || !SOURCES.includes(entry.source as GateSource) || !isInt(entry.installedAtMs) || !nullable(entry.expiresAtMs, isInt)) {
      skipped += 1;
      continue;
    }
    gates.push({ gate, source: entry.source as GateSource, installedAtMs: entry.installedAtMs, expiresAtMs: entry.expiresAtMs });
  }
  return ok({ gates, skipped });
}
