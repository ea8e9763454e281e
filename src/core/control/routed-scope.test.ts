import { describe, expect, it } from 'vitest';
import { parseIp } from '../net/ip.ts';
import { addRoutedScope, isMember, parseRoutedScope, prefixText, scopeOf, type RoutedScope } from './routed-scope.ts';

const parsed = (text: string): RoutedScope => {
  const r = parseRoutedScope(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const ip = (text: string) => {
  const r = parseIp(text);
  if (!r.ok) throw new Error(text);
  return r.value;
};

describe('routed scope declarations', () => {
  it('reads a name, private prefixes of both families and optional device ids', () => {
    const all = parsed('corp=10.0.0.0/8,172.16.0.0/12,fd00:c0::/32');
    expect(all.name).toBe('corp');
    expect(all.prefixes.map(prefixText)).toEqual(['10.0.0.0/8', '172.16.0.0/12', 'fd00:c0::/32']);
    expect(all.devices).toBeNull();
    expect(parsed('corp=100.64.0.0/10@office-*,hq').devices).toEqual(['office-*', 'hq']);
  });

  it('refuses public or link-local space, host bits, bad lengths, overlaps within one scope and bad ids', () => {
    for (const text of [
      'corp=198.51.100.0/24',
      'corp=10.0.0.0/7',
      'corp=169.254.0.0/16',
      'corp=10.0.0.1/8',
      'corp=2001:db8::/32',
      'corp=10.0.0.0/8,10.1.0.0/16',
      'corp=10.0.0.0/33',
      'corp=10.0.0.0',
      'c/rp=10.0.0.0/8',
      'corp=10.0.0.0/8@a/b',
      'corp=10.0.0.0/8@',
      '=10.0.0.0/8',
    ]) {
      expect(parseRoutedScope(text), text).toMatchObject({ ok: false, error: { code: 'E_SCOPE' } });
    }
  });

  it('never lets two scopes share address space or a name', () => {
    const one = addRoutedScope([], parsed('a=10.1.0.0/16'));
    if (!one.ok) throw new Error('refused');
    expect(addRoutedScope(one.value, parsed('b=10.0.0.0/8'))).toMatchObject({ ok: false, error: { message: 'routed scopes a and b share address space: 10.0.0.0/8 overlaps 10.1.0.0/16' } });
    expect(addRoutedScope(one.value, parsed('a=10.2.0.0/16'))).toMatchObject({ ok: false });
    const two = addRoutedScope(one.value, parsed('b=10.2.0.0/16'));
    expect(two.ok && two.value.map((s) => s.name)).toEqual(['a', 'b']);
    if (!two.ok) return;
    expect(scopeOf(two.value, ip('10.2.3.4'))?.name).toBe('b');
    expect(scopeOf(two.value, ip('10.3.3.4'))).toBeUndefined();
  });

  it('takes every router without a device list, else the ids listed, a trailing * matching any rest', () => {
    expect(isMember(parsed('c=10.0.0.0/8'), 'anything')).toBe(true);
    const some = parsed('c=10.0.0.0/8@office-*,hq');
    expect(['office-1', 'office-', 'hq', 'hq2', 'home-1'].map((d) => isMember(some, d))).toEqual([true, true, true, false, false]);
  });
});
