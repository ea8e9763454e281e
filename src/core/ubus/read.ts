/**
 * Readers for JSON that ubus prints. They build on the protocol's schema module but, unlike its
 * `obj`, ignore keys they do not declare: netifd and procd add fields from release to release,
 * and a field the agent does not use must never make an answer unreadable.
 */
import { formatIp, parseIp, type IpFamily } from '../net/ip.ts';
import { fail, ok, type CoreError, type Result } from '../result.ts';
import { Code, failAt, isPlainObject, keyPath, put, typeName } from '../protocol/schema.ts';
import type { ObjOf, Schema, Shape } from '../protocol/schema.ts';

export const UbusCode = {
  /** `ubus` exited with a non-zero code or was killed. */
  EXIT: 'E_UBUS_EXIT',
  /** `ubus` did not finish in time and was killed. */
  TIMEOUT: 'E_UBUS_TIMEOUT',
  /** Its output is not JSON. */
  JSON: 'E_UBUS_JSON',
  /** Its output is JSON of an unexpected shape. */
  SHAPE: 'E_UBUS_SHAPE',
  /** An object, method or argument the agent asked for cannot be passed to `ubus`. */
  ARG: 'E_UBUS_ARG',
  /** The interface report could not be built (conflicting roles, or it fails the protocol schema). */
  REPORT: 'E_UBUS_REPORT',
} as const;

/** Like the schema's `obj`, but keys not in `shape` are skipped rather than refused. */
export function loose<const S extends Shape>(shape: S): Schema<ObjOf<S>> {
  const keys = Object.keys(shape);
  return {
    check(input, path) {
      if (!isPlainObject(input)) return failAt(Code.TYPE, `expected an object, got ${typeName(input)}`, path);
      const out = {};
      for (const key of keys) {
        const field = shape[key] as Schema<unknown> & { optional?: true };
        const at = keyPath(path, key);
        const d = Object.getOwnPropertyDescriptor(input, key);
        if (d === undefined || !d.enumerable || ('value' in d && d.value === undefined)) {
          if (field.optional === true) continue;
          return failAt(Code.REQUIRED, `missing required field ${key}`, at);
        }
        if (!('value' in d)) return failAt(Code.TYPE, 'accessor properties are not data', at);
        const r = field.check(d.value, at);
        if (!r.ok) return r;
        put(out, key, r.value);
      }
      return ok(out as ObjOf<S>);
    },
  };
}

/** An address of one family, returned in canonical (RFC 5952) text. */
export function ipOf(family: IpFamily): Schema<string> {
  return {
    check(input, path) {
      if (typeof input !== 'string') return failAt(Code.TYPE, `expected an address string, got ${typeName(input)}`, path);
      const r = input.length <= 64 ? parseIp(input) : null;
      if (r === null || !r.ok) return failAt(Code.FORMAT, `not an IPv${family} address`, path);
      if (r.value.family !== family) return failAt(Code.FAMILY, `expected an IPv${family} address`, path);
      return ok(formatIp(r.value));
    },
  };
}

/**
 * Runs `schema` over a value ubus printed, found at `root` (`''` for the whole answer); any
 * failure, even a throwing exotic object, becomes E_UBUS_SHAPE naming `what` and the path.
 */
export function readAs<T>(schema: Schema<T>, input: unknown, what: string, root = ''): Result<T> {
  let r: Result<T>;
  try {
    r = schema.check(input, root);
  } catch {
    r = failAt(Code.TYPE, 'value could not be inspected', root);
  }
  if (r.ok) return r;
  const path = r.error.path ?? root;
  const error: CoreError = { code: UbusCode.SHAPE, message: `${what}: ${r.error.message}${path ? ` at ${path}` : ''}`, path };
  return fail(error);
}
