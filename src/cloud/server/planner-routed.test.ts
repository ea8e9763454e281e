import { describe, expect, it } from 'vitest';
import { buildLocator } from '../../core/control/locate.ts';
import { parseRoutedScope } from '../../core/control/routed-scope.ts';
import type { InterfaceEntry } from '../../core/protocol/messages/interfaces.ts';
import type { MediaLine, SessionAddBody } from '../../core/protocol/messages/cc.ts';
import { planLine } from './planner.ts';

const entry = (role: 'lan' | 'wan', address: string, prefixLength: number): InterfaceEntry => ({
  name: role, device: role === 'lan' ? 'br-lan' : 'wan', role, up: true, ipv4: [{ address, prefixLength }], ipv6: [], ipv6Prefixes: [],
});
const corp = parseRoutedScope('corp=10.0.0.0/8');
if (!corp.ok) throw new Error(corp.error.message);
const locator = buildLocator(
  [
    { device: 'office-a', interfaces: [entry('lan', '10.1.0.1', 24), entry('wan', '10.255.1.2', 30)] },
    { device: 'office-b', interfaces: [entry('lan', '10.2.0.1', 24), entry('wan', '10.255.2.2', 30)] },
    { device: 'home', interfaces: [entry('lan', '192.168.1.1', 24), entry('wan', '203.0.113.1', 24)] },
  ],
  { scopes: [corp.value] },
);

const line = (offer: string, answer: string): MediaLine => ({
  line: 0, type: 'audio', offer: { address: offer, port: 49170 }, answer: { address: answer, port: 50170 }, direction: 'sendrecv', codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 },
});
const body = (media: MediaLine, caller: string, callee: string): SessionAddBody => ({ callId: 'c@x', caller: { source: caller }, callee: { source: callee }, media: [media] });
const plan = (media: MediaLine, caller: string, callee: string) =>
  Object.fromEntries(planLine(locator, 'c@x', body(media, caller, callee), media, 600).gates.map((g) => [g.device, g.gate]));

describe('gates for calls on a routed private network', () => {
  it('between two sites of one scope: a gate at each, the far end exact (no NAT between them)', () => {
    const media = line('10.1.0.20', '10.2.0.20');
    const gates = plan(media, '10.1.0.20', '10.2.0.20');
    expect(gates['office-a']).toMatchObject({ lan: { address: '10.1.0.20', port: 49170 }, remote: { address: '10.2.0.20', port: 50170 }, direction: 'both', dscp: 46 });
    expect(gates['office-b']).toMatchObject({ lan: { address: '10.2.0.20', port: 50170 }, remote: { address: '10.1.0.20', port: 49170 }, direction: 'both', dscp: 46 });
  });

  it('between a site and a home behind NAT: the site sees the home\'s public address; the home any address, the site\'s being private', () => {
    const media = line('10.1.0.20', '192.168.1.20');
    const gates = plan(media, '10.1.0.20', '203.0.113.1');
    expect(gates['office-a']).toMatchObject({ lan: { address: '10.1.0.20', port: 49170 }, remote: { address: '203.0.113.1', port: null } });
    expect(gates.home).toMatchObject({ lan: { address: '192.168.1.20', port: 50170 }, remote: { address: null, port: null } });
  });
});
