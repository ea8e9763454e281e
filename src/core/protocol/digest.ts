/**
 * digest: the content hash of a gate that `sync.request` carries, so that device and server can
 * tell which gates differ without sending them. FNV-1a 64 (no crypto in QuickJS; collisions
 * only cost a needless reinstall) over the UTF-8 bytes of a fixed-order JSON array of the
 * gate's fields, so key order and optional-field spelling cannot change it.
 */
import type { Gate } from './messages/gates.ts';

/** 64-bit FNV-1a in four 16-bit limbs: exact in doubles, no BigInt needed. */
export function fnv1a64(text: string): string {
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2; // offset basis cbf29ce484222325
  const mix = (byte: number): void => {
    h0 ^= byte;
    // multiply by the prime 0x100000001b3 = 2^40 + 0x1b3, modulo 2^64
    const r0 = h0 * 0x1b3;
    const r1 = h1 * 0x1b3 + (r0 >>> 16);
    const r2 = h2 * 0x1b3 + h0 * 0x100 + Math.floor(r1 / 0x10000);
    const r3 = h3 * 0x1b3 + h1 * 0x100 + Math.floor(r2 / 0x10000);
    h0 = r0 & 0xffff;
    h1 = r1 & 0xffff;
    h2 = r2 & 0xffff;
    h3 = r3 & 0xffff;
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = text.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
    }
    if (c < 0x80) mix(c);
    else if (c < 0x800) {
      mix(0xc0 | (c >> 6));
      mix(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      mix(0xe0 | (c >> 12));
      mix(0x80 | ((c >> 6) & 0x3f));
      mix(0x80 | (c & 0x3f));
    } else {
      mix(0xf0 | (c >> 18));
      mix(0x80 | ((c >> 12) & 0x3f));
      mix(0x80 | ((c >> 6) & 0x3f));
      mix(0x80 | (c & 0x3f));
    }
  }
  const hex = (x: number): string => (x + 0x10000).toString(16).slice(1);
  return hex(h3) + hex(h2) + hex(h1) + hex(h0);
}

/** The hash of a validated gate (addresses canonical), as `sync.request` reports it. */
export function gateHash(gate: Gate): string {
  return fnv1a64(
    JSON.stringify([
      gate.id, gate.direction, gate.lan.address, gate.lan.port, gate.remote.address, gate.remote.port,
      gate.dscp, gate.rateKbps, gate.lifetimeS, gate.session ?? null,
    ]),
  );
}

/** One gate's share of a desired digest: the hash of its id and content hash together. */
export function digestEntry(id: string, hash: string): string {
  return fnv1a64(`${id} ${hash}`);
}

/**
 * Combines digest entries by XOR, 16 bits at a time: order-free, and cheap to recompute from
 * entries kept per gate (a router checks its digest on every `desired` message, and hashing
 * thousands of gates each time would cost tens of milliseconds under QuickJS). Gate ids are
 * unique, so no entry cancels another.
 */
export function combineDigestEntries(entries: Iterable<string>): string {
  let h0 = 0, h1 = 0, h2 = 0, h3 = 0;
  for (const e of entries) {
    h3 ^= parseInt(e.slice(0, 4), 16);
    h2 ^= parseInt(e.slice(4, 8), 16);
    h1 ^= parseInt(e.slice(8, 12), 16);
    h0 ^= parseInt(e.slice(12, 16), 16);
  }
  const hex = (x: number): string => (x + 0x10000).toString(16).slice(1);
  return hex(h3) + hex(h2) + hex(h1) + hex(h0);
}

/**
 * The digest of a whole gate list, as the retained `desired` message carries it: the XOR of
 * every gate's `digestEntry`, so device and server agree whatever order they hold their gates
 * in. The empty list's digest is 0000000000000000.
 */
export function desiredDigest(gates: readonly { id: string; hash: string }[]): string {
  return combineDigestEntries(gates.map((g) => digestEntry(g.id, g.hash)));
}
