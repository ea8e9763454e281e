/**
 * Calls as the operators' API shows them (src/core/fleet/api-calls.ts), assembled from the
 * server's records: sessions (one per line), gates (one per router and line), usage reports and
 * the call's authorization. Pure: the handlers in calls.ts read the records, these shape them.
 */
import type { AuthorizationView, BetweenRouters, CallDetail, CallGate, CallLine, CallSummary, DeviceEfSeries, RouterState } from '../../core/fleet/api-calls.ts';
import { reasonInWords } from '../../core/fleet/call-reasons.ts';
import { RELEASED_GATE_STATES, type CallAuthorization, type GateRecord, type GateState, type SessionRecord, type UsageRecord } from '../store/types.ts';

const LIVE_LINE_STATES: ReadonlySet<string> = new Set(['pending', 'active', 'ending']);
/** Least settled first: a router's state for a call is the first of these any of its gates is in. */
const GATE_ORDER: readonly GateState[] = ['failed', 'installing', 'removing', 'installed', 'removed'];

export function isLive(lines: readonly SessionRecord[]): boolean {
  return lines.some((l) => LIVE_LINE_STATES.has(l.state));
}

/** Routers in the order the call's gates name them, each with its least settled gate state. */
export function routerStates(gates: readonly GateRecord[]): RouterState[] {
  const byDevice = new Map<string, GateState[]>();
  for (const g of gates) byDevice.set(g.device, [...(byDevice.get(g.device) ?? []), g.state]);
  return [...byDevice].map(([device, states]) => ({ device, state: GATE_ORDER.find((s) => states.includes(s)) ?? 'removed' }));
}

export function callSummary(callId: string, lines: readonly SessionRecord[], gates: readonly GateRecord[], auth: CallAuthorization | null): CallSummary {
  const sorted = [...lines].sort((a, b) => a.line - b.line);
  const ended = sorted.map((l) => l.endedAtMs).filter((t): t is number => t !== null);
  const live = isLive(sorted);
  return {
    callId,
    live,
    lines: sorted.map((l) => ({ line: l.line, state: l.state })),
    routers: routerStates(gates),
    createdAtMs: Math.min(...sorted.map((l) => l.createdAtMs)),
    updatedAtMs: Math.max(...sorted.map((l) => l.updatedAtMs)),
    endedAtMs: live || ended.length === 0 ? null : Math.max(...ended),
    authorization: auth === null ? null : { source: auth.source, transactionId: auth.transactionId },
    reason: reasonInWords(sorted.find((l) => l.reason !== null)?.reason ?? null),
  };
}

export function authorizationView(a: CallAuthorization): AuthorizationView {
  return {
    source: a.source, transactionId: a.transactionId, authorizedAtMs: a.authorizedAtMs, maxDurationS: a.maxDurationS,
    releasedBy: a.release?.releasedBy ?? null, sipStatus: a.release?.sipStatus ?? null, usageConfirmedAtMs: a.usageConfirmedAtMs,
  };
}

function callGate(line: SessionRecord, g: GateRecord, usage: UsageRecord | undefined): CallGate {
  // The line is active once every gate of it was confirmed installed; the store keeps that one time.
  const installedAtMs = g.state === 'failed' || line.activeAtMs === null ? null : line.activeAtMs;
  const failed = g.state === 'failed' || line.state === 'failed' || line.state === 'rejected';
  return {
    gate: g,
    requestedAtMs: line.createdAtMs,
    installedAtMs,
    installMs: installedAtMs === null ? null : installedAtMs - line.createdAtMs,
    stateAtMs: g.updatedAtMs,
    reason: reasonInWords(g.error ?? (failed ? line.reason : null)),
    usage: usage ?? null,
  };
}

/** Packets a router counted per direction over its gates of one line, and whether the gates cover that direction. */
interface Counted {
  readonly device: string;
  readonly up: number | null;
  readonly down: number | null;
  readonly final: boolean;
  readonly asOfMs: number;
}

function counted(device: string, gates: readonly CallGate[]): Counted | null {
  let up: number | null = null;
  let down: number | null = null;
  let final = true;
  let asOfMs = Infinity;
  for (const g of gates) {
    const u = g.usage;
    if (u === null) return null;
    if (g.gate.direction !== 'down') up = (up ?? 0) + u.up.packets;
    if (g.gate.direction !== 'up') down = (down ?? 0) + u.down.packets;
    final &&= u.ended !== null;
    asOfMs = Math.min(asOfMs, u.receivedAtMs);
  }
  return gates.length === 0 ? null : { device, up, down, final, asOfMs };
}

