import { describe, expect, it } from 'vitest';
import type { ConfigSection } from '../protocol/messages/config.ts';
import { diffConfig } from './config-diff.ts';

const s = (type: string, name: string | null, options: Record<string, string>, lists: Record<string, string[]> = {}): ConfigSection => ({ type, name, options, lists });

describe('diffConfig', () => {
  it('is empty between equal versions', () => {
    const v = [s('qos', 'qos', { a: '1' }), s('gate', null, { r: '1' })];
    expect(diffConfig(v, v)).toEqual([]);
  });

  it('lists option changes, additions and removals by path', () => {
    const before = [s('qos', 'qos', { uplink_kbit: '1000', queue_backend: 'auto' }, { l: ['a'] })];
    const after = [s('qos', 'qos', { uplink_kbit: '2000', ef_budget_percent: '40' }, { l: ['a', 'b'] })];
    expect(diffConfig(before, after)).toEqual([
      { kind: 'added', path: 'qos.ef_budget_percent', before: null, after: '40' },
      { kind: 'changed', path: 'qos.uplink_kbit', before: '1000', after: '2000' },
      { kind: 'changed', path: 'qos.l', before: ['a'], after: ['a', 'b'] },
      { kind: 'removed', path: 'qos.queue_backend', before: 'auto', after: null },
    ]);
  });

  it('adds and removes whole sections, anonymous ones matched by position, named ones by name', () => {
    const before = [s('gate', 'phone', { r: '1' }), s('gate', null, { r: '2' })];
    const after = [s('gate', null, { r: '3' }), s('gate', null, { r: '4' })];
    expect(diffConfig(before, after)).toEqual([
      { kind: 'changed', path: 'gate[0].r', before: '2', after: '3' },
      { kind: 'added', path: 'gate[1]', before: null, after: 'gate' },
      { kind: 'added', path: 'gate[1].r', before: null, after: '4' },
      { kind: 'removed', path: 'gate[0]', before: "gate 'phone'", after: null },
      { kind: 'removed', path: 'gate[0].r', before: '1', after: null },
    ]);
  });
});
