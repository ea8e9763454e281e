import { describe, expect, it } from 'vitest';
import { applySpec } from '../config/spec.ts';
import { AGENT_SPEC } from '../config/agent-config.ts';
import type { ConfigSection } from '../protocol/messages/config.ts';
import { canonicalConfig, configError, configHashOf, fromUciSections, normaliseSections, toUciSections, validateConfig } from './config-version.ts';

const qos = (options: Record<string, string>): ConfigSection => ({ type: 'qos', name: 'qos', options, lists: {} });
const gate = (options: Record<string, string>, name: string | null = null): ConfigSection => ({ type: 'gate', name, options, lists: {} });
const GOOD_GATE = { lan_address: '192.168.1.20', lan_port: '5060', rate_kbit: '100' };

describe('configHashOf', () => {
  it('does not depend on the order of option keys, but does on the order of sections and list items', () => {
    const a = [qos({ uplink_kbit: '1000', downlink_kbit: '5000' }), gate(GOOD_GATE)];
    const b = [qos({ downlink_kbit: '5000', uplink_kbit: '1000' }), gate({ rate_kbit: '100', lan_port: '5060', lan_address: '192.168.1.20' })];
    expect(configHashOf(a)).toBe(configHashOf(b));
    expect(configHashOf(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(configHashOf([a[1] as ConfigSection, a[0] as ConfigSection])).not.toBe(configHashOf(a));
    const l1: ConfigSection = { type: 'x', name: null, options: {}, lists: { k: ['1', '2'] } };
    const l2: ConfigSection = { type: 'x', name: null, options: {}, lists: { k: ['2', '1'] } };
    expect(configHashOf([l1])).not.toBe(configHashOf([l2]));
  });

  it('tells an option from a one-item list, and a value change from none', () => {
    const opt: ConfigSection = { type: 'x', name: 'x', options: { k: '1' }, lists: {} };
    const list: ConfigSection = { type: 'x', name: 'x', options: {}, lists: { k: ['1'] } };
    expect(configHashOf([opt])).not.toBe(configHashOf([list]));
    expect(configHashOf([qos({ uplink_kbit: '1000' })])).not.toBe(configHashOf([qos({ uplink_kbit: '1001' })]));
    expect(canonicalConfig(normaliseSections([qos({ b: '1', a: '2' })]))).toBe(canonicalConfig([qos({ a: '2', b: '1' })]));
  });
});

describe('UCI conversion', () => {
  it('names anonymous sections by position and round-trips', () => {
    const sections = [qos({ uplink_kbit: '1000' }), gate(GOOD_GATE), gate(GOOD_GATE, 'phone'), { type: 'x', name: null, options: {}, lists: { l: ['a'] } }];
    const uci = toUciSections(sections);
    expect(uci.map((s) => [s.name, s.index, s.anonymous])).toEqual([['qos', 0, false], ['@gate[0]', 0, true], ['phone', 1, false], ['@x[0]', 0, true]]);
    expect(uci[3]?.options.l).toEqual(['a']);
    expect(fromUciSections(uci)).toEqual(sections);
    // What applySpec takes from it is what the router would run.
    const applied = applySpec(toUciSections([qos({ uplink_kbit: '1000', downlink_kbit: '5000' }), gate(GOOD_GATE)]), AGENT_SPEC);
    expect(applied.ok && applied.value.values.qos.uplink_kbit).toBe(1000);
    expect(applied.ok && applied.value.values.gate.length).toBe(1);
  });
});

describe('validateConfig', () => {
  it('accepts a whole valid version', () => {
    expect(validateConfig([qos({ uplink_kbit: '1000', downlink_kbit: '5000' }), gate(GOOD_GATE)])).toEqual([]);
  });

  it('names a bad or missing singleton option by type.option', () => {
    expect(validateConfig([qos({ uplink_kbit: 'fast', downlink_kbit: '5000' })])).toEqual([
      { path: 'qos.uplink_kbit', message: expect.stringContaining('invalid value "fast"') as string },
    ]);
    expect(validateConfig([qos({ downlink_kbit: '5000' })]).map((p) => p.path)).toEqual(['qos.uplink_kbit']);
    expect(validateConfig([]).map((p) => p.path)).toEqual(['qos.uplink_kbit', 'qos.downlink_kbit']);
  });

  it('names a gate by its position among gates, and every problem at once', () => {
    const problems = validateConfig([
      qos({ uplink_kbit: '1000', downlink_kbit: '5000', colour: 'red' }),
      gate(GOOD_GATE), gate(GOOD_GATE, 'b'), gate({ ...GOOD_GATE, rate_kbit: '0' }),
      { type: 'wifi', name: null, options: {}, lists: {} },
    ]);
    expect(problems.map((p) => p.path)).toEqual(['qos.colour', 'gate[2].rate_kbit', 'wifi[0]']);
  });

  it('refuses what the router would only warn about: a list for an option, a second singleton', () => {
    const problems = validateConfig([
      { type: 'qos', name: 'qos', options: { uplink_kbit: '1000', downlink_kbit: '5000' }, lists: { lan_interface: ['lan'] } },
      qos({ uplink_kbit: '1' }),
    ]);
    expect(problems.map((p) => p.path)).toEqual(['qos.lan_interface', 'qos']);
  });

  it('applies the spec rules across a section: families, unique gate ids', () => {
    const problems = validateConfig([
      qos({ uplink_kbit: '1000', downlink_kbit: '5000' }),
      gate({ ...GOOD_GATE, id: 'p1' }),
      gate({ ...GOOD_GATE, id: 'p1' }),
      gate({ ...GOOD_GATE, remote_address: '2001:db8::1' }),
    ]);
    expect(problems).toEqual([
      { path: 'gate[1]', message: expect.stringContaining("gate id 'p1'") as string },
      { path: 'gate[2]', message: expect.stringContaining('IPv6') as string },
    ]);
  });

  it('makes one E_CONFIG error listing the paths', () => {
    const e = configError([{ path: 'qos.uplink_kbit', message: 'bad' }, { path: 'gate[2].rate_kbit', message: 'bad too' }]);
    expect(e).toEqual({ code: 'E_CONFIG', path: 'qos.uplink_kbit', message: 'the configuration has 2 problems: qos.uplink_kbit: bad; gate[2].rate_kbit: bad too' });
  });
});
