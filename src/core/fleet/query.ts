/**
 * Query-string schemas shared by the API's route modules (api.ts and the modules whose routes it
 * lists, which cannot import values from it without a cycle).
 */
import { Code, failAt, int, typeName, type JsonSchema, type Schema } from '../protocol/schema.ts';

/**
 * A query-string integer: query values arrive as text, so this takes decimal digits (or a JSON
 * number, for callers that pass one) and yields a number in `min..max`.
 */
export function queryInt(options: { readonly min: number; readonly max: number }): Schema<number> & { readonly jsonSchema: JsonSchema } {
  const inner = int(options);
  return {
    jsonSchema: { type: 'integer', minimum: options.min, maximum: options.max },
    check(input, path) {
      if (typeof input === 'number') return inner.check(input, path);
      if (typeof input !== 'string') return failAt(Code.TYPE, `expected an integer, got ${typeName(input)}`, path);
      if (!/^-?[0-9]{1,16}$/.test(input)) return failAt(Code.TYPE, 'expected an integer', path);
      return inner.check(Number(input), path);
    },
  };
}
