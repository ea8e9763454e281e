/**
 * Reads what the kernel holds from `nft -j` output: whether our table has the current layout,
 * each gate element of the class maps with its counters, and the early sets' counters. Pure:
 * text in, values out.
 */
import { parseStrictJson } from '../protocol/strict-json.ts';
import { fail, ok } from '../result.ts';
import type { Result } from '../result.ts';
import { SCHEMA_MARK } from './model.ts';
import type { Way } from './model.ts';
import { nftAddress } from './nft-values.ts';

export interface KernelElement {
  /** The gate id from the element's comment; null for an element the agent did not write. */
  readonly gateId: string | null;
  readonly way: Way;
  /** Formatted as gate-elements.ts formats keys, so the two compare as strings. */
  readonly key: string;
  readonly packets: number;
  readonly bytes: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function nftObjects(text: string): Result<Json[]> {
  const parsed = parseStrictJson(text);
  if (!parsed.ok) return parsed;
  const list = isObject(parsed.value) ? parsed.value.nftables : undefined;
  if (!Array.isArray(list)) return fail({ code: 'E_NFT_JSON', message: 'nft output has no "nftables" list', path: '' });
  return ok(list.filter(isObject));
}

/** From `nft -j list chain inet callqos forward`: true when the chain carries the current schema mark. */
export function hasCurrentSchema(text: string): boolean {
  const objects = nftObjects(text);
  if (!objects.ok) return false;
  return objects.value.some((o) => isObject(o.rule) && o.rule.comment === SCHEMA_MARK);
}

/** One key part as gate-elements.ts writes it: an address, a port, a /0 prefix or a port range. */
function keyPart(part: unknown): string | null {
  if (typeof part === 'number') return String(part);
  if (typeof part === 'string') return nftAddress(part)?.text ?? null;
  if (isObject(part) && isObject(part.prefix)) {
    const { addr, len } = part.prefix;
    const address = typeof addr === 'string' ? nftAddress(addr) : null;
    return address && typeof len === 'number' ? `${address.text}/${len}` : null;
  }
  if (isObject(part) && Array.isArray(part.range) && part.range.length === 2) return `${part.range[0]}-${part.range[1]}`;
  return null;
}

/** From `nft -j list map inet callqos up_v4` (or the other class maps): its elements. */
export function parseClassMap(text: string, way: Way): Result<KernelElement[]> {
  const objects = nftObjects(text);
  if (!objects.ok) return objects;
  const map = objects.value.find((o) => isObject(o.map))?.map;
  if (!isObject(map)) return fail({ code: 'E_NFT_JSON', message: 'nft output has no map', path: '' });
  const elements: KernelElement[] = [];
  for (const entry of Array.isArray(map.elem) ? map.elem : []) {
    // A map element is [ { elem: { val: { concat: [...] }, counter, comment } }, verdict ].
    const elem = Array.isArray(entry) && isObject(entry[0]) && isObject(entry[0].elem) ? entry[0].elem : null;
    const concat = elem && isObject(elem.val) && Array.isArray(elem.val.concat) ? elem.val.concat : null;
    if (!elem || !concat) continue;
    const parts = concat.map(keyPart);
    if (parts.some((p) => p === null)) continue;
    const counter = isObject(elem.counter) ? elem.counter : {};
    elements.push({
      gateId: typeof elem.comment === 'string' ? elem.comment : null,
      way,
      key: parts.join(' . '),
      packets: typeof counter.packets === 'number' ? counter.packets : 0,
      bytes: typeof counter.bytes === 'number' ? counter.bytes : 0,
    });
  }
  return ok(elements);
}

/** One element of an early set: a 5-tuple in packet order (source first) and what it counted. */
export interface EarlyElement {
  /** `source . sport . destination . dport`, addresses formatted as gate keys are. */
  readonly key: string;
  readonly packets: number;
  readonly bytes: number;
}

/** From `nft -j list set inet callqos early_v4` (or early_v6): its elements. */
export function parseEarlySet(text: string): Result<EarlyElement[]> {
  const objects = nftObjects(text);
  if (!objects.ok) return objects;
  const set = objects.value.find((o) => isObject(o.set))?.set;
  if (!isObject(set)) return fail({ code: 'E_NFT_JSON', message: 'nft output has no set', path: '' });
  const elements: EarlyElement[] = [];
  for (const entry of Array.isArray(set.elem) ? set.elem : []) {
    // A set element with a counter is { elem: { val: { concat: [...] }, counter, expires } }.
    const elem = isObject(entry) && isObject(entry.elem) ? entry.elem : null;
    const concat = elem && isObject(elem.val) && Array.isArray(elem.val.concat) ? elem.val.concat : null;
    if (!elem || !concat || concat.length !== 4) continue;
    const parts = concat.map(keyPart);
    if (parts.some((p) => p === null)) continue;
    const counter = isObject(elem.counter) ? elem.counter : {};
    const packets = typeof counter.packets === 'number' ? counter.packets : 0;
    const bytes = typeof counter.bytes === 'number' ? counter.bytes : 0;
    elements.push({ key: parts.join(' . '), packets, bytes });
  }
  return ok(elements);
}
