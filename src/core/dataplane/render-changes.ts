/**
 * One change to a live table as one nft transaction: adding or removing a gate touches only that
 * gate's elements and limit objects, never the others (about 2.5 ms per `nft` run).
 */
import { NFT_TABLE, classMap, limitMap } from './model.ts';
import { nftText } from './gate-elements.ts';
import type { GateElements } from './gate-elements.ts';

const T = `inet ${NFT_TABLE}`;

function addLines(gate: GateElements): string[] {
  return gate.ways.flatMap((w) => [
    `add limit ${T} ${w.limitName} { ${nftText.limitSpec(w)} }`,
    `add element ${T} ${limitMap(w.way, gate.family)} { ${nftText.limitElement(gate, w)} }`,
    `add element ${T} ${classMap(w.way, gate.family)} { ${nftText.classElement(gate, w)} }`,
  ]);
}

/**
 * Removal that cannot fail on an element the kernel already timed out: `add` of the very element
 * is a no-op when it exists and recreates it when it does not, so the `delete` always finds it.
 */
function removeLines(gate: GateElements): string[] {
  return gate.ways.flatMap((w) => {
    const classKey = `${w.key} : ${nftText.classVerdict(gate, w)}`;
    return [
      `add limit ${T} ${w.limitName} { ${nftText.limitSpec(w)} }`,
      `add element ${T} ${classMap(w.way, gate.family)} { ${classKey} }`,
      `add element ${T} ${limitMap(w.way, gate.family)} { ${w.key} : "${w.limitName}" }`,
      `delete element ${T} ${classMap(w.way, gate.family)} { ${w.key} }`,
      `delete element ${T} ${limitMap(w.way, gate.family)} { ${w.key} }`,
      `delete limit ${T} ${w.limitName}`,
    ];
  });
}

/** Removals first, so that a modified gate (same id, new flows) can take its new place. */
export function renderGateChanges(change: { readonly remove: readonly GateElements[]; readonly add: readonly GateElements[] }): string {
  return [...change.remove.flatMap(removeLines), ...change.add.flatMap(addLines), ''].join('\n');
}
