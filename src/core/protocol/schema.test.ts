import { describe, it, expect } from 'vitest';
import {
  arr, bool, int, json, literal, nullable, num, obj, oneOf, optional, record, refine, str, union, validate,
  type Infer, type Schema,
} from './schema.ts';

function errorOf<T>(schema: Schema<T>, input: unknown): { code: string; path: string | undefined } | undefined {
  const r = validate(schema, input);
  return r.ok ? undefined : { code: r.error.code, path: r.error.path };
}

function valueOf<T>(schema: Schema<T>, input: unknown): T {
  const r = validate(schema, input);
  if (!r.ok) throw new Error(`${r.error.code} at ${r.error.path}: ${r.error.message}`);
  return r.value;
}

describe('primitives', () => {
  it('str checks type, length, well-formedness and pattern in that order', () => {
    const s = str({ min: 1, max: 4, pattern: /^[a-z]+$/ });
    expect(valueOf(s, 'abc')).toBe('abc');
    expect(errorOf(s, 1)).toEqual({ code: 'E_TYPE', path: '' });
    expect(errorOf(s, '')).toEqual({ code: 'E_LENGTH', path: '' });
    expect(errorOf(s, 'abcde')).toEqual({ code: 'E_LENGTH', path: '' });
    expect(errorOf(s, 'AB')).toEqual({ code: 'E_FORMAT', path: '' });
    expect(errorOf(str({ max: 9 }), 'a\ud800')).toEqual({ code: 'E_FORMAT', path: '' });
    expect(errorOf(str({ max: 9 }), '\udc00a')).toEqual({ code: 'E_FORMAT', path: '' });
    expect(valueOf(str({ max: 9 }), 'a😀')).toBe('a😀');
  });

  it('int refuses fractions, NaN and infinities, and turns -0 into 0', () => {
    const i = int({ min: -5, max: 5 });
    expect(valueOf(i, 5)).toBe(5);
    expect(Object.is(valueOf(i, -0), 0)).toBe(true);
    for (const bad of [1.5, NaN, Infinity, -Infinity, '1', null, true, 1n]) expect(errorOf(i, bad)?.code).toBe('E_TYPE');
    expect(errorOf(i, 6)).toEqual({ code: 'E_RANGE', path: '' });
    expect(errorOf(i, -6)).toEqual({ code: 'E_RANGE', path: '' });
    expect(errorOf(int(), 2 ** 53)).toEqual({ code: 'E_RANGE', path: '' });
    expect(errorOf(int(), 1e300)).toEqual({ code: 'E_RANGE', path: '' });
  });

  it('num takes fractions but not NaN', () => {
    expect(valueOf(num({ min: 0, max: 1 }), 0.25)).toBe(0.25);
    expect(errorOf(num(), NaN)?.code).toBe('E_TYPE');
    expect(errorOf(num({ max: 1 }), 1.5)?.code).toBe('E_RANGE');
  });

  it('bool, literal and oneOf', () => {
    expect(valueOf(bool(), false)).toBe(false);
    expect(errorOf(bool(), 0)?.code).toBe('E_TYPE');
    expect(errorOf(literal('a'), 'b')?.code).toBe('E_ENUM');
    expect(errorOf(literal('a'), 1)?.code).toBe('E_TYPE');
    expect(errorOf(literal(1, 'E_VERSION'), 2)?.code).toBe('E_VERSION');
    expect(errorOf(literal(1, 'E_VERSION'), '1')?.code).toBe('E_VERSION');
    const e = oneOf([46, 34]);
    expect(valueOf(e, 34)).toBe(34);
    expect(errorOf(e, 35)?.code).toBe('E_ENUM');
    expect(errorOf(e, '34')?.code).toBe('E_TYPE');
    expect(errorOf(oneOf(['a', 'b']), 'toString')?.code).toBe('E_ENUM');
  });

  it('nullable and refine', () => {
    expect(valueOf(nullable(int()), null)).toBeNull();
    expect(errorOf(nullable(int()), undefined)?.code).toBe('E_TYPE');
    const even = refine(int(), (v, path) => (v % 2 === 0 ? undefined : { code: 'E_RANGE', message: 'odd', path }));
    expect(errorOf(even, 3)?.code).toBe('E_RANGE');
  });
});

