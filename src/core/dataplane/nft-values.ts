/**
 * Every value that enters an nft script passes through one of these: parsed, range-checked and
 * formatted by our code, so no text from outside is ever interpolated. Each returns null when the
 * value is not acceptable.
 */
import { formatIp, parseIp } from '../net/ip.ts';
import type { IpAddress, IpFamily } from '../net/ip.ts';

export interface NftAddress {
  readonly family: IpFamily;
  readonly text: string;
}

export function nftAddress(text: string): NftAddress | null {
  const parsed = parseIp(text);
  if (!parsed.ok) return null;
  const address: IpAddress = parsed.value;
  return { family: address.family, text: formatIp(address) };
}

export function nftPort(port: number): string | null {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? String(port) : null;
}

export function nftSeconds(seconds: number): string | null {
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= 7 * 86400 ? `${seconds}s` : null;
}

/** A hex mark constant; the mask must be one contiguous run of bits. */
export function nftHex32(value: number): string | null {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff ? `0x${value.toString(16).padStart(8, '0')}` : null;
}

/** Gate ids go into element comments; they are already restricted, but check again here. */
export function nftComment(text: string): string | null {
  return /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(text) ? `"${text}"` : null;
}
