import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBoard } from './board.ts';
import { parseInterfaceDump } from './dump.ts';
import { parseListenLine } from './events.ts';

const text = (name: string) => readFileSync(new URL(`../../../test/fixtures/ubus/${name}`, import.meta.url), 'utf8');
const fixture = (name: string): unknown => JSON.parse(text(name));

describe('parseInterfaceDump', () => {
  it('reads the dual-stack dump: every interface, the fields the report uses', () => {
    const r = parseInterfaceDump(fixture('dump-dual-stack.json'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.interfaces.map((i) => i.name)).toEqual(['guest', 'lan', 'loopback', 'wan', 'wan6']);
    expect(r.value.interfaces[4]).toEqual({
      name: 'wan6', up: true, pending: false, available: true, autostart: true, dynamic: false,
      l3Device: 'eth1', proto: 'dhcpv6', device: 'eth1',
      ipv4: [], ipv6: [{ address: '2001:db8:0:100::2a', mask: 128 }],
      ipv6Prefixes: [{ address: '2001:db8:4a00::', mask: 56, class: 'wan6' }], ipv6Assignments: [],
    });
  });

  it('reads a down interface, which has no uptime, l3_device or lists', () => {
    const r = parseInterfaceDump(fixture('dump-wan-down.json'));
    expect(r.ok && r.value.interfaces.find((i) => i.name === 'wan6')).toEqual({
      name: 'wan6', up: false, pending: false, available: true, autostart: true, dynamic: false,
      l3Device: null, proto: 'dhcpv6', device: null, ipv4: [], ipv6: [], ipv6Prefixes: [], ipv6Assignments: [],
    });
  });

  it('reads the one-line -S output and the PPPoE peer address form', () => {
    const r = parseInterfaceDump(fixture('dump-pppoe.json'));
    expect(r.ok && r.value.interfaces.find((i) => i.name === 'wan')?.ipv4).toEqual([{ address: '198.51.100.23', mask: 32 }]);
    expect(r.ok && r.value.interfaces.find((i) => i.name === 'wan_6')?.dynamic).toBe(true);
  });

  it('ignores fields it does not use, however odd, and an empty local-address', () => {
    const r = parseInterfaceDump({
      interface: [{ interface: 'lan', up: true, route: 'odd', data: { x: [1] }, 'future-field': null,
        'ipv6-prefix-assignment': [{ address: 'fd00::', mask: 64, 'local-address': {} }] }],
      extra: 1,
    });
    expect(r.ok && r.value.interfaces[0]?.ipv6Assignments).toEqual([{ address: 'fd00::', mask: 64, localAddress: null }]);
  });

  it.each([
    ['not an object', [], 'E_UBUS_SHAPE', ''],
    ['no interface list', {}, 'E_UBUS_SHAPE', 'interface'],
    ['a string mask', fixture('dump-bad-shape.json'), 'E_UBUS_SHAPE', 'interface[0]["ipv4-address"][0].mask'],
    ['an interface without up', { interface: [{ interface: 'lan' }] }, 'E_UBUS_SHAPE', 'interface[0].up'],
    ['up as a number', { interface: [{ interface: 'lan', up: 1 }] }, 'E_UBUS_SHAPE', 'interface[0].up'],
    ['an IPv6 address in the IPv4 list', { interface: [{ interface: 'lan', up: true, 'ipv4-address': [{ address: '::1', mask: 8 }] }] }, 'E_UBUS_SHAPE', 'interface[0]["ipv4-address"][0].address'],
    ['an IPv4 mask of 33', { interface: [{ interface: 'lan', up: true, 'ipv4-address': [{ address: '10.0.0.1', mask: 33 }] }] }, 'E_UBUS_SHAPE', 'interface[0]["ipv4-address"][0].mask'],
    ['a prefix that is no address', { interface: [{ interface: 'wan6', up: true, 'ipv6-prefix': [{ address: '2001:db8::/56', mask: 56 }] }] }, 'E_UBUS_SHAPE', 'interface[0]["ipv6-prefix"][0].address'],
    ['a bad local-address', { interface: [{ interface: 'lan', up: true, 'ipv6-prefix-assignment': [{ address: 'fd00::', mask: 64, 'local-address': { address: 'x', mask: 64 } }] }] }, 'E_UBUS_SHAPE', 'interface[0]["ipv6-prefix-assignment"][0]["local-address"].address'],
    ['an empty l3_device', { interface: [{ interface: 'lan', up: true, l3_device: '' }] }, 'E_UBUS_SHAPE', 'interface[0].l3_device'],
    ['the same interface twice', { interface: [{ interface: 'lan', up: true }, { interface: 'lan', up: false }] }, 'E_UBUS_SHAPE', 'interface[1].interface'],
  ])('refuses %s with a path', (_what, input, code, path) => {
    const r = parseInterfaceDump(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.path).toBe(path);
    expect(r.error.message.startsWith('network.interface dump: ')).toBe(true);
  });
});

describe('parseBoard', () => {
  it('reads the real system board output', () => {
    expect(parseBoard(fixture('board.json'))).toEqual({
      ok: true,
      value: {
        kernel: '5.15.130', hostname: 'OpenWrt', system: 'MediaTek MT7621 ver:1 eco:3', model: 'D-Link COVR-X1860 A1',
        boardName: 'dlink,covr-x1860-a1', rootfsType: 'squashfs',
        release: {
          distribution: 'OpenWrt', version: '23.05-SNAPSHOT', revision: 'r23444-7714fb72be', codename: null,
          target: 'ramips/mt7621', description: 'OpenWrt 23.05-SNAPSHOT r23444-7714fb72be', builddate: null,
        },
      },
    });
  });

  it('reads a board without the optional fields', () => {
    expect(parseBoard({ kernel: '5.4.238', hostname: 'gw' })).toMatchObject({ ok: true, value: { model: null, release: null } });
  });

  it.each([
    ['no hostname', { kernel: '5.4' }, 'hostname'],
    ['a numeric version', { kernel: '5.4', hostname: 'gw', release: { version: 23.05 } }, 'release.version'],
  ])('refuses %s', (_what, input, path) => {
    expect(parseBoard(input)).toMatchObject({ ok: false, error: { code: 'E_UBUS_SHAPE', path } });
  });
});

describe('parseListenLine', () => {
  it.each([
    ['{ "network.interface": {"action":"ifup","interface":"wan"} }', { action: 'ifup', interface: 'wan' }],
    ['{ "network.interface": {"action":"ifdown","interface":"wan6"} }', { action: 'ifdown', interface: 'wan6' }],
    ['{ "network.interface": {"action":"ifupdate","interface":"wan6"} }', { action: 'update', interface: 'wan6' }],
    ['{ "interface.update": {"interface":"wan6","up":true,"ipv6-prefix":[]} }', { action: 'update', interface: 'wan6' }],
    ['{ "interface.down": {"interface":"wan","up":false} }', { action: 'ifdown', interface: 'wan' }],
    ['{ "ubus.object.add": {"id":1234,"path":"network.interface.wan_6"} }', { action: 'update', interface: 'wan_6' }],
    ['{ "ubus.object.remove": {"id":1234,"path":"network.interface.wan_6"} }', { action: 'ifdown', interface: 'wan_6' }],
    ['{ "ubus.object.add": {"id":1234,"path":"hostapd.wlan0"} }', null],
    ['{ "network.wireless": {"action":"up"} }', null],
    ['', null],
    ['   ', null],
  ])('%s', (line, event) => {
    expect(parseListenLine(line)).toEqual({ ok: true, value: event });
  });

  it.each([
    ['not JSON', 'Failed to connect to ubus', 'E_UBUS_JSON', ''],
    ['a lax QuickJS-only escape', '{ "network.interface": {"action":"if\\up","interface":"wan"} }', 'E_UBUS_JSON', ''],
    ['an array', '[1]', 'E_UBUS_JSON', ''],
    ['two types', '{ "a": {}, "b": {} }', 'E_UBUS_JSON', ''],
    ['no interface', '{ "network.interface": {"action":"ifup"} }', 'E_UBUS_SHAPE', '["network.interface"].interface'],
    ['a numeric action', '{ "network.interface": {"action":1,"interface":"wan"} }', 'E_UBUS_SHAPE', '["network.interface"].action'],
    ['data that is no object', '{ "interface.update": 3 }', 'E_UBUS_SHAPE', '["interface.update"]'],
  ])('refuses %s', (_what, line, code, path) => {
    expect(parseListenLine(line)).toMatchObject({ ok: false, error: { code, path } });
  });
});