describe('obj', () => {
  const point = obj({ x: int(), y: int(), label: optional(str({ max: 8 })) });

  it('returns a fresh object of the declared fields only', () => {
    const input = { y: 2, x: 1 };
    const out = valueOf(point, input);
    expect(out).toEqual({ x: 1, y: 2 });
    expect(out).not.toBe(input);
    expect(Object.keys(out)).toEqual(['x', 'y']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('reports unknown keys before missing ones, and names them', () => {
    expect(errorOf(point, { x: 1, why: 2 })).toEqual({ code: 'E_UNKNOWN_FIELD', path: 'why' });
    expect(errorOf(point, { x: 1 })).toEqual({ code: 'E_REQUIRED', path: 'y' });
    expect(errorOf(point, { x: 1, 'a b': 2 })).toEqual({ code: 'E_UNKNOWN_FIELD', path: '["a b"]' });
    expect(errorOf(point, { x: 1, ['k'.repeat(100)]: 2 })?.path).toBe(`[${JSON.stringify('k'.repeat(64) + '...')}]`);
  });

  it('treats __proto__ and constructor keys from JSON as unknown fields', () => {
    expect(errorOf(point, JSON.parse('{"x":1,"y":2,"__proto__":{"x":5}}'))).toEqual({ code: 'E_UNKNOWN_FIELD', path: '__proto__' });
    expect(errorOf(point, JSON.parse('{"x":1,"y":2,"constructor":{}}'))).toEqual({ code: 'E_UNKNOWN_FIELD', path: 'constructor' });
    expect(({} as { x?: unknown }).x).toBeUndefined();
  });

  it('accepts null-prototype objects and refuses other objects', () => {
    expect(valueOf(point, Object.assign(Object.create(null), { x: 1, y: 2 }))).toEqual({ x: 1, y: 2 });
    for (const bad of [null, [], [1, 2], new Date(), new Map(), new (class P { x = 1; y = 2; })(), Object.create({ x: 1, y: 2 }), 'x']) {
      expect(errorOf(point, bad)?.code).toBe('E_TYPE');
    }
  });

  it('never runs getters and survives throwing proxies', () => {
    let ran = false;
    const sneaky = { x: 1 } as Record<string, unknown>;
    Object.defineProperty(sneaky, 'y', { enumerable: true, get: () => ((ran = true), 2) });
    expect(errorOf(point, sneaky)).toEqual({ code: 'E_TYPE', path: 'y' });
    expect(ran).toBe(false);
    const trap = new Proxy({ x: 1, y: 2 }, { getOwnPropertyDescriptor: () => { throw new Error('trap'); } });
    expect(errorOf(point, trap)?.code).toBe('E_TYPE');
  });

  it('ignores symbol and non-enumerable keys, and undefined values of optional fields', () => {
    const input = { x: 1, y: 2, label: undefined, [Symbol('s')]: 1 };
    Object.defineProperty(input, 'hidden', { enumerable: false, value: 1 });
    expect(valueOf(point, input)).toEqual({ x: 1, y: 2 });
    expect(errorOf(point, { x: 1, y: undefined })).toEqual({ code: 'E_REQUIRED', path: 'y' });
  });

  it('infers optional keys in its type', () => {
    const p: Infer<typeof point> = { x: 1, y: 2 };
    expect(p.label).toBeUndefined();
  });
});

describe('arr', () => {
  const ids = arr(str({ max: 4 }), { min: 1, max: 3, unique: { key: (s) => s } });

  it('checks length before items, then each item with its index', () => {
    expect(valueOf(ids, ['a', 'b'])).toEqual(['a', 'b']);
    expect(errorOf(ids, [])).toEqual({ code: 'E_LENGTH', path: '' });
    expect(errorOf(ids, ['a', 'b', 'c', 'd'])).toEqual({ code: 'E_LENGTH', path: '' });
    expect(errorOf(ids, ['a', 5])).toEqual({ code: 'E_TYPE', path: '[1]' });
    expect(errorOf(ids, ['a', 'a'])).toEqual({ code: 'E_DUPLICATE', path: '[1]' });
    expect(errorOf(ids, { 0: 'a', length: 1 })?.code).toBe('E_TYPE');
  });

  it('rejects huge and sparse arrays cheaply', () => {
    expect(errorOf(ids, new Array(2 ** 32 - 1))).toEqual({ code: 'E_LENGTH', path: '' });
    expect(errorOf(ids, ['a', , 'b'])).toEqual({ code: 'E_TYPE', path: '[1]' });
  });

  it('names the duplicated field inside an item', () => {
    const gates = arr(obj({ id: str({ max: 4 }) }), { max: 4, unique: { key: (g) => g.id, field: 'id' } });
    expect(errorOf(gates, [{ id: 'a' }, { id: 'b' }, { id: 'a' }])).toEqual({ code: 'E_DUPLICATE', path: '[2].id' });
  });
});

describe('record', () => {
  const args = record(str({ min: 1, max: 16, pattern: /^[a-z]+$/ }), str({ max: 8 }), { max: 2 });

  it('checks keys, values and count, and copies safely', () => {
    expect(valueOf(args, { a: 'x' })).toEqual({ a: 'x' });
    expect(errorOf(args, { a: 'x', b: 'y', c: 'z' })).toEqual({ code: 'E_LENGTH', path: '' });
    expect(errorOf(args, { A: 'x' })).toEqual({ code: 'E_FORMAT', path: 'A' });
    expect(errorOf(args, { a: 1 })).toEqual({ code: 'E_TYPE', path: 'a' });
    expect(errorOf(args, JSON.parse('{"__proto__":"x"}'))).toEqual({ code: 'E_FORMAT', path: '__proto__' });
    const constructorKey = valueOf(args, { constructor: 'x' });
    expect(Object.getOwnPropertyDescriptor(constructorKey, 'constructor')?.value).toBe('x');
  });
});

describe('union', () => {
  const shape = union('kind', [obj({ kind: literal('circle'), r: int() }), obj({ kind: literal('square'), side: int() })], 'E_UNKNOWN_TYPE');

  it('picks the case by its tag', () => {
    expect(valueOf(shape, { kind: 'circle', r: 1 })).toEqual({ kind: 'circle', r: 1 });
    expect(errorOf(shape, { kind: 'square', r: 1 })).toEqual({ code: 'E_UNKNOWN_FIELD', path: 'r' });
    expect(errorOf(shape, { kind: 'hexagon' })).toEqual({ code: 'E_UNKNOWN_TYPE', path: 'kind' });
    expect(errorOf(shape, { kind: 'toString' })).toEqual({ code: 'E_UNKNOWN_TYPE', path: 'kind' });
    expect(errorOf(shape, { kind: 1 })).toEqual({ code: 'E_TYPE', path: 'kind' });
    expect(errorOf(shape, { r: 1 })).toEqual({ code: 'E_REQUIRED', path: 'kind' });
    expect(errorOf(shape, [])).toEqual({ code: 'E_TYPE', path: '' });
  });

  it('works with boolean tags', () => {
    const r = union('ok', [obj({ ok: literal(true), v: int() }), obj({ ok: literal(false), e: str({ max: 3 }) })]);
    expect(valueOf(r, { ok: false, e: 'x' })).toEqual({ ok: false, e: 'x' });
    expect(errorOf(r, { ok: 'true', v: 1 })).toEqual({ code: 'E_TYPE', path: 'ok' });
  });
});

describe('json', () => {
  const data = json({ maxDepth: 3, maxLength: 100 });

  it('copies any JSON value within its limits', () => {
    const input = { a: [1, 'x', null, true, { b: -0 }] };
    const out = valueOf(data, input);
    expect(out).toEqual({ a: [1, 'x', null, true, { b: 0 }] });
    expect(out).not.toBe(input);
  });

  it('bounds depth and size', () => {
    expect(valueOf(data, [[[1]]])).toEqual([[[1]]]);
    expect(errorOf(data, [[[[1]]]])).toEqual({ code: 'E_DEPTH', path: '[0][0][0]' });
    expect(errorOf(data, 'x'.repeat(101))?.code).toBe('E_LENGTH');
    expect(errorOf(data, ['\u0000'.repeat(30)])?.code).toBe('E_LENGTH'); // escapes count in the text
    expect(errorOf(data, new Array(1e6).fill(0))?.code).toBe('E_LENGTH');
  });

  it('refuses what JSON cannot carry', () => {
    for (const bad of [undefined, NaN, Infinity, 1n, () => 1, Symbol('s'), new Date(), [undefined], 'a\ud800']) {
      expect(errorOf(data, bad), String(bad)).toBeDefined();
    }
    expect(errorOf(data, JSON.parse('{"__proto__":1}'))).toEqual({ code: 'E_FORMAT', path: '__proto__' });
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(errorOf(data, cyclic)?.code).toBe('E_DEPTH');
  });
});
