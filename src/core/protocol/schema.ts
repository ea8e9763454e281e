/**
 * schema: a small declarative validator for untrusted JSON-shaped input.
 *
 * A schema checks a value and returns a fresh copy built only from the fields it validated, or
 * the first error found as `{code, message, path}`. Checking never throws, whatever the input:
 * non-plain objects, accessors, sparse arrays, NaN, `__proto__` keys. Objects reject unknown keys
 * before looking at their declared fields, so a misspelt key is reported as itself rather than as
 * a missing field. Copies are made with defineProperty, so no input key can reach a prototype.
 */
import { ok, fail, type CoreError, type Result } from '../result.ts';

/** Stable error codes: callers match on these, never on messages. */
export const Code = {
  JSON: 'E_JSON',
  TOO_LARGE: 'E_TOO_LARGE',
  TYPE: 'E_TYPE',
  REQUIRED: 'E_REQUIRED',
  UNKNOWN_FIELD: 'E_UNKNOWN_FIELD',
  RANGE: 'E_RANGE',
  LENGTH: 'E_LENGTH',
  FORMAT: 'E_FORMAT',
  ENUM: 'E_ENUM',
  DEPTH: 'E_DEPTH',
  DUPLICATE: 'E_DUPLICATE',
  FAMILY: 'E_FAMILY',
  VERSION: 'E_VERSION',
  UNKNOWN_TYPE: 'E_UNKNOWN_TYPE',
} as const;
export type ErrorCode = (typeof Code)[keyof typeof Code];

export interface Schema<T> {
  /** Validates `input` found at `path` (`''` for the root). */
  readonly check: (input: unknown, path: string) => Result<T>;
  /**
   * What the schema accepts as JSON Schema (2020-12), for documents such as OpenAPI; see `describe`.
   * Containers compute it when read, so that a router loading its schemas builds none of it.
   */
  readonly jsonSchema?: JsonSchema;
}
/** A JSON Schema (2020-12) object, as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };
/** A field that may be absent from its object. */
export interface OptionalSchema<T> extends Schema<T> {
  readonly optional: true;
}
export interface LiteralSchema<V extends string | number | boolean> extends Schema<V> {
  readonly value: V;
}
export type Shape = { readonly [key: string]: Schema<unknown> };
export interface ObjSchema<S extends Shape> extends Schema<ObjOf<S>> {
  readonly shape: S;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never;
}[keyof S];
export type ObjOf<S extends Shape> = Simplify<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
    [K in OptionalKeys<S>]?: Infer<S[K]>;
  }
>;

export const MAX_SAFE = 9007199254740991;

/** Runs a schema on a root value; also turns anything an exotic object (a Proxy) throws into an error. */
export function validate<T>(schema: Schema<T>, input: unknown): Result<T> {
  try {
    return schema.check(input, '');
  } catch {
    return failAt(Code.TYPE, 'value could not be inspected', '');
  }
}

export function failAt(code: string, message: string, path: string): Result<never> {
  const error: CoreError = { code, message, path };
  return fail(error);
}

