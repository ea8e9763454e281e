/**
 * ip: IPv4 and IPv6 text to bytes and back.
 *
 * Parsing accepts the RFC 4291 section 2.2 text forms: eight hex groups, one `::` for a run of
 * zero groups, and a dotted IPv4 tail. It refuses zone ids (`%eth0`: meaningless off the host),
 * brackets, prefixes, and IPv4 octets with leading zeros (RFC 6943 section 3.1.1: `010` reads as
 * octal to some parsers). Formatting is the RFC 5952 canonical form, so one address has one text
 * and addresses can be compared as strings.
 */
import { ok, fail, type Result } from '../result.ts';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  readonly bytes: readonly number[];
}

/** Longest IPv6 text: six groups of four hex digits and a full dotted quad. */
const MAX_V6_LENGTH = 45;

function bad(message: string): Result<never> {
  return fail({ code: 'E_FORMAT', message, path: '' });
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Dotted quad: four decimal octets 0..255, no leading zeros, nothing else. */
export function parseIPv4(text: string): Result<number[]> {
  if (text.length > 15) return bad('too long for an IPv4 address');
  const parts = text.split('.');
  if (parts.length !== 4) return bad('an IPv4 address has four dotted octets');
  const bytes: number[] = [];
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return bad('an IPv4 octet has one to three digits');
    let value = 0;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (!isDigit(c)) return bad('an IPv4 octet is decimal digits only');
      value = value * 10 + (c - 48);
    }
    if (part.length > 1 && part.charCodeAt(0) === 48) return bad('an IPv4 octet has no leading zeros');
    if (value > 255) return bad('an IPv4 octet is at most 255');
    bytes.push(value);
  }
  return ok(bytes);
}

/** One group of one to four hex digits, as its 16-bit value, or -1. */
function parseGroup(group: string): number {
  if (group.length === 0 || group.length > 4) return -1;
  let value = 0;
  for (let i = 0; i < group.length; i++) {
    const h = hexValue(group.charCodeAt(i));
    if (h < 0) return -1;
    value = value * 16 + h;
  }
  return value;
}

/** Groups of one side of `::` into 16-bit words; a dotted quad is allowed only as the address's end. */
function parseGroups(groups: readonly string[], allowV4Tail: boolean, words: number[]): string | undefined {
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] as string;
    if (group.indexOf('.') !== -1) {
      if (!allowV4Tail || i !== groups.length - 1) return 'an embedded IPv4 address must end the address';
      const v4 = parseIPv4(group);
      if (!v4.ok) return v4.error.message;
      const [a, b, c, d] = v4.value as [number, number, number, number];
      words.push(a * 256 + b, c * 256 + d);
      continue;
    }
    const value = parseGroup(group);
    if (value < 0) return group.length === 0 ? 'empty group (a lone colon)' : 'a group has one to four hex digits';
    words.push(value);
  }
  return undefined;
}

export function parseIPv6(text: string): Result<number[]> {
  if (text.length === 0) return bad('empty address');
  if (text.length > MAX_V6_LENGTH) return bad('too long for an IPv6 address');
  if (text.indexOf('%') !== -1) return bad('zone ids are not accepted');
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return bad('"::" may appear only once');
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? '' : text.slice(gap + 2);
  const headWords: number[] = [];
  const tailWords: number[] = [];
  const e1 = parseGroups(head === '' ? [] : head.split(':'), gap === -1, headWords);
  if (e1 !== undefined) return bad(e1);
  const e2 = parseGroups(tail === '' ? [] : tail.split(':'), true, tailWords);
  if (e2 !== undefined) return bad(e2);
  const count = headWords.length + tailWords.length;
  if (gap === -1 && count !== 8) return bad('an IPv6 address has eight groups unless "::" stands for some');
  if (gap !== -1 && count > 7) return bad('"::" must stand for at least one group');
  const words = headWords.concat(new Array<number>(8 - count).fill(0), tailWords);
  const bytes: number[] = [];
  for (const w of words) bytes.push(w >> 8, w & 0xff);
  return ok(bytes);
}

/** Either family: a colon means IPv6, otherwise IPv4. */
export function parseIp(text: string): Result<IpAddress> {
  if (text.indexOf(':') !== -1) {
    const r = parseIPv6(text);
    return r.ok ? ok({ family: 6, bytes: r.value }) : r;
  }
  const r = parseIPv4(text);
  return r.ok ? ok({ family: 4, bytes: r.value }) : r;
}

export function formatIPv4(bytes: readonly number[]): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * RFC 5952 section 4: lower-case hex without leading zeros; `::` replaces the longest run of two
 * or more zero groups, the first such run on a tie. Section 5: IPv4-mapped addresses end in a
 * dotted quad.
 */
export function formatIPv6(bytes: readonly number[]): string {
  const b = (i: number): number => bytes[i] ?? 0;
  let mapped = b(10) === 0xff && b(11) === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b(i) !== 0) mapped = false;
  if (mapped) return `::ffff:${formatIPv4(bytes.slice(12, 16))}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b(i) * 256 + b(i + 1));
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    words
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

export function formatIp(address: IpAddress): string {
  return address.family === 4 ? formatIPv4(address.bytes) : formatIPv6(address.bytes);
}

/** The canonical text of an address, or undefined when `text` is not one. */
export function canonicalIp(text: string): string | undefined {
  const r = parseIp(text);
  return r.ok ? formatIp(r.value) : undefined;
}

/** Family of canonical or valid text; undefined for anything else. */
export function ipFamily(text: string): IpFamily | undefined {
  const r = parseIp(text);
  return r.ok ? r.value.family : undefined;
}

export function isUnspecified(address: IpAddress): boolean {
  return address.bytes.every((x) => x === 0);
}

/** 224.0.0.0/4 and ff00::/8 (RFC 5771, RFC 4291 section 2.7). */
export function isMulticast(address: IpAddress): boolean {
  const first = address.bytes[0] ?? 0;
  return address.family === 4 ? first >= 224 && first <= 239 : first === 0xff;
}

/** True when every bit after the first `prefixLength` is zero: the address names a network. */
export function hostBitsZero(bytes: readonly number[], prefixLength: number): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const kept = Math.max(0, Math.min(8, prefixLength - i * 8));
    const mask = kept === 8 ? 0 : 0xff >> kept;
    if (((bytes[i] ?? 0) & mask) !== 0) return false;
  }
  return true;
}

/** True when `address` lies in `prefix`/`prefixLength` (same family only). */
export function prefixContains(prefix: IpAddress, prefixLength: number, address: IpAddress): boolean {
  if (prefix.family !== address.family) return false;
  for (let i = 0; i < prefix.bytes.length; i++) {
    const kept = Math.max(0, Math.min(8, prefixLength - i * 8));
    const mask = (0xff00 >> kept) & 0xff;
    if ((((prefix.bytes[i] ?? 0) ^ (address.bytes[i] ?? 0)) & mask) !== 0) return false;
  }
  return true;
}
