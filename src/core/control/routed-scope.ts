/**
 * routed-scope: private address space an operator declares routed and unique among a set of
 * routers (DESIGN.md section 5). Offices joined by a VPN or MPLS number their sites from one plan
 * (10.1.0.0/16 here, 10.2.0.0/16 there) with no NAT between them, so inside the scope a private
 * address names one router's LAN exactly as a public address does on the Internet.
 *
 * Written `<name>=<prefix>[,<prefix>...][@<device>[,<device>...]]`, e.g.
 * `corp=10.0.0.0/8,fd00:c0::/32@office-*,hq`: the prefixes must lie in private space (RFC 1918,
 * 100.64/10, IPv6 ULA); the devices name the scope's routers, a trailing `*` matching any rest of
 * an id. Without `@` every router of the server is in the scope.
 */
import { fail, ok, type Result } from '../result.ts';
import { formatIp, hostBitsZero, parseIp, prefixContains, type IpAddress } from '../net/ip.ts';
import { addressScope } from './address-scope.ts';

export const E_SCOPE = 'E_SCOPE';

export interface ScopePrefix {
  readonly address: IpAddress;
  readonly length: number;
}

export interface RoutedScope {
  readonly name: string;
  readonly prefixes: readonly ScopePrefix[];
  /** Device ids of the scope's routers (a trailing `*` matches any rest); null: every router. */
  readonly devices: readonly string[] | null;
}

const SCOPE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const DEVICE_PATTERN = /^[A-Za-z0-9._-]{1,64}\*?$|^\*$/;
/** Shortest prefix accepted per family: no private block is wider (10/8, fc00::/7). */
const MIN_LENGTH = { 4: 8, 6: 7 } as const;

export function prefixText(prefix: ScopePrefix): string {
  return `${formatIp(prefix.address)}/${prefix.length}`;
}

/** The last address of a prefix. */
function lastAddress(prefix: ScopePrefix): IpAddress {
  const bytes = prefix.address.bytes.map((byte, i) => {
    const kept = Math.max(0, Math.min(8, prefix.length - i * 8));
    return byte | (0xff >> kept);
  });
  return { family: prefix.address.family, bytes };
}

export function parsePrefix(text: string): Result<ScopePrefix> {
  const bad = (why: string) => fail({ code: E_SCOPE, message: `${JSON.stringify(text)} ${why}` });
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return bad('is not a prefix (address/length)');
  const address = parseIp(m[1]!);
  if (!address.ok) return bad('is not a prefix (address/length)');
  const length = Number(m[2]);
  const family = address.value.family;
  if (length < MIN_LENGTH[family] || length > (family === 4 ? 32 : 128)) return bad(`has a length outside ${MIN_LENGTH[family]}..${family === 4 ? 32 : 128}`);
  if (!hostBitsZero(address.value.bytes, length)) return bad('has host bits set');
  const prefix = { address: address.value, length };
  // First and last address private: with at least /8 (IPv4) the whole prefix is then in one block.
  const linkLocal = family === 4 && prefix.address.bytes[0] === 169;
  if (linkLocal || addressScope(prefix.address) !== 'scoped' || addressScope(lastAddress(prefix)) !== 'scoped') {
    return bad('is not private address space (RFC 1918, 100.64.0.0/10, fc00::/7): public prefixes are located without a scope');
  }
  return ok(prefix);
}

/** `<name>=<prefix>[,<prefix>...][@<device>[,<device>...]]` */
export function parseRoutedScope(text: string): Result<RoutedScope> {
  const bad = (why: string): Result<never> =>
    fail({ code: E_SCOPE, message: `routed scope ${JSON.stringify(text)}: ${why} (want <name>=<prefix>[,<prefix>...][@<device>[,<device>...]])` });
  const m = /^([^=@]+)=([^=@]+)(?:@([^=@]+))?$/.exec(text);
  if (!m) return bad('not name=prefixes[@devices]');
  const name = m[1]!;
  if (!SCOPE_NAME.test(name)) return bad('the name must be letters, digits, . _ - (up to 64)');
  const prefixes: ScopePrefix[] = [];
  for (const p of m[2]!.split(',')) {
    const prefix = parsePrefix(p);
    if (!prefix.ok) return bad(prefix.error.message);
    prefixes.push(prefix.value);
  }
  const overlapping = firstOverlap(prefixes, prefixes);
  if (overlapping !== null) return bad(overlapping);
  let devices: string[] | null = null;
  if (m[3] !== undefined) {
    devices = m[3].split(',');
    const wrong = devices.find((d) => !DEVICE_PATTERN.test(d));
    if (wrong !== undefined) return bad(`${JSON.stringify(wrong)} is not a device id (letters, digits, . _ -, a trailing * for any rest)`);
  }
  return ok({ name, prefixes, devices });
}

function overlap(a: ScopePrefix, b: ScopePrefix): boolean {
  if (a.address.family !== b.address.family) return false;
  return a.length <= b.length ? prefixContains(a.address, a.length, b.address) : prefixContains(b.address, b.length, a.address);
}

/** Names the first pair of overlapping prefixes between two lists (the same list: distinct entries). */
function firstOverlap(a: readonly ScopePrefix[], b: readonly ScopePrefix[]): string | null {
  for (const x of a) {
    for (const y of b) {
      if (x !== y && overlap(x, y)) return `${prefixText(x)} overlaps ${prefixText(y)}`;
    }
  }
  return null;
}

/**
 * Adds a scope to those already declared. Two scopes may not share address space: an address
 * must belong to one scope at most, or which router it names would be a guess.
 */
export function addRoutedScope(scopes: readonly RoutedScope[], scope: RoutedScope): Result<RoutedScope[]> {
  for (const other of scopes) {
    if (other.name === scope.name) return fail({ code: E_SCOPE, message: `routed scope ${scope.name} is declared twice` });
    const overlapping = firstOverlap(scope.prefixes, other.prefixes);
    if (overlapping !== null) return fail({ code: E_SCOPE, message: `routed scopes ${other.name} and ${scope.name} share address space: ${overlapping}` });
  }
  return ok([...scopes, scope]);
}

export function isMember(scope: RoutedScope, device: string): boolean {
  if (scope.devices === null) return true;
  return scope.devices.some((p) => (p.endsWith('*') ? device.startsWith(p.slice(0, -1)) : device === p));
}

/** The scope whose declared prefixes hold the address, if any (scopes never overlap). */
export function scopeOf(scopes: readonly RoutedScope[], address: IpAddress): RoutedScope | undefined {
  return scopes.find((s) => s.prefixes.some((p) => p.address.family === address.family && prefixContains(p.address, p.length, address)));
}

/** Whether a whole network (address/length) lies inside one of the scope's declared prefixes. */
export function scopeHolds(scope: RoutedScope, address: IpAddress, length: number): boolean {
  return scope.prefixes.some((p) => p.address.family === address.family && p.length <= length && prefixContains(p.address, p.length, address));
}
