import { describe, it, expect } from 'vitest';
import { invalidFixtures, validFixtures } from '../../../test/fixtures/protocol/load.ts';
import {
  MAX_MESSAGE_BYTES, MESSAGE_TYPES, decodeMessage, encodeMessage, encodeValidated, makeMessage, utf8Length, validateMessage,
  type Message,
} from './envelope.ts';
import { gateHash } from './digest.ts';
import { Code } from './schema.ts';

const valid = validFixtures();
const invalid = invalidFixtures();

function decoded(text: string): Message {
  const r = decodeMessage(text);
  if (!r.ok) throw new Error(`${r.error.code} at ${r.error.path}: ${r.error.message}`);
  return r.value;
}

function encoded(msg: Message): string {
  const r = encodeMessage(msg);
  if (!r.ok) throw new Error(`${r.error.code} at ${r.error.path}: ${r.error.message}`);
  return r.value;
}

describe('valid fixtures', () => {
  it('cover every message type, one file each', () => {
    expect(valid.map((f) => f.name).sort()).toEqual([...MESSAGE_TYPES].sort());
  });

  it.each(valid.map((f) => [f.name, f] as const))('%s decodes to itself', (name, f) => {
    const msg = decoded(f.text);
    expect(msg.type).toBe(name);
    expect(msg).toEqual(f.value);
  });

  it.each(valid.map((f) => [f.name, f] as const))('%s round-trips', (_, f) => {
    const msg = decoded(f.text);
    const text = encoded(msg);
    expect(decoded(text)).toEqual(msg);
    expect(encoded(decoded(text))).toBe(text);
    // encoding is canonical: whitespace and key order of the source do not matter
    expect(text).toBe(JSON.stringify(f.value));
  });

  it('carry IPv4 and IPv6 addresses', () => {
    const all = valid.map((f) => f.text).join('\n');
    expect(all).toMatch(/"address": "\d+\.\d+\.\d+\.\d+"/);
    expect(all).toMatch(/"address": "[0-9a-f:]+:[0-9a-f:]+"/);
  });

  it('sync.request carries the hashes of the gates it names', () => {
    const install = decoded(valid.find((f) => f.name === 'decision.install')!.text);
    const sync = decoded(valid.find((f) => f.name === 'sync.request')!.text);
    if (install.type !== 'decision.install' || sync.type !== 'sync.request') throw new Error('fixture types');
    expect(sync.body.gates).toEqual(install.body.gates.map((g) => ({ id: g.id, hash: gateHash(g) })));
  });
});

describe('invalid fixtures', () => {
  it('are many and cover every error code', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(40);
    const codes = new Set(invalid.map((f) => f.code));
    expect([...codes].sort()).toEqual(Object.values(Code).sort());
  });

  it.each(invalid.map((f) => [f.name, f] as const))('%s is rejected with its code and path', (_, f) => {
    const r = decodeMessage(f.text);
    expect(r.ok, f.note).toBe(false);
    if (r.ok) return;
    expect({ code: r.error.code, path: r.error.path }, `${f.note}: ${r.error.message}`).toEqual({ code: f.code, path: f.path });
    expect(r.error.message.length).toBeGreaterThan(0);
  });
});

const header = { id: 'owrt-1:1:1', device: 'owrt-1', session: 1, seq: 1, ts: 1763901000000 };
const gate = {
  id: 'g1',
  direction: 'both' as const,
  lan: { address: '192.168.1.23', port: 16384 },
  remote: { address: null, port: null },
  dscp: 46 as const,
  rateKbps: 104,
  lifetimeS: 600,
};