/** Sent by `from` (its `up`: LAN to remote) against received by `to` (its `down`); null when either does not count that direction. */
function between(from: Counted, to: Counted): BetweenRouters | null {
  if (from.up === null || to.down === null) return null;
  const lost = Math.max(0, from.up - to.down);
  return {
    from: from.device, to: to.device, sent: from.up, received: to.down, lost,
    lossPercent: from.up === 0 ? null : (lost / from.up) * 100,
    final: from.final && to.final, asOfMs: Math.min(from.asOfMs, to.asOfMs),
  };
}

export function callLine(line: SessionRecord, gates: readonly GateRecord[], usage: readonly UsageRecord[]): CallLine {
  const usageOf = new Map(usage.map((u) => [`${u.device}\n${u.gateId}`, u]));
  const routers: { device: string; gates: CallGate[] }[] = [];
  for (const g of gates.filter((x) => x.line === line.line)) {
    let r = routers.find((x) => x.device === g.device);
    if (r === undefined) routers.push((r = { device: g.device, gates: [] }));
    r.gates.push(callGate(line, g, usageOf.get(`${g.device}\n${g.id}`)));
  }
  const betweenRouters: BetweenRouters[] = [];
  const [a, b] = routers;
  if (a !== undefined && b !== undefined) {
    const ca = counted(a.device, a.gates);
    const cb = counted(b.device, b.gates);
    if (ca !== null && cb !== null) for (const x of [between(ca, cb), between(cb, ca)]) if (x !== null) betweenRouters.push(x);
  }
  return {
    line: line.line, state: line.state, reason: reasonInWords(line.reason), client: line.client,
    createdAtMs: line.createdAtMs, activeAtMs: line.activeAtMs, endedAtMs: line.endedAtMs, routers, betweenRouters,
  };
}

export function callDetail(callId: string, lines: readonly SessionRecord[], gates: readonly GateRecord[], usage: readonly UsageRecord[], auth: CallAuthorization | null): CallDetail {
  return {
    callId,
    live: isLive(lines),
    lines: [...lines].sort((a, b) => a.line - b.line).map((l) => callLine(l, gates, usage)),
    authorization: auth === null ? null : authorizationView(auth),
  };
}

/** A gate's hold on the EF budget: from its line's request until it was removed or failed (or now). */
export interface EfHold {
  readonly direction: GateRecord['direction'];
  readonly rateKbps: number;
  readonly fromMs: number;
  readonly toMs: number;
}

export function efHold(g: GateRecord, requestedAtMs: number): EfHold {
  return { direction: g.direction, rateKbps: g.rateKbps, fromMs: requestedAtMs, toMs: RELEASED_GATE_STATES.includes(g.state) ? g.updatedAtMs : Infinity };
}

/**
 * EF admitted per direction in `points` steps over [fromMs, toMs): each point the most admitted
 * at any moment of its step (the step's start, or a hold that began inside it), so a call shorter
 * than a step still shows.
 */
export function efSeries(deviceId: string, holds: readonly EfHold[], fromMs: number, toMs: number, points: number): Omit<DeviceEfSeries, 'budgetKbps'> {
  const stepMs = Math.max(1, Math.ceil((toMs - fromMs) / points));
  const at = (t: number, dir: 'up' | 'down'): number => {
    let sum = 0;
    for (const h of holds) if (h.fromMs <= t && t < h.toMs && h.direction !== (dir === 'up' ? 'down' : 'up')) sum += h.rateKbps;
    return sum;
  };
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < points; i++) {
    const start = fromMs + i * stepMs;
    const end = start + stepMs;
    const moments = [start, ...holds.filter((h) => h.fromMs > start && h.fromMs < end).map((h) => h.fromMs)];
    up.push(Math.max(...moments.map((t) => at(t, 'up'))));
    down.push(Math.max(...moments.map((t) => at(t, 'down'))));
  }
  return { deviceId, fromMs, toMs: fromMs + points * stepMs, stepMs, up, down };
}
