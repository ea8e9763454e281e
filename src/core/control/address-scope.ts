/**
 * address-scope: what an endpoint address says about where it can be found.
 *
 * `global` addresses (public IPv4, global unicast IPv6) are unique on the Internet, so the router
 * that announced the enclosing prefix owns them. `scoped` addresses (RFC 1918, 100.64/10 shared
 * CGN space, 169.254/16, IPv6 ULA fc00::/7) are reused by many sites at once, so they only mean
 * something once the router is known by other means. `unusable` addresses (unspecified,
 * loopback, multicast, broadcast, IPv4 240/4 and 0/8, IPv6 link-local) never name a media end
 * reachable through a router.
 */
import type { IpAddress } from '../net/ip.ts';

export type AddressScope = 'global' | 'scoped' | 'unusable';

/** IPv4 blocks shared between sites: [first octet, second octet low, second octet high]. */
const SCOPED_V4: readonly (readonly [number, number, number])[] = [
  [10, 0, 255], // RFC 1918
  [172, 16, 31], // RFC 1918
  [192, 168, 168], // RFC 1918
  [100, 64, 127], // RFC 6598 shared address space (CGN)
  [169, 254, 254], // RFC 3927 link-local
];

export function addressScope(address: IpAddress): AddressScope {
  const b = address.bytes;
  const first = b[0] ?? 0;
  const second = b[1] ?? 0;
  if (address.family === 4) {
    if (first === 0 || first === 127 || first >= 224) return 'unusable';
    for (const [a, low, high] of SCOPED_V4) if (first === a && second >= low && second <= high) return 'scoped';
    return 'global';
  }
  if (b.every((x) => x === 0)) return 'unusable'; // ::
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return 'unusable'; // ::1
  if (first === 0xff) return 'unusable'; // multicast
  if (first === 0xfe && (second & 0xc0) === 0x80) return 'unusable'; // fe80::/10 link-local
  if ((first & 0xfe) === 0xfc) return 'scoped'; // fc00::/7 unique local
  return 'global';
}
