import { describe, it, expect } from 'vitest';
import { combineDigestEntries, desiredDigest, digestEntry, fnv1a64, gateHash } from './digest.ts';
import { gate as gateSchema, type Gate } from './messages/gates.ts';
import { validate } from './schema.ts';

describe('fnv1a64', () => {
  it.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('matches the published vector for %j', (text, hash) => {
    expect(fnv1a64(text)).toBe(hash);
  });

  it('agrees with a BigInt FNV-1a 64 over the UTF-8 bytes', () => {
    const reference = (text: string): string => {
      let h = 0xcbf29ce484222325n;
      for (const byte of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h.toString(16).padStart(16, '0');
    };
    const samples = ['é', '€', '😀', 'a\ud800b', 'call-8f2e@pc33.example.com', '["g1","both","192.168.1.23",5004,null,null,46,104,600,null]'];
    for (let i = 0; i < 300; i++) {
      let t = '';
      for (let j = 0; j < i % 40; j++) t += String.fromCharCode((i * 7919 + j * 104729) % (j % 3 === 0 ? 0x80 : 0x3000));
      samples.push(t);
    }
    for (const t of samples) expect(fnv1a64(t), JSON.stringify(t)).toBe(reference(t));
  });
});

describe('gateHash', () => {
  const base = {
    id: 'g1', direction: 'both', lan: { address: '2001:db8::23', port: 5004 }, remote: { address: null, port: null },
    dscp: 46, rateKbps: 104, lifetimeS: 600,
  };
  const valid = (input: unknown): Gate => {
    const r = validate(gateSchema, input);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };

  it('does not depend on key order or address spelling', () => {
    const reordered = { lifetimeS: 600, rateKbps: 104, dscp: 46, remote: { port: null, address: null }, lan: { port: 5004, address: '2001:DB8:0::23' }, direction: 'both', id: 'g1' };
    expect(gateHash(valid(reordered))).toBe(gateHash(valid(base)));
  });

  it('changes with every field', () => {
    const h = gateHash(valid(base));
    const variants = [
      { ...base, id: 'g2' }, { ...base, direction: 'up' }, { ...base, lan: { ...base.lan, port: 5006 } },
      { ...base, remote: { address: '2001:db8::9', port: null } }, { ...base, remote: { address: null, port: 9 } },
      { ...base, dscp: 34 }, { ...base, rateKbps: 105 }, { ...base, lifetimeS: 601 }, { ...base, session: 'c1' },
    ];
    for (const v of variants) expect(gateHash(valid(v)), JSON.stringify(v)).not.toBe(h);
  });
});

describe('desiredDigest', () => {
  it('does not depend on order and changes with any gate', () => {
    const a = { id: 'g1', hash: '0123456789abcdef' };
    const b = { id: 'g2', hash: 'fedcba9876543210' };
    expect(desiredDigest([a, b])).toBe(desiredDigest([b, a]));
    expect(desiredDigest([a, b])).not.toBe(desiredDigest([a, { ...b, hash: 'fedcba9876543211' }]));
    expect(desiredDigest([])).toBe('0000000000000000');
  });

  it('is the XOR of the gates\' entries, so a list can be recomputed from entries kept per gate', () => {
    const a = { id: 'g1', hash: '0123456789abcdef' };
    const b = { id: 'g2', hash: 'fedcba9876543210' };
    const [ea, eb] = [digestEntry(a.id, a.hash), digestEntry(b.id, b.hash)];
    expect(desiredDigest([a])).toBe(ea);
    expect(combineDigestEntries([ea, eb])).toBe(desiredDigest([a, b]));
    // XOR by hand, limb by limb.
    const xor = [0, 4, 8, 12].map((i) => (parseInt(ea.slice(i, i + 4), 16) ^ parseInt(eb.slice(i, i + 4), 16)).toString(16).padStart(4, '0')).join('');
    expect(desiredDigest([a, b])).toBe(xor);
    // Taking a gate out again leaves the other's entry.
    expect(combineDigestEntries([desiredDigest([a, b]), eb])).toBe(ea);
  });
});