describe('makeMessage', () => {
  it('builds a valid message with v set', () => {
    const r = makeMessage('decision.install', header, { version: 1, gates: [gate] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.v).toBe(1);
    expect(r.value.body.gates[0]).toEqual(gate);
    expect(r.value.body.gates[0]).not.toBe(gate);
    expect('corr' in r.value).toBe(false);
  });

  it('carries corr and requires it on replies', () => {
    expect(makeMessage('report.success', header, { version: 1, gates: ['g1'] }).ok).toBe(false);
    const r = makeMessage('report.success', { ...header, corr: 'pdp:1:9' }, { version: 1, gates: ['g1'] });
    expect(r.ok && r.value.corr).toBe('pdp:1:9');
  });

  it('validates the body', () => {
    const r = makeMessage('decision.install', header, { version: 1, gates: [{ ...gate, dscp: 0 as 46 }] });
    expect(r.ok ? undefined : r.error).toMatchObject({ code: 'E_ENUM', path: 'body.gates[0].dscp' });
  });

  it('builds both kinds of result', () => {
    const okResult = makeMessage('result', { ...header, corr: 'fleet:1:1' }, { ok: true, data: null });
    const failed = makeMessage('result', { ...header, corr: 'fleet:1:1' }, { ok: false, error: { code: 'E_BUSY', message: 'try later' } });
    expect(okResult.ok && failed.ok).toBe(true);
  });
});

describe('canonical values', () => {
  it('rewrites IPv6 addresses in RFC 5952 form and -0 as 0', () => {
    const text = JSON.stringify({
      v: 1, type: 'decision.install', id: 'a', device: 'pdp', session: 0, seq: -0, ts: 0,
      body: { version: 0, gates: [{ ...gate, lan: { address: '2001:DB8:0:0:0:0:0:23', port: 5004 }, remote: { address: '2001:db8:0000::0:9', port: null } }] },
    }).replace('"seq":0', '"seq":-0');
    const msg = decoded(text);
    if (msg.type !== 'decision.install') throw new Error('type');
    expect(msg.body.gates[0]?.lan.address).toBe('2001:db8::23');
    expect(msg.body.gates[0]?.remote.address).toBe('2001:db8::9');
    expect(Object.is(msg.seq, 0)).toBe(true);
  });

  it('orders keys as the schema declares them', () => {
    const f = valid.find((x) => x.name === 'status')!;
    const shuffled = JSON.stringify(Object.fromEntries(Object.entries(f.value).reverse()));
    expect(encoded(decoded(shuffled))).toBe(JSON.stringify(f.value));
  });
});

describe('hostile input', () => {
  const keepalive = valid.find((f) => f.name === 'keepalive')!;

  it('never lets __proto__ reach a prototype', () => {
    const texts = [
      keepalive.text.replace('"body": {}', '"body": {"__proto__": {"polluted": 1}}'),
      valid.find((f) => f.name === 'result')!.text.replace('"note": null', '"__proto__": {"polluted": 1}'),
      valid.find((f) => f.name === 'command')!.text.replace('"format": "brief"', '"__proto__": "x"'),
    ];
    for (const text of texts) expect(decodeMessage(text).ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps constructor and toString keys in free-form data as plain data', () => {
    const text = valid.find((f) => f.name === 'result')!.text.replace('"note": null', '"constructor": {"x": 1}, "toString": "s"');
    const msg = decoded(text);
    if (msg.type !== 'result' || !msg.body.ok) throw new Error('type');
    expect(Object.getPrototypeOf(msg.body.data)).toBe(Object.prototype);
    expect(decoded(encoded(msg))).toEqual(msg);
  });

  it('rejects exotic JavaScript values without throwing', () => {
    const base = decoded(keepalive.text) as unknown as Record<string, unknown>;
    const cases: unknown[] = [
      undefined,
      Symbol('x'),
      () => 1,
      new Date(0),
      new Map(),
      Object.assign(Object.create({ inherited: 1 }), base),
      { ...base, ts: NaN },
      { ...base, ts: Infinity },
      { ...base, ts: 10n },
      { ...base, body: new (class Body {})() },
      new Proxy(base, { getPrototypeOf: () => { throw new Error('trap'); } }),
      new Proxy(base, { ownKeys: () => { throw new Error('trap'); } }),
      Object.defineProperty({ ...base }, 'ts', { enumerable: true, get: () => { throw new Error('getter'); } }),
    ];
    for (const value of cases) {
      expect(() => validateMessage(value)).not.toThrow();
      expect(validateMessage(value).ok).toBe(false);
      expect(() => encodeMessage(value as Message)).not.toThrow();
    }
  });

  it('rejects a non-string payload', () => {
    expect(decodeMessage(42 as unknown as string)).toMatchObject({ ok: false, error: { code: 'E_TYPE' } });
  });

  it('survives deep nesting in the payload', () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    const r = decodeMessage(deep);
    expect(r.ok).toBe(false);
    const deepData = valid.find((f) => f.name === 'result')!.text.replace('"note": null', `"n": ${'['.repeat(50000)}${']'.repeat(50000)}`);
    expect(decodeMessage(deepData)).toMatchObject({ ok: false, error: { code: 'E_DEPTH' } });
  });

  it('accepts exactly MAX_MESSAGE_BYTES and refuses one more', () => {
    const text = keepalive.text.padEnd(MAX_MESSAGE_BYTES, ' ');
    expect(decodeMessage(text).ok).toBe(true);
    expect(decodeMessage(text + ' ')).toMatchObject({ ok: false, error: { code: 'E_TOO_LARGE' } });
  });
});

describe('encodeValidated', () => {
  it('writes a validated message as encodeMessage does, and still refuses one past the size limit', () => {
    for (const f of valid) {
      const decoded = decodeMessage(f.text);
      if (!decoded.ok) throw new Error(decoded.error.message);
      expect(encodeValidated(decoded.value)).toEqual(encodeMessage(decoded.value));
    }
    const decoded = decodeMessage(valid.find((f) => f.name === 'keepalive')!.text);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const huge = { ...decoded.value, id: 'x'.repeat(MAX_MESSAGE_BYTES) } as Message;
    expect(encodeValidated(huge)).toMatchObject({ ok: false, error: { code: 'E_TOO_LARGE' } });
  });
});

describe('utf8Length', () => {
  it('counts UTF-8 bytes without an encoder', () => {
    for (const s of ['', 'a', 'é', '€', '😀', 'a\ud800b', '\udc00', 'x😀é€']) {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
  });
});
