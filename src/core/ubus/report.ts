/**
 * The body of the `interfaces` message from a netifd dump (DESIGN.md section 5: the server finds
 * the router for a call's endpoint from these addresses and prefixes).
 *
 * Per interface with a role: its name, `l3_device`, role, up flag, IPv4 addresses with their
 * prefix length, IPv6 addresses (`ipv6-address` and the router's own address in each
 * `ipv6-prefix-assignment`), and IPv6 prefixes (`ipv6-prefix`: what the WAN received by
 * DHCPv6-PD; `ipv6-prefix-assignment`: the parts given to a LAN, ULA ones included). Everything is
 * canonical, deduplicated and sorted, and lifetimes are left out, so two reports of the same state
 * are equal and `sameReport` can tell a real change from netifd's counters ticking.
 */
import { MAX_ADDRESSES, MAX_INTERFACES, interfacesBody, type InterfaceEntry, type InterfacesBody } from '../protocol/messages/interfaces.ts';
import { validate } from '../protocol/schema.ts';
import { formatIp, isMulticast, isUnspecified, parseIp, type IpAddress } from '../net/ip.ts';
import { fail, ok, type Result } from '../result.ts';
import type { InterfaceDump, NetifdAddress, NetifdInterface } from './dump.ts';
import type { InterfaceEvent } from './events.ts';
import { UbusCode } from './read.ts';

export type InterfaceRole = 'wan' | 'lan';

/** UCI interface names by role, from the agent's config, e.g. `{ wan: ['wan', 'wan6'], lan: ['lan'] }`. */
export interface InterfaceRoles {
  readonly wan: readonly string[];
  readonly lan: readonly string[];
}

type Prefixed = { address: string; prefixLength: number };
type Sortable = Prefixed & { bytes: readonly number[] };

function exactRole(name: string, roles: InterfaceRoles): InterfaceRole | null {
  if (roles.wan.includes(name)) return 'wan';
  if (roles.lan.includes(name)) return 'lan';
  return null;
}

/**
 * The role of an interface: its own, or for a dynamic interface that of the interface it was
 * made for. Protocol scripts name those `<parent>_<suffix>` (ppp.sh and the modem protocols add
 * `wan_6` for DHCPv6 over the link, odhcp6c's script adds `wan6_4` for 464xlat), so the longest
 * such parent with a role decides.
 */
export function roleOf(name: string, dynamic: boolean, roles: InterfaceRoles): InterfaceRole | null {
  const own = exactRole(name, roles);
  if (own !== null || !dynamic) return own;
  for (let cut = name.lastIndexOf('_'); cut > 0; cut = name.lastIndexOf('_', cut - 1)) {
    const parent = exactRole(name.slice(0, cut), roles);
    if (parent !== null) return parent;
  }
  return null;
}

/** Whether an event may change the report: it names an interface with a role, or maybe a dynamic child of one. */
export function isRelevantEvent(event: InterfaceEvent, roles: InterfaceRoles): boolean {
  return roleOf(event.interface, true, roles) !== null;
}

const isLinkLocal = (a: IpAddress) => a.family === 6 && a.bytes[0] === 0xfe && ((a.bytes[1] ?? 0) & 0xc0) === 0x80;

/** An address a host can hold and that means something off the link. */
function usableHost(a: IpAddress): boolean {
  if (isUnspecified(a) || isMulticast(a) || isLinkLocal(a)) return false;
  return !(a.family === 4 && a.bytes.every((x) => x === 255));
}

function withoutHostBits(bytes: readonly number[], length: number): number[] {
  return bytes.map((byte, i) => {
    const kept = Math.max(0, Math.min(8, length - i * 8));
    return byte & ((0xff00 >> kept) & 0xff);
  });
}

