import type { Usage } from './gate-elements.ts';

/** The counter of the one element `nft get element …` prints (text: nft 1.0.6 has no JSON for it). */
export function parseElementCounter(text: string): Usage | null {
  const match = /counter packets (\d+) bytes (\d+)/.exec(text);
  return match ? { packets: Number(match[1]), bytes: Number(match[2]) } : null;
}
