/**
 * One change to a live table as one nft transaction: adding or removing a gate touches only that
 * gate's elements, never the others.
 */
import { NFT_TABLE, classMap } from './model.ts';
import { nftText } from './gate-elements.ts';
import type { GateElements } from './gate-elements.ts';

const T = `inet ${NFT_TABLE}`;

function addLines(gate: GateElements): string[] {
  return gate.ways.map((w) => `add element ${T} ${classMap(w.way, gate.family)} { ${nftText.classElement(gate, w)} }`);
}

/**
 * Removal that cannot fail on an element the kernel already timed out: `add` of the very element
 * is a no-op when it exists and recreates it when it does not, so the `delete` always finds it.
 */
function removeLines(gate: GateElements): string[] {
  return gate.ways.flatMap((w) => [
    `add element ${T} ${classMap(w.way, gate.family)} { ${w.key} : ${nftText.classVerdict(gate)} }`,
    `delete element ${T} ${classMap(w.way, gate.family)} { ${w.key} }`,
  ]);
}

/** Removals first, so that a modified gate (same id, new flows) can take its new place. */
export function renderGateChanges(change: { readonly remove: readonly GateElements[]; readonly add: readonly GateElements[] }): string {
  return [...change.remove.flatMap(removeLines), ...change.add.flatMap(addLines), ''].join('\n');
}