function compareSortable(a: Sortable, b: Sortable): number {
  for (let i = 0; i < a.bytes.length; i++) {
    const d = (a.bytes[i] ?? 0) - (b.bytes[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.prefixLength - b.prefixLength;
}

/**
 * Canonical, deduplicated, sorted by address then length, and cut to what the message allows
 * (MAX_ADDRESSES; netifd gives a handful per interface, so the cut is a bound, not a policy).
 */
function normalize(list: readonly NetifdAddress[], kind: 'host' | 'network'): Prefixed[] {
  const seen = new Set<string>();
  const out: Sortable[] = [];
  for (const { address, mask } of list) {
    const parsed = parseIp(address);
    if (!parsed.ok) continue; // the dump parser admits only addresses, so this is a guard
    let ip = parsed.value;
    if (kind === 'host' && !usableHost(ip)) continue;
    if (kind === 'network') {
      if (isLinkLocal(ip)) continue;
      ip = { family: ip.family, bytes: withoutHostBits(ip.bytes, mask) };
    }
    const text = formatIp(ip);
    const key = `${text}/${mask}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ address: text, prefixLength: mask, bytes: ip.bytes });
  }
  return out
    .sort(compareSortable)
    .slice(0, MAX_ADDRESSES)
    .map(({ address, prefixLength }) => ({ address, prefixLength }));
}

function entry(iface: NetifdInterface, role: InterfaceRole): InterfaceEntry {
  const own6 = iface.ipv6Assignments.flatMap((a) => (a.localAddress === null ? [] : [a.localAddress]));
  return {
    name: iface.name,
    device: iface.l3Device,
    role,
    up: iface.up,
    ipv4: normalize(iface.ipv4, 'host'),
    ipv6: normalize([...iface.ipv6, ...own6], 'host'),
    ipv6Prefixes: normalize([...iface.ipv6Prefixes, ...iface.ipv6Assignments], 'network'),
  };
}

/**
 * The `interfaces` body for the interfaces that have a role, WAN first, then by name. An
 * interface named in the roles but absent from the dump is left out: netifd does not know it.
 */
export function buildInterfaceReport(dump: InterfaceDump, roles: InterfaceRoles, version = 0): Result<InterfacesBody> {
  const both = roles.wan.find((name) => roles.lan.includes(name));
  if (both !== undefined) {
    return fail({ code: UbusCode.REPORT, message: `interface ${JSON.stringify(both)} is given both the wan and the lan role`, path: '' });
  }
  const entries: InterfaceEntry[] = [];
  for (const iface of dump.interfaces) {
    const role = roleOf(iface.name, iface.dynamic, roles);
    if (role !== null) entries.push(entry(iface, role));
  }
  entries.sort((a, b) => (a.role === b.role ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.role === 'wan' ? -1 : 1));
  const checked = validate(interfacesBody, { version, interfaces: entries.slice(0, MAX_INTERFACES) });
  if (!checked.ok) {
    const path = checked.error.path ?? '';
    return fail({ code: UbusCode.REPORT, message: `interface report: ${checked.error.message}${path ? ` at ${path}` : ''}`, path });
  }
  return checked;
}

function sameList(a: readonly Prefixed[], b: readonly Prefixed[]): boolean {
  return a.length === b.length && a.every((x, i) => x.address === b[i]?.address && x.prefixLength === b[i]?.prefixLength);
}

function sameEntry(a: InterfaceEntry, b: InterfaceEntry): boolean {
  return (
    a.name === b.name &&
    a.device === b.device &&
    a.role === b.role &&
    a.up === b.up &&
    sameList(a.ipv4, b.ipv4) &&
    sameList(a.ipv6, b.ipv6) &&
    sameList(a.ipv6Prefixes, b.ipv6Prefixes)
  );
}

/** Whether two reports describe the same interfaces; `version` is not compared. */
export function sameReport(a: InterfacesBody, b: InterfacesBody): boolean {
  return a.interfaces.length === b.interfaces.length && a.interfaces.every((x, i) => {
    const y = b.interfaces[i];
    return y !== undefined && sameEntry(x, y);
  });
}
