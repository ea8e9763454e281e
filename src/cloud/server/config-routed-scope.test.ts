import { describe, expect, it } from 'vitest';
import { parseServerArgs } from './config.ts';

describe('--routed-scope', () => {
  it('declares no scope by default, and one per option', () => {
    expect(parseServerArgs([])).toMatchObject({ ok: true, value: { routedScopes: [] } });
    const r = parseServerArgs(['--routed-scope', 'corp=10.0.0.0/8,fd00:c0::/32', '--routed-scope', 'lab=172.16.0.0/12@lab-*']);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.routedScopes.map((s) => [s.name, s.prefixes.length, s.devices])).toEqual([['corp', 2, null], ['lab', 1, ['lab-*']]]);
  });

  it('names the option for a public prefix, a malformed value or two scopes sharing space', () => {
    for (const argv of [['--routed-scope', 'corp=198.51.100.0/24'], ['--routed-scope', 'corp'], ['--routed-scope', 'a=10.0.0.0/8', '--routed-scope', 'b=10.1.0.0/16']]) {
      expect(parseServerArgs(argv)).toMatchObject({ ok: false, error: { code: 'E_ARGS', path: '--routed-scope', message: expect.stringMatching(/^--routed-scope: /) } });
    }
  });
});
