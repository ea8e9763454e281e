import { describe, expect, it } from 'vitest';
import { validate } from '../protocol/schema.ts';
import { applyLayer, configLayer, fleetDefaults, layerConfig, resolveVariables, specDefaults, type ConfigLayer } from './config-layers.ts';
import { validateConfig } from './config-version.ts';

describe('specDefaults', () => {
  it('spells every default of the singleton sections except the cloud link, and they validate', () => {
    const d = specDefaults();
    expect(d.map((s) => `${s.type}:${s.name}`)).toEqual(['agent:agent', 'qos:qos']);
    expect(d[1]?.options).toMatchObject({ ef_budget_percent: '30', queue_backend: 'auto', wash_unadmitted_ef: '1' });
    expect(d[1]?.options.uplink_kbit).toBeUndefined();
    const withRates = applyLayer(d, [{ type: 'qos', name: 'qos', options: { uplink_kbit: '1000', downlink_kbit: '2000' } }]);
    expect(validateConfig(withRates)).toEqual([]);
  });
});

describe('fleetDefaults', () => {
  it('names the router by the id the server knows it by, so a version never renames it', () => {
    const d = fleetDefaults();
    expect(d.find((s) => s.type === 'agent')?.options.device_id).toBe('${device_id}');
    const layered = layerConfig({ defaults: d, template: [], overrides: [], groupVariables: { device_id: 'rt-7', group: 'g' }, deviceVariables: {} });
    expect(layered.problems).toEqual([]);
    expect(layered.sections.find((s) => s.type === 'agent')?.options.device_id).toBe('rt-7');
  });
});

describe('applyLayer', () => {
  const base = [{ type: 'qos', name: 'qos', options: { a: '1', b: '2' }, lists: { l: ['x'] } }];

  it('changes only the named options of a matching section, removes with null, replaces lists', () => {
    const out = applyLayer(base, [{ type: 'qos', name: 'qos', options: { a: '9', b: null }, lists: { l: ['y', 'z'] } }]);
    expect(out).toEqual([{ type: 'qos', name: 'qos', options: { a: '9' }, lists: { l: ['y', 'z'] } }]);
    expect(base[0]?.options).toEqual({ a: '1', b: '2' }); // not changed in place
  });

  it('adds new and anonymous sections at the end, deletes a section', () => {
    const layer: ConfigLayer = [
      { type: 'gate', name: null, options: { rate_kbit: '1' } },
      { type: 'gate', name: null, options: { rate_kbit: '2' } },
      { type: 'agent', name: 'agent', options: { log_level: 'debug' } },
    ];
    const out = applyLayer(base, layer);
    expect(out.map((s) => [s.type, s.name])).toEqual([['qos', 'qos'], ['gate', null], ['gate', null], ['agent', 'agent']]);
    expect(applyLayer(out, [{ type: 'qos', name: 'qos', delete: true }]).map((s) => s.type)).toEqual(['gate', 'gate', 'agent']);
  });

  it('an option given as a list replaces the option, and the other way round', () => {
    expect(applyLayer(base, [{ type: 'qos', name: 'qos', lists: { a: ['1', '2'] }, options: { l: 'one' } }])).toEqual([
      { type: 'qos', name: 'qos', options: { b: '2', l: 'one' }, lists: { a: ['1', '2'] } },
    ]);
  });

  it('the layer schema names a bad field', () => {
    const r = validate(configLayer, [{ type: 'qos', name: 'q-s', options: {} }]);
    expect(!r.ok && r.error.path).toBe('[0].name');
  });
});

describe('variables', () => {
  it('resolves from the first scope that has the name; $$ is a dollar', () => {
    expect(resolveVariables('${a}/${b}', [{ a: '1' }, { a: '2', b: '3' }])).toEqual({ value: '1/3', unknown: [] });
    expect(resolveVariables('$${a} $x', [{ a: '1' }])).toEqual({ value: '${a} $x', unknown: [] });
    expect(resolveVariables('${nope}', [{}])).toEqual({ value: '${nope}', unknown: ['nope'] });
    expect(resolveVariables('${bad name}', [{ 'bad name': 'x' }]).unknown).toEqual(['bad name']);
  });
});

describe('layerConfig', () => {
  const template: ConfigLayer = [{ type: 'qos', name: 'qos', options: { uplink_kbit: '${site_up}', downlink_kbit: '20000', queue_backend: 'htb' } }];

  it('defaults, then template, then overrides; device variables before the group', () => {
    const r = layerConfig({
      defaults: specDefaults(),
      template,
      overrides: [{ type: 'qos', name: 'qos', options: { downlink_kbit: '${down}' } }, { type: 'gate', name: null, options: { lan_address: '10.0.0.2', lan_port: '5060', rate_kbit: '${rate}' } }],
      groupVariables: { site_up: '1000', down: '9', rate: '64' },
      deviceVariables: { site_up: '4000', down: '8000' },
    });
    expect(r.problems).toEqual([]);
    expect(r.sections[1]?.options).toMatchObject({ uplink_kbit: '4000', downlink_kbit: '8000', queue_backend: 'htb', ef_budget_percent: '30' });
    expect(r.sections[2]?.options.rate_kbit).toBe('64');
    expect(validateConfig(r.sections)).toEqual([]);
  });

  it('an unknown variable is a problem at its path, never an empty value', () => {
    const r = layerConfig({
      defaults: specDefaults(), template,
      overrides: [{ type: 'gate', name: null, options: { rate_kbit: '${r}' } }, { type: 'gate', name: null, lists: { x: ['${site_up}', '${q}'] } }],
      groupVariables: {}, deviceVariables: { site_up: '1' },
    });
    expect(r.problems.map((p) => p.path)).toEqual(['gate[0].rate_kbit', 'gate[1].x[1]']);
    expect(r.problems[0]?.message).toContain('${r}');
    expect(r.sections[2]?.options.rate_kbit).toBe('${r}');
  });
});
