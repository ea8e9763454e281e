/**
 * `interfaces` (device -> server): the router's interface report, sent after `accept` and on
 * every change. It plays the part of the client-specific information a COPS PEP gives its PDP
 * (RFC 2748 section 2.2.9, ClientSI, in a REQ); the server locates routers from it by longest
 * prefix match (DESIGN.md section 5; seed 004 claim 4).
 */
import { counter, prefixed } from '../fields.ts';
import { arr, bool, nullable, obj, oneOf, str, type Infer } from '../schema.ts';

export const MAX_INTERFACES = 64;
export const MAX_ADDRESSES = 16;

/** A netifd (UCI) interface name, e.g. `wan`, `wan6`, `wan_6`. */
const interfaceName = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_]+$/, format: 'interface name' });
/** A Linux network device name (IFNAMSIZ 16), e.g. `br-lan`, `eth0.2`, `pppoe-wan`. */
const linuxDevice = str({ min: 1, max: 15, pattern: /^(?!\.\.?$)[A-Za-z0-9_.+-]+$/, format: 'network device name' });

const addresses = (list: ReturnType<typeof prefixed>) => arr(list, { max: MAX_ADDRESSES });

export const interfaceEntry = obj({
  name: interfaceName,
  /** `l3_device` from `network.interface dump`; null while the interface is down and has none. */
  device: nullable(linuxDevice),
  role: oneOf(['wan', 'lan']),
  up: bool(),
  ipv4: addresses(prefixed(4, 'interface')),
  ipv6: addresses(prefixed(6, 'interface')),
  /** Delegated prefixes (`ipv6-prefix`), host bits zero. */
  ipv6Prefixes: addresses(prefixed(6, 'network')),
});

export const interfacesBody = obj({
  /** Raised by the device on every report, so the server can drop a stale one. */
  version: counter,
  interfaces: arr(interfaceEntry, { max: MAX_INTERFACES, unique: { key: (i) => i.name, field: 'name' } }),
});

export type InterfaceEntry = Infer<typeof interfaceEntry>;
export type InterfacesBody = Infer<typeof interfacesBody>;
