/**
 * `ubus call network.interface dump`: netifd's `{ "interface": [ … ] }`, one status object per
 * interface, sorted by name (netifd keeps interfaces in an AVL tree).
 *
 * Shape from netifd's ubus.c (netifd_handle_dump, netifd_dump_status and the
 * interface_ip_dump_* helpers; openwrt/netifd e97e36f9): `up`, `pending`, `available`,
 * `autostart`, `dynamic` always; `uptime`, `l3_device` and every address list only while the
 * interface is up; `proto` and `device` when there is one. Addresses are `{address, mask}`
 * (IPv4 over PPP adds `ptpaddress`); `ipv6-prefix` entries add `preferred`, `valid`, `class`
 * and `assigned: {<interface>: {address, mask}}`; `ipv6-prefix-assignment` entries add
 * `local-address: {address, mask}`, an empty object while the assignment is not applied.
 *
 * Only the fields the interface report uses are read and checked; lifetimes, routes, DNS and
 * `data` are skipped, so they can neither break a read nor make two reads differ.
 */
import { arr, bool, int, optional, str, type Schema } from '../protocol/schema.ts';
import type { Result } from '../result.ts';
import { ok } from '../result.ts';
import { ipOf, loose, readAs } from './read.ts';

/** Netifd has one interface per UCI section plus dynamic ones; far fewer than this. */
export const MAX_DUMP_INTERFACES = 1024;
const MAX_LIST = 256;

export interface NetifdAddress {
  /** Canonical text (RFC 5952 for IPv6). */
  readonly address: string;
  readonly mask: number;
}

export interface NetifdPrefix extends NetifdAddress {
  /** The prefix class, usually the interface that received it (`wan6`, `wan_6`). */
  readonly class: string | null;
}

export interface NetifdAssignment extends NetifdAddress {
  /** The router's own address in the assigned prefix; null while netifd has not applied it. */
  readonly localAddress: NetifdAddress | null;
}

export interface NetifdInterface {
  /** The UCI interface name (`interface`). */
  readonly name: string;
  readonly up: boolean;
  readonly pending: boolean;
  readonly available: boolean;
  readonly autostart: boolean;
  /** Created at run time (`wan_6` by PPP with IPv6, `wan6_4` by 464xlat), not from UCI. */
  readonly dynamic: boolean;
  /** `l3_device`: the Linux device carrying the addresses; present only while up. */
  readonly l3Device: string | null;
  readonly proto: string | null;
  readonly device: string | null;
  readonly ipv4: readonly NetifdAddress[];
  readonly ipv6: readonly NetifdAddress[];
  /** `ipv6-prefix`: prefixes this interface received (DHCPv6-PD) or has configured. */
  readonly ipv6Prefixes: readonly NetifdPrefix[];
  /** `ipv6-prefix-assignment`: parts of the router's prefixes given to this (downstream) interface. */
  readonly ipv6Assignments: readonly NetifdAssignment[];
}

export interface InterfaceDump {
  readonly interfaces: readonly NetifdInterface[];
}

const mask4 = int({ min: 0, max: 32 });
const mask6 = int({ min: 0, max: 128 });
const name = str({ min: 1, max: 256 });
const list = <T>(item: Schema<T>) => optional(arr(item, { max: MAX_LIST }));

const address4 = loose({ address: ipOf(4), mask: mask4 });
const address6 = loose({ address: ipOf(6), mask: mask6 });
const prefix6 = loose({ address: ipOf(6), mask: mask6, class: optional(str({ max: 256 })) });
const assignment6 = loose({
  address: ipOf(6),
  mask: mask6,
  'local-address': optional(loose({ address: optional(ipOf(6)), mask: optional(mask6) })),
});

const statusSchema = loose({
  interface: name,
  up: bool(),
  pending: optional(bool()),
  available: optional(bool()),
  autostart: optional(bool()),
  dynamic: optional(bool()),
  l3_device: optional(str({ min: 1, max: 64 })),
  proto: optional(str({ min: 1, max: 64 })),
  device: optional(str({ min: 1, max: 256 })),
  'ipv4-address': list(address4),
  'ipv6-address': list(address6),
  'ipv6-prefix': list(prefix6),
  'ipv6-prefix-assignment': list(assignment6),
});

const dumpSchema = loose({
  interface: arr(statusSchema, { max: MAX_DUMP_INTERFACES, unique: { key: (i) => i.interface, field: 'interface' } }),
});

type Status = ReturnType<typeof statusSchema.check> extends Result<infer T> ? T : never;

function toInterface(s: Status): NetifdInterface {
  return {
    name: s.interface,
    up: s.up,
    pending: s.pending ?? false,
    available: s.available ?? false,
    autostart: s.autostart ?? false,
    dynamic: s.dynamic ?? false,
    l3Device: s.l3_device ?? null,
    proto: s.proto ?? null,
    device: s.device ?? null,
    ipv4: (s['ipv4-address'] ?? []).map(({ address, mask }) => ({ address, mask })),
    ipv6: (s['ipv6-address'] ?? []).map(({ address, mask }) => ({ address, mask })),
    ipv6Prefixes: (s['ipv6-prefix'] ?? []).map((p) => ({ address: p.address, mask: p.mask, class: p.class ?? null })),
    ipv6Assignments: (s['ipv6-prefix-assignment'] ?? []).map((a) => {
      const local = a['local-address'];
      const localAddress = local?.address !== undefined && local.mask !== undefined ? { address: local.address, mask: local.mask } : null;
      return { address: a.address, mask: a.mask, localAddress };
    }),
  };
}

/** Reads the parsed JSON of `network.interface dump`; an unexpected shape is E_UBUS_SHAPE with its path. */
export function parseInterfaceDump(value: unknown): Result<InterfaceDump> {
  const r = readAs(dumpSchema, value, 'network.interface dump');
  return r.ok ? ok({ interfaces: r.value.interface.map(toInterface) }) : r;
}
