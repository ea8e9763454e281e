/**
 * Gates indexed by id and by LAN endpoint. Two gates can only overlap when they share a LAN
 * address and port, so checking a new gate costs the gates of its endpoint, not all gates
 * (10,000 gates checked pairwise took minutes under QuickJS).
 */
import { fail, ok } from '../result.ts';
import type { Result } from '../result.ts';
import { gatesOverlap } from './gate-elements.ts';
import type { GateElements, WayElements } from './gate-elements.ts';

const endpointOf = (gate: GateElements) => `${gate.family} ${gate.ways[0]!.key.split(' . ', 2).join(' ')}`;

export class GateSet {
  private readonly byId = new Map<string, GateElements>();
  private readonly byEndpoint = new Map<string, GateElements[]>();

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<GateElements> {
    return this.byId.values();
  }

  /** Whether the gate may join; `replacing` names a gate it will take the place of (a modify). */
  check(gate: GateElements, replacing?: string): Result<void> {
    if (gate.id !== replacing && this.byId.has(gate.id)) {
      return fail({ code: 'E_GATE', message: `gate ${JSON.stringify(gate.id)}: gate id is used twice`, path: 'id' });
    }
    for (const other of this.byEndpoint.get(endpointOf(gate)) ?? []) {
      if (other.id !== replacing && other.id !== gate.id && gatesOverlap(other, gate)) {
        return fail({ code: 'E_GATE_CONFLICT', message: `gate ${JSON.stringify(gate.id)}: its flows overlap gate ${JSON.stringify(other.id)}`, path: 'lan' });
      }
    }
    return ok(undefined);
  }

  /**
   * Whether a gate other than those named covers this LAN endpoint in this direction: then the
   * endpoint must stay in its LAN set when `gate` goes.
   */
  otherGateAt(gate: GateElements, way: WayElements, except: ReadonlySet<string>): boolean {
    return (this.byEndpoint.get(endpointOf(gate)) ?? []).some((other) => !except.has(other.id) && other.ways.some((w) => w.lanSet === way.lanSet));
  }

  /** Adds the gate, replacing one with the same id. */
  set(gate: GateElements): void {
    this.delete(gate.id);
    this.byId.set(gate.id, gate);
    const endpoint = endpointOf(gate);
    const list = this.byEndpoint.get(endpoint);
    if (list) list.push(gate);
    else this.byEndpoint.set(endpoint, [gate]);
  }

  delete(id: string): void {
    const gate = this.byId.get(id);
    if (!gate) return;
    this.byId.delete(id);
    const endpoint = endpointOf(gate);
    const rest = (this.byEndpoint.get(endpoint) ?? []).filter((g) => g.id !== id);
    if (rest.length > 0) this.byEndpoint.set(endpoint, rest);
    else this.byEndpoint.delete(endpoint);
  }
}
