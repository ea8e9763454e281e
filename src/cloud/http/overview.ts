/** The fleet at a glance (GET /overview and the `overview` event), as one operator's scope sees it. */
import type { Overview } from '../../core/fleet/api.ts';
import type { FleetStore } from '../fleet/store/types.ts';
import { HELD_GATE_STATES, type GateRecord, type Store } from '../store/types.ts';
import { Scope } from './scope.ts';

/** EF per direction over gates that hold budget; a `both` gate counts in each direction, as admission does. */
export function efKbps(gates: readonly GateRecord[]): { up: number; down: number } {
  let up = 0;
  let down = 0;
  for (const g of gates) {
    if (!HELD_GATE_STATES.includes(g.state)) continue;
    if (g.direction !== 'down') up += g.rateKbps;
    if (g.direction !== 'up') down += g.rateKbps;
  }
  return { up, down };
}

export async function heldGates(store: Store, filter: { device?: string } = {}): Promise<GateRecord[]> {
  const lists = await Promise.all(HELD_GATE_STATES.map((state) => store.listGates({ ...filter, state })));
  return lists.flat();
}

export async function overview(store: Store, fleet: FleetStore, scope: Scope, nowMs: number): Promise<Overview> {
  const presence = async (status: 'online' | 'offline'): Promise<number> =>
    (await fleet.queryInventory({ status, domains: scope.domains, sort: 'id', descending: false, offset: 0, limit: 1 })).total;
  const [counts, online, offline, gates] = await Promise.all([fleet.countByState(scope.domains), presence('online'), presence('offline'), heldGates(store)]);
  const visibleGates = await scope.filter(gates, (g) => [g.device]);
  let active: number;
  let pending: number;
  if (scope.all) {
    [active, pending] = await Promise.all([store.listSessions({ state: 'active' }), store.listSessions({ state: 'pending' })]).then(([a, p]) => [a.length, p.length]);
  } else {
    // A scoped operator counts the calls that hold a gate on one of its routers.
    const lines = new Set(visibleGates.map((g) => JSON.stringify([g.callId, g.line])));
    const sessions = [...(await store.listSessions({ state: 'active' })), ...(await store.listSessions({ state: 'pending' }))];
    const mine = sessions.filter((s) => lines.has(JSON.stringify([s.callId, s.line])));
    active = mine.filter((s) => s.state === 'active').length;
    pending = mine.length - active;
  }
  return {
    atMs: nowMs,
    devices: { online, offline, pending: counts.pending, approved: counts.approved, accepted: counts.accepted, rejected: counts.rejected, revoked: counts.revoked, unenrolled: counts.unenrolled },
    sessions: { active, pending },
    efKbps: efKbps(visibleGates),
  };
}
