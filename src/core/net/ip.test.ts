import { describe, it, expect } from 'vitest';
import { isIP } from 'node:net';
import {
  canonicalIp, formatIPv4, formatIPv6, hostBitsZero, ipFamily, isMulticast, isUnspecified, parseIp, parseIPv4,
  parseIPv6, prefixContains, type IpAddress,
} from './ip.ts';
import { prng } from '../../../test/support/random.ts';

function v6bytes(text: string): number[] {
  const r = parseIPv6(text);
  if (!r.ok) throw new Error(`${text}: ${r.error.message}`);
  return r.value;
}

function addr(text: string): IpAddress {
  const r = parseIp(text);
  if (!r.ok) throw new Error(`${text}: ${r.error.message}`);
  return r.value;
}

describe('parseIPv4', () => {
  it.each([
    ['0.0.0.0', [0, 0, 0, 0]],
    ['192.168.1.1', [192, 168, 1, 1]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['10.0.10.100', [10, 0, 10, 100]],
    ['1.2.3.4', [1, 2, 3, 4]],
  ])('%s', (text, bytes) => {
    expect(parseIPv4(text)).toEqual({ ok: true, value: bytes });
  });

  it.each([
    '', '1', '1.2.3', '1.2.3.4.', '.1.2.3.4', '1.2.3.4.5', '1..2.3', '256.1.1.1', '1.2.3.300', '999.1.1.1',
    '01.2.3.4', '1.02.3.4', '1.2.3.00', '0x1.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4', '1.2.3.+4', '1.2.3.4/24',
    '1.2.3.a', '１.2.3.4', '1.2.3.4\n', '1e2.1.1.1', '1.2.3.4:80', '0000.0.0.0',
  ])('rejects %j', (text) => {
    const r = parseIPv4(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_FORMAT');
  });
});

describe('parseIPv6', () => {
  it.each([
    ['::', '0:0:0:0:0:0:0:0'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['1::', '1:0:0:0:0:0:0:0'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['1::8', '1:0:0:0:0:0:0:8'],
    ['1:2::7:8', '1:2:0:0:0:0:7:8'],
    ['FFFF:ffff:FfFf:0:0:0:0:0001', 'ffff:ffff:ffff:0:0:0:0:1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '0:0:0:0:0:0:0:0'],
    ['::ffff:192.0.2.1', '0:0:0:0:0:ffff:c000:201'],
    ['::192.0.2.1', '0:0:0:0:0:0:c000:201'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['64:ff9b::198.51.100.7', '64:ff9b:0:0:0:0:c633:6407'],
    ['0000:0000:0000:0000:0000:ffff:255.255.255.255', '0:0:0:0:0:ffff:ffff:ffff'],
  ])('%s', (text, groups) => {
    const bytes = v6bytes(text);
    const words = [];
    for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) * 256 + (bytes[i + 1] ?? 0)).toString(16));
    expect(words.join(':')).toBe(groups);
  });

  it.each([
    '', ':', ':::', '1:::2', '::1::', '1::2::3', ':1::', '1::2:', ':1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:',
    '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '12345::', 'g::', '1:2:3:4:5:6:7:-8',
    'fe80::1%eth0', 'fe80::1%1', '[::1]', '::1/128', ' ::1', '::1 ', '1.2.3.4::', '::1.2.3.4:1', '::1.2.3', '::1.2.3.04',
    '::256.1.1.1', '1:2:3:4:5:6:7:1.2.3.4', '1::2:3:4:5:6:7:1.2.3.4', '::ffff:1.2.3.4.5', '0x1::', '１::',
    '0000:0000:0000:0000:0000:0000:0000:0000:0', '00000:0000:0000:0000:0000:0000:0000:0000', 'a'.repeat(46),
  ])('rejects %j', (text) => {
    const r = parseIPv6(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_FORMAT');
  });
});

describe('formatIPv6 (RFC 5952)', () => {
  it.each([
    // section 2: all of these are one address
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8::1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:1::1', '2001:db8::1:0:0:1'],
    ['2001:db8:0000:0:1::1', '2001:db8::1:0:0:1'],
    ['2001:DB8:0:0:1::1', '2001:db8::1:0:0:1'],
    // 4.1 leading zeros
    ['2001:0db8::0001', '2001:db8::1'],
    // 4.2.1 shorten as much as possible
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    // 4.2.2 a single zero group is not compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // 4.2.3 longest run; the first of equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    // 4.3 lower case
    ['2001:DB8:AC10:FE01::', '2001:db8:ac10:fe01::'],
    // ends and extremes
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:0:0:0:0:0:0:1', '1::1'],
    ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
    ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    // section 5: IPv4-mapped addresses end in a dotted quad; other embeddings do not
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::FFFF:c000:0201', '::ffff:192.0.2.1'],
    ['0:0:0:0:0:ffff:0:0', '::ffff:0.0.0.0'],
    ['::192.0.2.1', '::c000:201'],
    ['64:ff9b::198.51.100.7', '64:ff9b::c633:6407'],
    ['::fffe:192.0.2.1', '::fffe:c000:201'],
  ])('%s -> %s', (text, canonical) => {
    expect(formatIPv6(v6bytes(text))).toBe(canonical);
    expect(canonicalIp(text)).toBe(canonical);
    expect(canonicalIp(canonical)).toBe(canonical);
  });

  it('formats every random address into text that parses back to the same bytes, canonically', () => {
    const seed = 20251123;
    const rand = prng(seed);
    for (let n = 0; n < 20000; n++) {
      // mostly zero groups, so runs of every length occur
      const bytes: number[] = [];
      for (let i = 0; i < 8; i++) {
        const w = rand() < 0.55 ? 0 : rand() < 0.5 ? Math.floor(rand() * 16) : Math.floor(rand() * 65536);
        bytes.push(w >> 8, w & 0xff);
      }
      if (rand() < 0.05) bytes.splice(0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff);
      const text = formatIPv6(bytes);
      expect(v6bytes(text), `seed ${seed} case ${n}`).toEqual(bytes);
      expect(canonicalIp(text)).toBe(text);
      expect(isIP(text)).toBe(6);
      if (!text.startsWith('::ffff:') || text.indexOf('.') === -1) {
        // the WHATWG URL serializer follows the same RFC 5952 rules except section 5
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }
    }
  });
});

describe('agreement with node:net on random text', () => {
  it('accepts exactly what isIP accepts (zone ids aside)', () => {
    const seed = 5952;
    const rand = prng(seed);
    const alphabet = '0123456789abcdefABCDEF:.:.:x ';
    const seeds = ['::', '1::2', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8', '192.168.1.1', '2001:db8::1', '1:2:3:4:5:6:1.2.3.4'];
    let agreed = 0;
    for (let n = 0; n < 30000; n++) {
      let text: string;
      if (rand() < 0.5) {
        text = '';
        const length = Math.floor(rand() * 20);
        for (let i = 0; i < length; i++) text += alphabet[Math.floor(rand() * alphabet.length)];
      } else {
        text = seeds[Math.floor(rand() * seeds.length)] as string;
        const edits = 1 + Math.floor(rand() * 3);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(rand() * (text.length + 1));
          const c = alphabet[Math.floor(rand() * alphabet.length)] as string;
          const op = rand();
          text = op < 0.4 ? text.slice(0, at) + c + text.slice(at) : op < 0.7 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + c + text.slice(at + 1);
        }
      }
      const ours = parseIp(text);
      const family = ours.ok ? ours.value.family : 0;
      expect(family, `seed ${seed} case ${n}: ${JSON.stringify(text)}`).toBe(isIP(text));
      if (ours.ok) agreed++;
    }
    expect(agreed).toBeGreaterThan(1000); // the mutations do produce valid addresses too
  });
});

describe('helpers', () => {
  it('formats IPv4 and tells the family', () => {
    expect(formatIPv4([192, 0, 2, 1])).toBe('192.0.2.1');
    expect(ipFamily('192.0.2.1')).toBe(4);
    expect(ipFamily('::1')).toBe(6);
    expect(ipFamily('::ffff:192.0.2.1')).toBe(6);
    expect(ipFamily('nonsense')).toBeUndefined();
    expect(canonicalIp('1.2.3')).toBeUndefined();
  });

  it('classifies unspecified and multicast addresses', () => {
    expect(isUnspecified(addr('0.0.0.0'))).toBe(true);
    expect(isUnspecified(addr('::'))).toBe(true);
    expect(isUnspecified(addr('::1'))).toBe(false);
    expect(isMulticast(addr('224.0.0.1'))).toBe(true);
    expect(isMulticast(addr('239.255.255.255'))).toBe(true);
    expect(isMulticast(addr('240.0.0.1'))).toBe(false);
    expect(isMulticast(addr('223.255.255.255'))).toBe(false);
    expect(isMulticast(addr('ff02::1'))).toBe(true);
    expect(isMulticast(addr('fe80::1'))).toBe(false);
  });

  it('checks host bits and prefix membership', () => {
    expect(hostBitsZero(addr('192.168.1.0').bytes, 24)).toBe(true);
    expect(hostBitsZero(addr('192.168.1.1').bytes, 24)).toBe(false);
    expect(hostBitsZero(addr('192.168.1.1').bytes, 32)).toBe(true);
    expect(hostBitsZero(addr('0.0.0.0').bytes, 0)).toBe(true);
    expect(hostBitsZero(addr('2001:db8:4a00::').bytes, 56)).toBe(true);
    expect(hostBitsZero(addr('2001:db8:4a00:ff00::').bytes, 56)).toBe(true); // /56 ends mid-group
    expect(hostBitsZero(addr('2001:db8:4a00:ff::').bytes, 56)).toBe(false);
    expect(hostBitsZero(addr('10.0.0.8').bytes, 29)).toBe(true);
    expect(hostBitsZero(addr('10.0.0.12').bytes, 29)).toBe(false);

    expect(prefixContains(addr('192.168.1.0'), 24, addr('192.168.1.200'))).toBe(true);
    expect(prefixContains(addr('192.168.1.0'), 24, addr('192.168.2.1'))).toBe(false);
    expect(prefixContains(addr('10.0.0.8'), 29, addr('10.0.0.15'))).toBe(true);
    expect(prefixContains(addr('10.0.0.8'), 29, addr('10.0.0.16'))).toBe(false);
    expect(prefixContains(addr('0.0.0.0'), 0, addr('203.0.113.9'))).toBe(true);
    expect(prefixContains(addr('2001:db8:4a00::'), 56, addr('2001:db8:4a00:1::23'))).toBe(true);
    expect(prefixContains(addr('2001:db8:4a00::'), 56, addr('2001:db8:4a01::23'))).toBe(false);
    expect(prefixContains(addr('::'), 0, addr('192.168.1.1'))).toBe(false); // families differ
  });
});
