/**
 * One change to a live table as one nft transaction: adding or removing a gate touches only that
 * gate's elements, never the others (a gate's LAN endpoint stays in its set while another gate
 * of that endpoint and direction needs it).
 */
import { NFT_TABLE } from './model.ts';
import { nftText, usageKey } from './gate-elements.ts';
import type { GateElements, Usage, WayElements } from './gate-elements.ts';

const T = `inet ${NFT_TABLE}`;

function addLines(gate: GateElements, usage: ReadonlyMap<string, Usage>): string[] {
  return gate.ways.flatMap((w) => [
    // Adding an endpoint that is already there changes nothing.
    `add element ${T} ${w.lanSet} { ${w.lanKey} }`,
    `add element ${T} ${w.map} { ${nftText.classElement(gate, w, usage.get(usageKey(gate.id, w.way)))} }`,
  ]);
}

/**
 * Removal that cannot fail on an element the kernel already timed out: `add` of the very element
 * is a no-op when it exists and recreates it when it does not, so the `delete` always finds it.
 */
function removeLines(gate: GateElements, keepLan: KeepLan): string[] {
  return gate.ways.flatMap((w) => [
    `add element ${T} ${w.map} { ${w.key} : ${nftText.classVerdict(gate)} }`,
    `delete element ${T} ${w.map} { ${w.key} }`,
    ...(keepLan(gate, w) ? [] : [`add element ${T} ${w.lanSet} { ${w.lanKey} }`, `delete element ${T} ${w.lanSet} { ${w.lanKey} }`]),
  ]);
}

/** Whether a removed gate's LAN endpoint is still needed by a gate the change leaves alone. */
export type KeepLan = (gate: GateElements, way: WayElements) => boolean;

export interface GateChange {
  readonly remove: readonly GateElements[];
  readonly add: readonly GateElements[];
  /** Default: no other gate needs it. */
  readonly keepLan?: KeepLan;
  /** Counters the added elements start from, by usageKey: a replaced gate keeps what it counted. */
  readonly usage?: ReadonlyMap<string, Usage>;
}

/** Removals first, so that a modified gate (same id, new flows) can take its new place. */
export function renderGateChanges(change: GateChange): string {
  const keepLan = change.keepLan ?? (() => false);
  const usage = change.usage ?? new Map<string, Usage>();
  return [...change.remove.flatMap((g) => removeLines(g, keepLan)), ...change.add.flatMap((g) => addLines(g, usage)), ''].join('\n');
}
