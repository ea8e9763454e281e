import { describe, expect, it } from 'vitest';
import { parseStrictJson } from './strict-json.ts';

describe('parseStrictJson', () => {
  it.each(['"\\d"', '"\\x41"', '"\\v"', "\"\\'\"", '"\\u12"', '"\\u12g4"', '-01', '[-004]', '1.', '{"a":1.e1}', '[0.]', '"a\\'])(
    'refuses %s, which QuickJS 2021-03-27 would accept',
    (text) => {
      const result = parseStrictJson(text);
      expect(result.ok ? 'accepted' : result.error.code).toBe('E_JSON');
    },
  );

  it.each([
    ['"a\\\\d"', 'a\\d'],
    ['"\\"\\/\\b\\f\\n\\r\\t\\u00e9"', '"/\b\f\n\r\t\u00e9'],
    ['-0', -0],
    ['-0.5', -0.5],
    ['10.25e-1', 1.025],
    ['{"ip":"10.0.0.1","n":-10}', { ip: '10.0.0.1', n: -10 }],
    ['"1. -01 \\\\x"', '1. -01 \\x'],
  ])('accepts %s', (text, value) => {
    expect(parseStrictJson(text)).toEqual({ ok: true, value });
  });

  it('agrees with JSON.parse on everything else', () => {
    for (const text of ['01', '+1', '.5', 'NaN', '[1,]', '{a:1}', '"\t"', '']) {
      let native = true;
      try {
        JSON.parse(text);
      } catch {
        native = false;
      }
      expect(parseStrictJson(text).ok).toBe(native);
    }
  });
});
