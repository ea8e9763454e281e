import type { Usage } from './gate-elements.ts';

/** The counter of the one element `nft get element …` prints (text: nft 1.0.6 has no JSON for it). */
export function parseElementCounter(text: string): Usage | null {
  const match = /counter packets (\d+) bytes (\d+)/.exec(text);
  return match ? { packets: Number(match[1]), bytes: Number(match[2]) } : null;
}

/**
 * Counters from the output of one `nft -f` batch of several `get element` commands: nft prints
 * one `table … { map <name> { … elements = { … } } }` block per command, so each counter belongs
 * to the map named before it. One nft process for all of a gate's directions instead of one each
 * (a process costs several milliseconds on a router, and a removal waits for it).
 */
export function parseElementCounters(text: string): Map<string, Usage> {
  const counters = new Map<string, Usage>();
  const blocks = text.split(/^\s*map (?=\S+ \{)/m).slice(1);
  for (const block of blocks) {
    const name = block.slice(0, block.indexOf(' '));
    const counter = parseElementCounter(block);
    if (counter) counters.set(name, counter);
  }
  return counters;
}
