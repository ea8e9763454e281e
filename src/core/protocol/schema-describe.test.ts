import { describe as group, it, expect } from 'vitest';
import { arr, bool, describe, int, json, literal, nullable, num, obj, oneOf, optional, record, refine, str, union, validate } from './schema.ts';

group('describe: JSON Schema of the core schemas', () => {
  it('primitives carry their type, bounds, pattern and enumeration', () => {
    expect(describe(str({ min: 1, max: 8, pattern: /^[a-z]+$/, format: 'name' }))).toEqual({
      type: 'string', minLength: 1, maxLength: 8, pattern: '^[a-z]+$', description: 'name',
    });
    expect(describe(int({ min: 0, max: 9 }))).toEqual({ type: 'integer', minimum: 0, maximum: 9 });
    expect(describe(num({ min: 0.5, max: 2 }))).toEqual({ type: 'number', minimum: 0.5, maximum: 2 });
    expect(describe(bool())).toEqual({ type: 'boolean' });
    expect(describe(literal('x'))).toEqual({ const: 'x' });
    expect(describe(oneOf(['a', 'b']))).toEqual({ enum: ['a', 'b'] });
  });

  it('objects list properties, required keys and refuse unknown ones, as the validator does', () => {
    const s = obj({ a: str({ max: 3 }), b: optional(int({ min: 1, max: 2 })), c: nullable(bool()) });
    expect(describe(s)).toEqual({
      type: 'object',
      properties: {
        a: { type: 'string', minLength: 0, maxLength: 3 },
        b: { type: 'integer', minimum: 1, maximum: 2 },
        c: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
      },
      required: ['a', 'c'],
      additionalProperties: false,
    });
    // The description and the validator agree on what is required and what is unknown.
    expect(validate(s, { a: 'x', c: null }).ok).toBe(true);
    expect(validate(s, { a: 'x' }).ok).toBe(false);
    expect(validate(s, { a: 'x', c: true, d: 1 }).ok).toBe(false);
  });

  it('arrays, records, unions, refinements and free JSON', () => {
    expect(describe(arr(int({ min: 0, max: 1 }), { min: 1, max: 4, unique: { key: (v) => v } }))).toEqual({
      type: 'array', items: { type: 'integer', minimum: 0, maximum: 1 }, minItems: 1, maxItems: 4, uniqueItems: true,
    });
    expect(describe(record(str({ max: 2 }), bool(), { max: 5 }))).toEqual({
      type: 'object', propertyNames: { type: 'string', minLength: 0, maxLength: 2 }, additionalProperties: { type: 'boolean' }, maxProperties: 5,
    });
    const u = union('t', [obj({ t: literal('a') }), obj({ t: literal('b'), n: int({ min: 0, max: 1 }) })]);
    const doc = describe(u) as { oneOf: { properties: { t: unknown } }[] };
    expect(doc.oneOf.map((c) => c.properties.t)).toEqual([{ const: 'a' }, { const: 'b' }]);
    const even = refine(int({ min: 0, max: 10 }), (v, path) => (v % 2 === 0 ? undefined : { code: 'E_RANGE', message: 'odd', path }));
    expect(describe(even)).toEqual({ type: 'integer', minimum: 0, maximum: 10 });
    expect(even.check(3, '').ok).toBe(false);
    expect(typeof describe(json({ maxDepth: 2, maxLength: 10 })).description).toBe('string');
  });

  it('a hand-written schema without a description describes as anything', () => {
    expect(describe({ check: (v: unknown) => ({ ok: true as const, value: v }) })).toEqual({});
  });

  it('optional keeps the check and marks the field optional', () => {
    const o = optional(str({ max: 1 }));
    expect(o.optional).toBe(true);
    expect(o.check('ab', 'x').ok).toBe(false);
    expect(describe(o)).toEqual({ type: 'string', minLength: 0, maxLength: 1 });
  });
});
