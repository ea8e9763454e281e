import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validate } from '../protocol/schema.ts';
import { interfacesBody, type InterfacesBody } from '../protocol/messages/interfaces.ts';
import { parseInterfaceDump, type InterfaceDump, type NetifdInterface } from './dump.ts';
import { buildInterfaceReport, isRelevantEvent, roleOf, sameReport, type InterfaceRoles } from './report.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../test/fixtures/ubus/${name}`, import.meta.url), 'utf8'));

function dumpOf(name: string): InterfaceDump {
  const r = parseInterfaceDump(fixture(name));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function report(dump: InterfaceDump, roles: InterfaceRoles, version = 1): InterfacesBody {
  const r = buildInterfaceReport(dump, roles, version);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const HOME: InterfaceRoles = { wan: ['wan', 'wan6'], lan: ['lan', 'guest'] };

/** A netifd interface that is up, with the given lists. */
function up(name: string, device: string, lists: Partial<NetifdInterface> = {}): NetifdInterface {
  return {
    name, up: true, pending: false, available: true, autostart: true, dynamic: false, l3Device: device, proto: 'static', device,
    ipv4: [], ipv6: [], ipv6Prefixes: [], ipv6Assignments: [], ...lists,
  };
}

describe('buildInterfaceReport', () => {
  it.each([
    ['dual-stack router: wan, wan6 with a delegated /56, lan and guest with assignments', 'dump-dual-stack.json', 'report-dual-stack.json', HOME],
    ['the same router with the WAN down', 'dump-wan-down.json', 'report-wan-down.json', HOME],
    ['PPPoE with the dynamic wan_6 taking the role of wan', 'dump-pppoe.json', 'report-pppoe.json', { wan: ['wan'], lan: ['lan'] }],
  ] as const)('%s', (_what, dump, expected, roles) => {
    const body = report(dumpOf(dump), roles);
    expect(body).toEqual(fixture(expected));
    expect(validate(interfacesBody, body).ok).toBe(true);
  });

  it('puts the WAN first and then sorts by name, whatever order the dump has', () => {
    const dump = dumpOf('dump-dual-stack.json');
    const shuffled = { interfaces: [...dump.interfaces].reverse() };
    expect(report(shuffled, HOME)).toEqual(report(dump, HOME));
    expect(report(dump, HOME).interfaces.map((i) => i.name)).toEqual(['wan', 'wan6', 'guest', 'lan']);
  });

  it('reports a down interface with no device and empty lists', () => {
    const wan = report(dumpOf('dump-wan-down.json'), HOME).interfaces[0];
    expect(wan).toEqual({ name: 'wan', device: null, role: 'wan', up: false, ipv4: [], ipv6: [], ipv6Prefixes: [] });
  });

  it('leaves out interfaces without a role and roles without an interface', () => {
    const body = report(dumpOf('dump-dual-stack.json'), { wan: ['wan', 'wwan'], lan: ['lan'] });
    expect(body.interfaces.map((i) => i.name)).toEqual(['wan', 'lan']);
  });

  it('refuses an interface given both roles', () => {
    const r = buildInterfaceReport(dumpOf('dump-dual-stack.json'), { wan: ['wan', 'lan'], lan: ['lan'] });
    expect(r).toMatchObject({ ok: false, error: { code: 'E_UBUS_REPORT', message: 'interface "lan" is given both the wan and the lan role' } });
  });

  it('carries the version it is given', () => {
    expect(report(dumpOf('dump-pppoe.json'), HOME, 42).version).toBe(42);
  });

  it.each([
    ['canonical text, duplicates merged', [{ address: '2001:DB8:0:0::1', mask: 64 }, { address: '2001:db8::1', mask: 64 }], [{ address: '2001:db8::1', prefixLength: 64 }]],
    ['sorted by address bytes, then length', [{ address: 'fd00::1', mask: 64 }, { address: '2001:db8::1', mask: 128 }, { address: '2001:db8::1', mask: 64 }],
      [{ address: '2001:db8::1', prefixLength: 64 }, { address: '2001:db8::1', prefixLength: 128 }, { address: 'fd00::1', prefixLength: 64 }]],
    ['link-local, unspecified and multicast left out', [{ address: 'fe80::1', mask: 64 }, { address: '::', mask: 0 }, { address: 'ff02::1', mask: 128 }], []],
  ])('IPv6 addresses: %s', (_what, ipv6, expected) => {
    const body = report({ interfaces: [up('lan', 'br-lan', { ipv6 })] }, HOME);
    expect(body.interfaces[0]?.ipv6).toEqual(expected);
  });

  it('clears host bits of prefixes and keeps host bits of addresses', () => {
    const iface = up('wan6', 'eth1', {
      ipv6: [{ address: '2001:db8:1::5', mask: 64 }],
      ipv6Prefixes: [{ address: '2001:db8:4a00:ff::1', mask: 56, class: 'wan6' }],
    });
    const entry = report({ interfaces: [iface] }, HOME).interfaces[0];
    expect(entry?.ipv6).toEqual([{ address: '2001:db8:1::5', prefixLength: 64 }]);
    expect(entry?.ipv6Prefixes).toEqual([{ address: '2001:db8:4a00::', prefixLength: 56 }]);
  });

  it('takes the router address of an assignment only once it is applied', () => {
    const iface = up('lan', 'br-lan', {
      ipv6Assignments: [
        { address: '2001:db8:4a00:10::', mask: 60, localAddress: null },
        { address: 'fd5e:7c1a:9b3d::', mask: 60, localAddress: { address: 'fd5e:7c1a:9b3d::1', mask: 60 } },
      ],
    });
    const entry = report({ interfaces: [iface] }, HOME).interfaces[0];
    expect(entry?.ipv6).toEqual([{ address: 'fd5e:7c1a:9b3d::1', prefixLength: 60 }]);
    expect(entry?.ipv6Prefixes.map((p) => p.address)).toEqual(['2001:db8:4a00:10::', 'fd5e:7c1a:9b3d::']);
  });

  it('keeps at most 16 addresses per list, the lowest ones', () => {
    const ipv4 = Array.from({ length: 20 }, (_, i) => ({ address: `10.0.0.${20 - i}`, mask: 24 }));
    const entry = report({ interfaces: [up('lan', 'br-lan', { ipv4 })] }, HOME).interfaces[0];
    expect(entry?.ipv4).toHaveLength(16);
    expect(entry?.ipv4[0]).toEqual({ address: '10.0.0.1', prefixLength: 24 });
    expect(entry?.ipv4[15]).toEqual({ address: '10.0.0.16', prefixLength: 24 });
  });

  it('fails with the path when an entry does not fit the message (a device name Linux allows but the protocol not)', () => {
    const r = buildInterfaceReport({ interfaces: [up('lan', 'br#lan')] }, HOME);
    expect(r).toMatchObject({ ok: false, error: { code: 'E_UBUS_REPORT', path: 'interfaces[0].device' } });
  });
});

describe('roles', () => {
  it.each([
    ['wan', false, 'wan'],
    ['wan6', false, 'wan'],
    ['guest', false, 'lan'],
    ['wan_6', true, 'wan'], // pppd's DHCPv6 child of wan
    ['wan6_4', true, 'wan'], // 464xlat child of wan6
    ['wan_6', false, null], // a configured interface of that name is not a child
    ['vpn_6', true, null],
    ['_6', true, null],
    ['loopback', false, null],
  ] as const)('%s (dynamic %s) has role %s', (name, dynamic, role) => {
    expect(roleOf(name, dynamic, HOME)).toBe(role);
  });

  it.each([
    ['ifdown', 'wan', true],
    ['update', 'wan_6', true],
    ['ifup', 'loopback', false],
    ['ifup', 'vpn', false],
  ] as const)('%s of %s is relevant: %s', (action, name, relevant) => {
    expect(isRelevantEvent({ action, interface: name }, HOME)).toBe(relevant);
  });
});

describe('sameReport', () => {
  const base = report(dumpOf('dump-dual-stack.json'), HOME);
  const changed = (edit: (body: InterfacesBody) => void): InterfacesBody => {
    const copy = JSON.parse(JSON.stringify(base)) as InterfacesBody;
    edit(copy);
    return copy;
  };

  it('is true for the same state read twice, lifetimes and version aside', () => {
    const again = JSON.parse(JSON.stringify(fixture('dump-dual-stack.json')).replace(/"(preferred|valid|uptime)":\d+/g, '"$1":1')) as unknown;
    const parsed = parseInterfaceDump(again);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(sameReport(base, report(parsed.value, HOME, 9))).toBe(true);
  });

  it.each([
    ['an interface went down', (b: InterfacesBody) => void (b.interfaces[0]!.up = false)],
    ['the device changed', (b: InterfacesBody) => void (b.interfaces[0]!.device = 'eth2')],
    ['an address changed', (b: InterfacesBody) => void (b.interfaces[0]!.ipv4[0]!.address = '203.0.113.46')],
    ['a prefix length changed', (b: InterfacesBody) => void (b.interfaces[1]!.ipv6Prefixes[0]!.prefixLength = 60)],
    ['a prefix was added', (b: InterfacesBody) => void b.interfaces[3]!.ipv6Prefixes.push({ address: '2001:db8:ffff::', prefixLength: 64 })],
    ['an interface was removed', (b: InterfacesBody) => void b.interfaces.pop()],
  ])('is false when %s', (_what, edit) => {
    expect(sameReport(base, changed(edit))).toBe(false);
    expect(sameReport(changed(edit), base)).toBe(false);
  });

  it('tells the WAN-down report from the dual-stack one', () => {
    expect(sameReport(base, report(dumpOf('dump-wan-down.json'), HOME))).toBe(false);
  });
});
