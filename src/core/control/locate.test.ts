import { describe, expect, it } from 'vitest';
import type { InterfaceEntry } from '../protocol/messages/interfaces.ts';
import { buildLocator, claimKey, type LocateQuery, type RouterInterfaces } from './locate.ts';
import { parseRoutedScope, type RoutedScope } from './routed-scope.ts';

const scope = (text: string): RoutedScope => {
  const r = parseRoutedScope(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

const lan = (...networks: string[]): InterfaceEntry => ({
  name: 'lan',
  device: 'br-lan',
  role: 'lan',
  up: true,
  ipv4: networks.filter((n) => !n.includes(':')).map((n) => ({ address: n.split('/')[0]!, prefixLength: Number(n.split('/')[1]) })),
  ipv6: networks.filter((n) => n.includes(':')).map((n) => ({ address: n.split('/')[0]!, prefixLength: Number(n.split('/')[1]) })),
  ipv6Prefixes: [],
});
const wan = (address: string, prefixLength = 24): InterfaceEntry => ({ name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [{ address, prefixLength }], ipv6: [], ipv6Prefixes: [] });
const router = (device: string, ...interfaces: InterfaceEntry[]): RouterInterfaces => ({ device, interfaces });

/** Two offices and a call-control site on one company VPN, numbered from 10/8 without NAT; two homes behind NAT on 192.168.1.0/24. */
const OFFICE_A = router('office-a', lan('10.1.0.1/16', 'fd00:c0:1::1/64'), wan('10.255.1.2', 30));
const OFFICE_B = router('office-b', lan('10.2.0.1/24', 'fd00:c0:2::1/64'), wan('10.255.2.2', 30));
const HOME_1 = router('home-1', lan('192.168.1.1/24'), wan('203.0.113.1'));
const HOME_2 = router('home-2', lan('192.168.1.1/24'), wan('198.51.100.1'));
const CORP = scope('corp=10.0.0.0/8,fd00:c0::/32');

describe('router location in a routed scope', () => {
  const routed = buildLocator([OFFICE_A, OFFICE_B, HOME_1, HOME_2], { scopes: [CORP] });

  it('locates a private address by longest prefix among the scope\'s routers, whatever the signalling source', () => {
    for (const signallingSource of ['10.1.0.20', '10.3.0.10', null, '203.0.113.99']) {
      expect(routed.locate({ mediaAddress: '10.1.0.20', signallingSource })).toEqual({
        ok: true, device: 'office-a', lanAddress: '10.1.0.20', matchedPrefix: '10.1.0.0/16', how: 'routed', publicAddress: '10.1.0.20', scope: 'corp',
      });
    }
    expect(routed.locate({ mediaAddress: '10.2.0.20', signallingSource: '10.2.0.20' })).toMatchObject({ ok: true, device: 'office-b', how: 'routed', matchedPrefix: '10.2.0.0/24' });
    expect(routed.locate({ mediaAddress: 'fd00:c0:2::20' })).toMatchObject({ ok: true, device: 'office-b', how: 'routed', matchedPrefix: 'fd00:c0:2::/64', scope: 'corp' });
  });

  it('takes the longest of nested networks', () => {
    const nested = buildLocator([router('hq', lan('10.0.0.1/16')), router('branch', lan('10.0.5.1/24'))], { scopes: [CORP] });
    expect(nested.locate({ mediaAddress: '10.0.5.7' })).toMatchObject({ ok: true, device: 'branch', matchedPrefix: '10.0.5.0/24' });
    expect(nested.locate({ mediaAddress: '10.0.6.7' })).toMatchObject({ ok: true, device: 'hq', matchedPrefix: '10.0.0.0/16' });
  });

  it('without the declaration locates none of it, as before: a private address needs a NAT router\'s WAN as signalling source', () => {
    const plain = buildLocator([OFFICE_A, OFFICE_B, HOME_1, HOME_2]);
    expect(plain.locate({ mediaAddress: '10.1.0.20', signallingSource: '10.1.0.20' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/10\.1\.0\.20 is private/) } });
    expect(plain.claims).toEqual([]);
  });

  it('says so when an address of the scope is in no network a router of it reports', () => {
    expect(routed.locate({ mediaAddress: '10.9.0.20', signallingSource: '10.9.0.20' })).toMatchObject({
      ok: false, error: { code: 'E_LOCATE', message: 'media address 10.9.0.20 is in routed scope corp, but no router of the scope reports a network containing it' },
    });
  });

  it('leaves homes behind NAT outside the scope exactly as they were', () => {
    const plain = buildLocator([OFFICE_A, OFFICE_B, HOME_1, HOME_2]);
    const queries: LocateQuery[] = [
      { mediaAddress: '192.168.1.20', signallingSource: '203.0.113.1' },
      { mediaAddress: '192.168.1.20', signallingSource: '198.51.100.1' },
      { mediaAddress: '192.168.1.20', signallingSource: null },
      { mediaAddress: '192.168.1.20', signallingSource: '192.0.2.1' },
      { mediaAddress: '203.0.113.1', signallingSource: '203.0.113.1' },
      { mediaAddress: '172.16.0.5', signallingSource: '203.0.113.1' },
    ];
    for (const q of queries) expect(routed.locate(q), JSON.stringify(q)).toEqual(plain.locate(q));
    expect(routed.locate(queries[0]!)).toMatchObject({ ok: true, device: 'home-1', how: 'nat', publicAddress: '203.0.113.1', scope: null });
    expect(routed.locate(queries[1]!)).toMatchObject({ ok: true, device: 'home-2', how: 'nat' });
  });
});

describe('which routers are in a scope', () => {
  // A teleworker's home router numbers its NATed LAN 10.1.0.0/24, inside the company's plan.
  const TELEWORKER = router('home-t', lan('10.1.0.1/24'), wan('203.0.113.7'));

  it('keeps a router outside the listed devices out of the scope: its NATed LAN is found by its WAN address, as any home', () => {
    const offices = scope('corp=10.0.0.0/8@office-*');
    const locator = buildLocator([OFFICE_A, OFFICE_B, TELEWORKER], { scopes: [offices] });
    expect(locator.claims.map((c) => c.holder)).toEqual(['office-a', 'office-b']);
    expect(locator.locate({ mediaAddress: '10.1.0.20', signallingSource: '203.0.113.7' })).toMatchObject({ ok: true, device: 'home-t', how: 'nat', publicAddress: '203.0.113.7' });
    expect(locator.locate({ mediaAddress: '10.1.0.20', signallingSource: '10.1.0.20' })).toMatchObject({ ok: true, device: 'office-a', how: 'routed' });
  });

  it('trusts the scope over a NAT of its own routers: a branch whose Internet goes through the head office is still the branch', () => {
    const hq = router('office-hq', lan('10.0.0.1/24'), wan('192.0.2.1'));
    const locator = buildLocator([hq, OFFICE_B], { scopes: [CORP] });
    expect(locator.locate({ mediaAddress: '10.2.0.20', signallingSource: '192.0.2.1' })).toMatchObject({ ok: true, device: 'office-b', how: 'routed' });
  });

  it('counts only networks wholly inside the scope, and only LAN networks, never WAN subnets', () => {
    const locator = buildLocator([router('r', lan('10.1.0.1/24', '192.168.7.1/24'), wan('10.255.9.2', 30))], { scopes: [scope('c=10.1.0.0/16')] });
    expect(locator.claims.map((c) => c.prefix)).toEqual(['10.1.0.0/24']);
  });
});

describe('a network reported twice inside a scope', () => {
  // office-x, newly installed, was given office B's network by mistake.
  const OFFICE_X = router('office-x', lan('10.2.0.1/24', '10.7.0.1/24'), wan('10.255.7.2', 30));

  it('is refused to the later reporter: the first keeps it, and an address in it is not located, naming both', () => {
    const locator = buildLocator([OFFICE_A, OFFICE_B, OFFICE_X], { scopes: [CORP] });
    expect(locator.claims.filter((c) => c.refused.length > 0)).toEqual([{ scope: 'corp', prefix: '10.2.0.0/24', holder: 'office-b', refused: ['office-x'] }]);
    const conflict = locator.locate({ mediaAddress: '10.2.0.20', signallingSource: '10.2.0.20' });
    expect(conflict).toEqual({
      ok: false,
      error: { code: 'E_LOCATE', path: 'mediaAddress', message: '10.2.0.20: 10.2.0.0/24 of routed scope corp is reported by office-b and office-x (conflict: office-b holds it, the others are refused); not guessed' },
    });
    // The rest of both routers' networks are theirs.
    expect(locator.locate({ mediaAddress: '10.7.0.20' })).toMatchObject({ ok: true, device: 'office-x' });
    expect(locator.locate({ mediaAddress: 'fd00:c0:2::20' })).toMatchObject({ ok: true, device: 'office-b' });
    expect(locator.locate({ mediaAddress: '10.1.0.20' })).toMatchObject({ ok: true, device: 'office-a' });
  });

  it('stays with its holder whatever order the reports come in later, and goes to the other once the holder stops reporting it', () => {
    const first = buildLocator([OFFICE_B, OFFICE_X], { scopes: [CORP] });
    expect(first.holders.get(claimKey('corp', '10.2.0.0/24'))).toBe('office-b');
    // office-b reported again (a reconnect): it is last in report order now, and still the holder.
    const again = buildLocator([OFFICE_X, OFFICE_B], { scopes: [CORP], holders: first.holders });
    expect(again.claims.find((c) => c.prefix === '10.2.0.0/24')).toMatchObject({ holder: 'office-b', refused: ['office-x'] });
    // office-x is corrected: office-b alone, located again.
    const fixed = buildLocator([router('office-x', lan('10.7.0.1/24')), OFFICE_B], { scopes: [CORP], holders: again.holders });
    expect(fixed.claims.every((c) => c.refused.length === 0)).toBe(true);
    expect(fixed.locate({ mediaAddress: '10.2.0.20' })).toMatchObject({ ok: true, device: 'office-b' });
    // Had office-b gone instead, office-x would hold it.
    const gone = buildLocator([OFFICE_X], { scopes: [CORP], holders: again.holders });
    expect(gone.locate({ mediaAddress: '10.2.0.20' })).toMatchObject({ ok: true, device: 'office-x' });
  });

  it('is no conflict between two homes outside any scope: 192.168.1.0/24 everywhere, each found by its WAN', () => {
    const locator = buildLocator([HOME_1, HOME_2, OFFICE_A], { scopes: [CORP] });
    expect(locator.claims.every((c) => c.refused.length === 0)).toBe(true);
    expect(locator.locate({ mediaAddress: '192.168.1.20', signallingSource: '198.51.100.1' })).toMatchObject({ ok: true, device: 'home-2' });
  });
});