// ---- paths and safe property access -------------------------------------------------------

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `body` + `gates` -> `body.gates`; odd keys are quoted and long ones cut, so paths stay short. */
export function keyPath(path: string, key: string): string {
  if (IDENT.test(key) && key.length <= 64) return path === '' ? key : `${path}.${key}`;
  const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
  return `${path}[${JSON.stringify(shown)}]`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Defines an own data property even for keys such as `__proto__`, never calling a setter. */
export function put(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/** Plain objects only: a Date, Map or class instance is not a JSON object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

type Slot = { present: false } | { present: true; value: unknown } | { present: true; error: true };
const ABSENT: Slot = { present: false };

/** Reads an own enumerable data property without running getters. */
function readOwn(target: object, key: string): Slot {
  const d = Object.getOwnPropertyDescriptor(target, key);
  if (d === undefined || !d.enumerable) return ABSENT;
  if (!('value' in d)) return { present: true, error: true };
  return d.value === undefined ? ABSENT : { present: true, value: d.value };
}

/** Any UTF-16 string with a lone surrogate cannot be sent as UTF-8 over MQTT. */
export function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return false;
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

// ---- primitives ----------------------------------------------------------------------------

export interface StrOptions {
  readonly min?: number;
  /** Required: every string on the wire is bounded. Counted in UTF-16 code units. */
  readonly max: number;
  /** Anchored pattern; tested only after the length check, so its cost is bounded. */
  readonly pattern?: RegExp;
  /** What the pattern means, for messages: "device id". */
  readonly format?: string;
}

export function str(options: StrOptions): Schema<string> {
  const min = options.min ?? 0;
  const doc: Record<string, unknown> = { type: 'string', minLength: min, maxLength: options.max };
  if (options.pattern !== undefined) doc['pattern'] = options.pattern.source;
  if (options.format !== undefined) doc['description'] = options.format;
  return {
    jsonSchema: doc,
    check(input, path) {
      if (typeof input !== 'string') return failAt(Code.TYPE, `expected a string, got ${typeName(input)}`, path);
      if (input.length < min || input.length > options.max) {
        return failAt(Code.LENGTH, `length ${input.length} is outside ${min}..${options.max}`, path);
      }
      if (!isWellFormed(input)) return failAt(Code.FORMAT, 'string contains a lone surrogate', path);
      if (options.pattern !== undefined && !options.pattern.test(input)) {
        return failAt(Code.FORMAT, `not a valid ${options.format ?? 'value'}`, path);
      }
      return ok(input);
    },
  };
}

export interface NumOptions {
  readonly min?: number;
  readonly max?: number;
}

function number(integer: boolean, options: NumOptions): Schema<number> {
  const min = options.min ?? -MAX_SAFE;
  const max = options.max ?? MAX_SAFE;
  const kind = integer ? 'an integer' : 'a finite number';
  return {
    jsonSchema: { type: integer ? 'integer' : 'number', minimum: min, maximum: max },
    check(input, path) {
      if (typeof input !== 'number' || !Number.isFinite(input) || (integer && !Number.isInteger(input))) {
        return failAt(Code.TYPE, `expected ${kind}, got ${typeName(input)}`, path);
      }
      if (input < min || input > max) return failAt(Code.RANGE, `${input} is outside ${min}..${max}`, path);
      return ok(input === 0 ? 0 : input); // -0 becomes 0: JSON cannot tell them apart
    },
  };
}

export function int(options: NumOptions = {}): Schema<number> {
  return number(true, options);
}

export function num(options: NumOptions = {}): Schema<number> {
  return number(false, options);
}

export function bool(): Schema<boolean> {
  return {
    jsonSchema: { type: 'boolean' },
    check(input, path) {
      return typeof input === 'boolean' ? ok(input) : failAt(Code.TYPE, `expected a boolean, got ${typeName(input)}`, path);
    },
  };
}

/** Exactly one value. A mismatch is `code`; with the default E_ENUM, a value of another type is E_TYPE. */
export function literal<const V extends string | number | boolean>(value: V, code: string = Code.ENUM): LiteralSchema<V> {
  return {
    value,
    jsonSchema: { const: value },
    check(input, path) {
      if (input === value) return ok(value);
      if (typeof input !== typeof value) {
        return failAt(code === Code.ENUM ? Code.TYPE : code, `expected ${JSON.stringify(value)}, got ${typeName(input)}`, path);
      }
      return failAt(code, `expected ${JSON.stringify(value)}`, path);
    },
  };
}

/** An enumeration of strings or numbers. */
export function oneOf<const V extends string | number>(values: readonly V[]): Schema<V> {
  const kind = typeof values[0];
  return {
    jsonSchema: { enum: [...values] },
    check(input, path) {
      if (typeof input !== kind) return failAt(Code.TYPE, `expected a ${kind}, got ${typeName(input)}`, path);
      if (!(values as readonly unknown[]).includes(input)) {
        return failAt(Code.ENUM, `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, path);
      }
      return ok(input as V);
    },
  };
}

// ---- modifiers -----------------------------------------------------------------------------

export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return {
    check: schema.check,
    optional: true,
    get jsonSchema() {
      return schema.jsonSchema;
    },
  };
}

export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return {
    get jsonSchema(): JsonSchema {
      return { anyOf: [describe(schema), { type: 'null' }] };
    },
    check(input, path) {
      return input === null ? ok(null) : schema.check(input, path);
    },
  };
}

/** Adds a check over an already validated value; `rule` returns an error or undefined. */
export function refine<T>(schema: Schema<T>, rule: (value: T, path: string) => CoreError | undefined): Schema<T> {
  return {
    get jsonSchema() {
      return schema.jsonSchema;
    },
    check(input, path) {
      const r = schema.check(input, path);
      if (!r.ok) return r;
      const error = rule(r.value, path);
      return error === undefined ? r : fail(error);
    },
  };
}

// ---- containers ----------------------------------------------------------------------------

/** A JSON object with exactly the declared keys; keys wrapped in `optional` may be absent. */
export function obj<const S extends Shape>(shape: S): ObjSchema<S> {
  const keys = Object.keys(shape);
  const known = new Set(keys);
  return {
    shape,
    get jsonSchema(): JsonSchema {
      return describeObject(shape);
    },
    check(input, path) {
      if (!isPlainObject(input)) return failAt(Code.TYPE, `expected an object, got ${typeName(input)}`, path);
      for (const key of Object.keys(input)) {
        if (!known.has(key)) return failAt(Code.UNKNOWN_FIELD, `unknown field ${JSON.stringify(key.slice(0, 64))}`, keyPath(path, key));
      }
      const out = {};
      for (const key of keys) {
        const field = shape[key] as Schema<unknown> & { optional?: true };
        const at = keyPath(path, key);
        const slot = readOwn(input, key);
        if (!slot.present) {
          if (field.optional === true) continue;
          return failAt(Code.REQUIRED, `missing required field ${key}`, at);
        }
        if ('error' in slot) return failAt(Code.TYPE, 'accessor properties are not data', at);
        const r = field.check(slot.value, at);
        if (!r.ok) return r;
        put(out, key, r.value);
      }
      return ok(out as ObjOf<S>);
    },
  };
}

export interface ArrOptions<T> {
  readonly min?: number;
  readonly max: number;
  /** Items must differ in this key; `field` names where the key sits inside an item, e.g. `id`. */
  readonly unique?: { readonly key: (item: T) => string | number; readonly field?: string };
}

export function arr<T>(item: Schema<T>, options: ArrOptions<T>): Schema<T[]> {
  const min = options.min ?? 0;
  const unique = options.unique;
  return {
    get jsonSchema(): JsonSchema {
      return { type: 'array', items: describe(item), minItems: min, maxItems: options.max, ...(unique === undefined ? {} : { uniqueItems: true }) };
    },
    check(input, path) {
      if (!Array.isArray(input)) return failAt(Code.TYPE, `expected an array, got ${typeName(input)}`, path);
      const length = input.length;
      if (length < min || length > options.max) {
        return failAt(Code.LENGTH, `${length} items is outside ${min}..${options.max}`, path);
      }
      const out: T[] = [];
      const seen = unique === undefined ? undefined : new Set<string | number>();
      for (let i = 0; i < length; i++) {
        const at = indexPath(path, i);
        const d = Object.getOwnPropertyDescriptor(input, i);
        if (d === undefined) return failAt(Code.TYPE, 'arrays must not have holes', at);
        if (!('value' in d)) return failAt(Code.TYPE, 'accessor properties are not data', at);
        const r = item.check(d.value, at);
        if (!r.ok) return r;
        if (seen !== undefined && unique !== undefined) {
          const key = unique.key(r.value);
          if (seen.has(key)) {
            const where = unique.field === undefined ? at : keyPath(at, unique.field);
            return failAt(Code.DUPLICATE, `duplicate ${JSON.stringify(key)}`, where);
          }
          seen.add(key);
        }
        out.push(r.value);
      }
      return ok(out);
    },
  };
}

export interface RecordOptions {
  readonly max: number;
}

/** An object used as a map: keys checked by `key`, any count up to `max`. */
export function record<V>(key: Schema<string>, value: Schema<V>, options: RecordOptions): Schema<Record<string, V>> {
  return {
    get jsonSchema(): JsonSchema {
      return { type: 'object', propertyNames: describe(key), additionalProperties: describe(value), maxProperties: options.max };
    },
    check(input, path) {
      if (!isPlainObject(input)) return failAt(Code.TYPE, `expected an object, got ${typeName(input)}`, path);
      const keys = Object.keys(input);
      if (keys.length > options.max) return failAt(Code.LENGTH, `${keys.length} keys is more than ${options.max}`, path);
      const out: Record<string, V> = {};
      for (const k of keys) {
        const at = keyPath(path, k);
        if (k === '__proto__') return failAt(Code.FORMAT, 'key __proto__ is not allowed', at);
        const kr = key.check(k, at);
        if (!kr.ok) return kr;
        const slot = readOwn(input, k);
        if (!slot.present) continue;
        if ('error' in slot) return failAt(Code.TYPE, 'accessor properties are not data', at);
        const vr = value.check(slot.value, at);
        if (!vr.ok) return vr;
        put(out, k, vr.value);
      }
      return ok(out);
    },
  };
}

/**
 * A union of object schemas told apart by the literal in field `tag` (checked first, so the
 * error names the tag, not a field of a guessed case). An unknown tag value is `unknownCode`.
 */
export function union<const C extends readonly ObjSchema<Shape>[]>(
  tag: string,
  cases: C,
  unknownCode: string = Code.ENUM,
): Schema<Infer<C[number]>> {
  const byTag = new Map<unknown, Schema<unknown>>();
  for (const c of cases) byTag.set((c.shape[tag] as LiteralSchema<string | number | boolean>).value, c);
  const kind = typeof (cases[0]?.shape[tag] as LiteralSchema<string> | undefined)?.value;
  return {
    get jsonSchema(): JsonSchema {
      return { oneOf: cases.map((c) => describe(c)) };
    },
    check(input, path) {
      if (!isPlainObject(input)) return failAt(Code.TYPE, `expected an object, got ${typeName(input)}`, path);
      const at = keyPath(path, tag);
      const slot = readOwn(input, tag);
      if (!slot.present) return failAt(Code.REQUIRED, `missing required field ${tag}`, at);
      if ('error' in slot) return failAt(Code.TYPE, 'accessor properties are not data', at);
      if (typeof slot.value !== kind) return failAt(Code.TYPE, `expected a ${kind}, got ${typeName(slot.value)}`, at);
      const chosen = byTag.get(slot.value);
      if (chosen === undefined) return failAt(unknownCode, `unknown ${tag} ${JSON.stringify(slot.value)}`.slice(0, 200), at);
      return chosen.check(input, path) as Result<Infer<C[number]>>;
    },
  };
}

// ---- free-form JSON ------------------------------------------------------------------------

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonOptions {
  /** Nesting depth allowed below this value. */
  readonly maxDepth: number;
  /** Limit on the value's JSON text, in UTF-16 code units. */
  readonly maxLength: number;
}

/** Any JSON value, copied; bounded in depth and size so it cannot exhaust a small router. */
export function json(options: JsonOptions): Schema<JsonValue> {
  return {
    jsonSchema: { description: `any JSON value, nested at most ${options.maxDepth} deep, at most ${options.maxLength} characters as JSON` },
    check(input, path) {
      const budget = { left: options.maxLength };
      const r = copyJson(input, path, 0, options.maxDepth, budget);
      if (!r.ok) return r;
      const length = JSON.stringify(r.value).length;
      if (length > options.maxLength) return failAt(Code.LENGTH, `JSON text of ${length} is more than ${options.maxLength}`, path);
      return r;
    },
  };
}

/** `budget` counts at least one unit per node and string character, so huge inputs stop early. */
function copyJson(input: unknown, path: string, depth: number, maxDepth: number, budget: { left: number }): Result<JsonValue> {
  if (--budget.left < 0) return failAt(Code.LENGTH, 'value is too large', path);
  if (input === null || typeof input === 'boolean') return ok(input);
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return failAt(Code.TYPE, `expected a JSON value, got ${typeName(input)}`, path);
    return ok(input === 0 ? 0 : input);
  }
  if (typeof input === 'string') {
    budget.left -= input.length;
    if (budget.left < 0) return failAt(Code.LENGTH, 'value is too large', path);
    return isWellFormed(input) ? ok(input) : failAt(Code.FORMAT, 'string contains a lone surrogate', path);
  }
  if (depth >= maxDepth) return failAt(Code.DEPTH, `nested deeper than ${maxDepth}`, path);
  if (Array.isArray(input)) {
    if (input.length > budget.left) return failAt(Code.LENGTH, 'value is too large', path);
    const out: JsonValue[] = [];
    for (let i = 0; i < input.length; i++) {
      const at = indexPath(path, i);
      const d = Object.getOwnPropertyDescriptor(input, i);
      if (d === undefined) return failAt(Code.TYPE, 'arrays must not have holes', at);
      if (!('value' in d)) return failAt(Code.TYPE, 'accessor properties are not data', at);
      const r = copyJson(d.value, at, depth + 1, maxDepth, budget);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return ok(out);
  }
  if (!isPlainObject(input)) return failAt(Code.TYPE, `expected a JSON value, got ${typeName(input)}`, path);
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(input)) {
    const at = keyPath(path, key);
    if (key === '__proto__') return failAt(Code.FORMAT, 'key __proto__ is not allowed', at);
    if (!isWellFormed(key)) return failAt(Code.FORMAT, 'key contains a lone surrogate', at);
    budget.left -= key.length;
    const slot = readOwn(input, key);
    if (!slot.present) continue;
    if ('error' in slot) return failAt(Code.TYPE, 'accessor properties are not data', at);
    const r = copyJson(slot.value, at, depth + 1, maxDepth, budget);
    if (!r.ok) return r;
    put(out, key, r.value);
  }
  return ok(out);
}

// ---- description ---------------------------------------------------------------------------

/**
 * The JSON Schema (2020-12, as OpenAPI 3.1 uses) of a schema built here: types, bounds, patterns,
 * enumerations, required and unknown keys. A refinement's extra rule and a hand-written schema
 * without `jsonSchema` are not expressible and describe as `{}` (anything): the validator stays
 * the authority, the description is documentation.
 */
export function describe(schema: Schema<unknown>): JsonSchema {
  return schema.jsonSchema ?? {};
}

function describeObject(shape: Shape): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const key of Object.keys(shape)) {
    const field = shape[key] as Schema<unknown> & { optional?: true };
    put(properties, key, describe(field));
    if (field.optional !== true) required.push(key);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}
