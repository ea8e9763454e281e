import { describe, expect, it } from 'vitest';
import * as t from './types.ts';

function accepts<T>(type: t.ValueType<T>, text: string): T {
  const r = type.parse(text);
  if (!r.ok) throw new Error(`${JSON.stringify(text)} refused: ${r.error}`);
  return r.value;
}

function refuses<T>(type: t.ValueType<T>, text: string): string {
  const r = type.parse(text);
  if (r.ok) throw new Error(`${JSON.stringify(text)} accepted as ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('bool', () => {
  it.each(['1', 'yes', 'on', 'true', 'enabled'])('%s is true', (v) => expect(accepts(t.bool, v)).toBe(true));
  it.each(['0', 'no', 'off', 'false', 'disabled'])('%s is false', (v) => expect(accepts(t.bool, v)).toBe(false));
  it.each(['', '2', 'Yes', 'TRUE', ' 1', 'y', 'enable'])('%j is refused, as config_get_bool would not read it', (v) => {
    expect(refuses(t.bool, v)).toContain('expected a boolean');
  });
});

describe('uint', () => {
  const percent = t.uint(1, 90);
  it.each([
    ['1', 1],
    ['90', 90],
    ['30', 30],
  ])('%s', (v, n) => expect(accepts(percent, v)).toBe(n));
  it.each(['0', '91', '-1', '+5', '5.0', '1e1', '0x10', '010', ' 5', '', '5 ', '１'])('%j is refused', (v) => {
    refuses(percent, v);
  });
  it('says which range a number missed', () => expect(refuses(percent, '91')).toBe('91 is outside 1..90'));
  it('accepts 0 and refuses numbers beyond what is exact', () => {
    expect(accepts(t.uint(), '0')).toBe(0);
    refuses(t.uint(), '12345678901234567');
  });
});

describe('port', () => {
  it.each(['1', '5060', '65535'])('%s', (v) => expect(accepts(t.port, v)).toBe(Number(v)));
  it.each(['0', '65536', 'sip', '5060-5061'])('%j is refused', (v) => {
    refuses(t.port, v);
  });
});

describe('oneOf', () => {
  const level = t.oneOf(['debug', 'info'] as const);
  it('accepts exactly the values', () => expect(accepts(level, 'info')).toBe('info'));
  it.each(['INFO', 'inf', '', 'debug '])('%j is refused', (v) => expect(refuses(level, v)).toBe('expected one of debug, info'));
});

describe('ipaddr', () => {
  const ip = t.ipaddr();
  const host = t.ipaddr({ host: true });
  it.each([
    ['192.168.1.1', '192.168.1.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80:0000::0001', 'fe80::1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
  ])('%s reads as %s (RFC 5952)', (v, canonical) => expect(accepts(ip, v)).toBe(canonical));
  it.each(['192.168.1', '192.168.001.1', '256.1.1.1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '[::1]', '10.0.0.0/8', 'host.lan', ''])(
    '%j is refused',
    (v) => expect(refuses(ip, v)).toContain('not an IP address'),
  );
  it.each(['0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255'])('%s is not a host', (v) => {
    expect(refuses(host, v)).toMatch(/is not a host/);
  });
});

describe('cidr', () => {
  it('reads and normalises a prefix', () => {
    expect(accepts(t.cidr(), '192.168.1.1/24')).toEqual({ address: '192.168.1.1', prefixLength: 24 });
    expect(accepts(t.cidr({ network: true }), '2001:DB8:1::/48')).toEqual({ address: '2001:db8:1::', prefixLength: 48 });
  });
  it.each(['192.168.1.0', '192.168.1.0/33', '::/129', '10.0.0.0/', '10.0.0.0/08', 'x/8'])('%j is refused', (v) => {
    refuses(t.cidr(), v);
  });
  it('refuses host bits in a network prefix', () => {
    expect(refuses(t.cidr({ network: true }), '192.168.1.1/24')).toContain('no bits set after its length');
  });
});

describe('dscp', () => {
  it.each([
    ['EF', 46],
    ['ef', 46],
    ['46', 46],
    ['AF41', 34],
    ['af41', 34],
    ['34', 34],
    ['CS5', 40],
    ['40', 40],
  ])('%s is %i', (v, n) => expect(accepts(t.dscp(), v)).toBe(n));
  it.each(['AF11', '0', 'CS0', '47', 'E F', '046', '0x2e', ''])('%j is refused by default', (v) => {
    expect(refuses(t.dscp(), v)).toBe('expected a DSCP: EF (46), AF41 (34), CS5 (40)');
  });
  it('takes another set of allowed values', () => expect(accepts(t.dscp([10]), 'af11')).toBe(10));
});

describe('ifname', () => {
  it.each(['wan', 'lan', 'br-lan', 'eth0.2', 'wan_6', 'a'.repeat(15)])('%s', (v) => expect(accepts(t.ifname, v)).toBe(v));
  it.each(['', 'a'.repeat(16), 'eth 0', 'eth0/1', 'wlan0:1', '.', '..', 'é'])('%j is refused', (v) => {
    refuses(t.ifname, v);
  });
});

describe('deviceId', () => {
  it.each(['OpenWrt', 'office-gw-01', 'r1.example', 'a'.repeat(64)])('%s', (v) => expect(accepts(t.deviceId, v)).toBe(v));
  it.each(['', '-gw', '.gw', 'a'.repeat(65), 'gw/1', 'gw 1', 'gw#'])('%j is refused', (v) => {
    refuses(t.deviceId, v);
  });
});

describe('text', () => {
  it('accepts anything without a pattern', () => expect(accepts(t.text(), ' any\nthing ')).toBe(' any\nthing '));
  it('describes its pattern on refusal', () => expect(refuses(t.text(/^\//, 'an absolute path'), 'rel')).toBe('expected an absolute path'));
});

describe('bitmask', () => {
  const mask = t.bitmask(6, 8);
  it.each([
    ['0x003f0000', 0x003f0000],
    ['0x00ff0000', 0x00ff0000],
    ['0xFF000000', 0xff000000],
    ['0x3f', 0x3f],
    ['0X000007F0', 0x7f0],
  ])('%s', (v, n) => expect(accepts(mask, v)).toBe(n));
  it.each([
    ['0x00ff00ff', 'contiguous'],
    ['0x0000001f', '5 bits set'],
    ['0x000001ff', '9 bits set'],
    ['0x0', 'no bits set'],
    ['4128768', 'expected a hex mask'],
    ['0x1003f0000', 'expected a hex mask'],
    ['0x', 'expected a hex mask'],
  ])('%s is refused (%s)', (v, why) => expect(refuses(mask, v)).toContain(why));
  it('formats as eight hex digits', () => expect(mask.format?.(0x3f0000)).toBe('0x003f0000'));
});
