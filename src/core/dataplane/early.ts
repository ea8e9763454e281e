/**
 * What a new gate received before it was there. The two routers of a call install their gates at
 * different moments: until the receiving router's gate is in, the packets the sending router
 * already marked (and counted as sent) pass through the receiving router's forward chain with no
 * gate to count them, and the early sets count them instead, per 5-tuple in packet order (see
 * model.ts earlySet). Once the gate is in, it takes every further packet of its flow, so these
 * counts no longer move: the agent reads them once, adds them to the gate's received (down)
 * count, and deletes them, so that no later gate on the same flow counts them again.
 */
import { nftAddress } from './nft-values.ts';
import type { GateElements, Usage } from './gate-elements.ts';
import type { EarlyElement } from './kernel-state.ts';
import { NFT_TABLE, earlySet } from './model.ts';
import type { Family } from './model.ts';

const ANY = new Set(['0.0.0.0/0', '::/0', '0-65535']);

export interface EarlyArrivals {
  readonly usage: Usage;
  /** The early set's elements that counted them, to delete. */
  readonly keys: readonly string[];
}

/**
 * The early elements that belong to the gate's down direction: from its remote end (any, where
 * the gate has a wildcard) to its LAN endpoint. An early element of the up direction (a LAN host
 * marking its own packets before its gate) is not received traffic and is left alone.
 */
export function earlyArrivals(gate: GateElements, elements: readonly EarlyElement[]): EarlyArrivals {
  const down = gate.ways.find((w) => w.way === 'down');
  if (!down) return { usage: { packets: 0, bytes: 0 }, keys: [] };
  const [lan, lanPort, remote, remotePort] = down.key.split(' . ');
  const matches = (wanted: string | undefined, actual: string | undefined) => wanted === actual || (wanted !== undefined && ANY.has(wanted));
  let packets = 0;
  let bytes = 0;
  const keys: string[] = [];
  for (const e of elements) {
    const [source, sport, destination, dport] = e.key.split(' . ');
    if (destination !== lan || dport !== lanPort || !matches(remote, source) || !matches(remotePort, sport)) continue;
    packets += e.packets;
    bytes += e.bytes;
    keys.push(e.key);
  }
  return { usage: { packets, bytes }, keys };
}

/** Whether `key` is an early set key as parseEarlySet formats it: two addresses and two ports, nothing else. */
function validEarlyKey(family: Family, key: string): boolean {
  const parts = key.split(' . ');
  if (parts.length !== 4) return false;
  const port = (p: string | undefined) => p !== undefined && /^[0-9]{1,5}$/.test(p) && Number(p) >= 0 && Number(p) <= 65535;
  const address = (a: string | undefined) => {
    const parsed = a === undefined ? null : nftAddress(a);
    return parsed !== null && parsed.text === a && (parsed.family === 4) === (family === 'v4');
  };
  return address(parts[0]) && port(parts[1]) && address(parts[2]) && port(parts[3]);
}

/**
 * Deletes the early elements read. `add` first: an element that timed out in the meantime is
 * recreated for the `delete` to find, so the batch cannot fail on it. Keys that are not exactly
 * what parseEarlySet writes are left out: nothing unchecked reaches the script.
 */
export function renderEarlyRemoval(family: Family, keys: readonly string[]): string {
  const set = `inet ${NFT_TABLE} ${earlySet(family)}`;
  return keys
    .filter((k) => validEarlyKey(family, k))
    .flatMap((k) => [`add element ${set} { ${k} }`, `delete element ${set} { ${k} }`])
    .concat('')
    .join('\n');
}
