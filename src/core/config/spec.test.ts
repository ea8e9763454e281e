import { describe, expect, it } from 'vitest';
import { parseUci } from '../uci/parse.ts';
import { applySpec, CONFIG_ERROR, multiple, option, sectionLabel, singleton } from './spec.ts';
import * as t from './types.ts';

// A small spec of its own, so that the engine is tested apart from the agent's config.
const SPEC = {
  defaults: singleton({
    enabled: option(t.bool, { default: true }),
    limit: option(t.uint(1, 10), { required: true }),
    level: option(t.oneOf(['low', 'high'] as const), { default: 'low' }),
    label: option(t.text()),
    zones: option(t.text(), { list: true }),
  }),
  rule: multiple(
    {
      name: option(t.text(), { required: true }),
      port: option(t.port),
      proto: option(t.oneOf(['udp', 'tcp'] as const), { list: true }),
      weight: option(t.uint(0, 9), { default: 5 }),
    },
    {
      check: (v) => (v.port === 53 && !v.proto.includes('udp') ? 'port 53 needs udp' : undefined),
      unique: { what: 'rule name', key: (v) => v.name },
    },
  ),
};

function apply(text: string) {
  return applySpec(parseOk(text), SPEC);
}

function applied(text: string) {
  const r = apply(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function parseOk(text: string) {
  const parsed = parseUci(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value.sections;
}

const DEFAULTS = "config defaults\n\toption limit '3'\n";

describe('applySpec', () => {
  it('types values and fills defaults', () => {
    const r = applied(`${DEFAULTS}config rule 'dns'\n\toption name DNS\n\toption port 53\n\tlist proto udp\n\tlist proto tcp\n`);
    expect(r.warnings).toEqual([]);
    expect(r.values.defaults).toEqual({ enabled: true, limit: 3, level: 'low', label: undefined, zones: [] });
    expect(r.values.rule).toEqual([{ name: 'dns', anonymous: false, index: 0, values: { name: 'DNS', port: 53, proto: ['udp', 'tcp'], weight: 5 } }]);
  });

  it('reads a single option line as a one-item list, as firewall4 does', () => {
    const r = applied(`${DEFAULTS}\toption zones lan\nconfig rule\n\toption name x\n\toption proto udp\n`);
    expect(r.values.defaults.zones).toEqual(['lan']);
    expect(r.values.rule[0]?.values.proto).toEqual(['udp']);
  });

  it('skips a section with a bad value, naming section, option and problem', () => {
    const r = applied(`${DEFAULTS}config rule\n\toption name a\n\toption port 0\nconfig rule 'b'\n\toption name b\n`);
    expect(r.values.rule.map((x) => x.name)).toEqual(['b']);
    expect(r.warnings).toEqual([`section @rule[0]: option 'port' has invalid value "0": 0 is outside 1..65535; section skipped`]);
  });

  it('reports every problem of a skipped section in one warning', () => {
    const r = applied(`${DEFAULTS}config rule\n\toption port x\n\tlist proto icmp\n\tlist weight 1\n`);
    expect(r.values.rule).toEqual([]);
    expect(r.warnings).toEqual([
      `section @rule[0]: option 'name' is required but not set; option 'port' has invalid value "x": expected a whole number 1..65535; ` +
        `list 'proto' has invalid item "icmp": expected one of udp, tcp; option 'weight' must not be a list; section skipped`,
    ]);
  });

  it('runs the cross-option check only on otherwise valid sections', () => {
    const r = applied(`${DEFAULTS}config rule 'r'\n\toption name r\n\toption port 53\n\tlist proto tcp\n`);
    expect(r.values.rule).toEqual([]);
    expect(r.warnings).toEqual([`section rule 'r': port 53 needs udp; section skipped`]);
  });

  it('skips a later section whose unique key is taken, in file order', () => {
    const r = applied(`${DEFAULTS}config rule 'a'\n\toption name x\nconfig rule 'b'\n\toption name x\n\toption port 0\nconfig rule 'c'\n\toption name x\nconfig rule 'd'\n\toption name y\n`);
    expect(r.values.rule.map((x) => x.name)).toEqual(['a', 'd']);
    expect(r.warnings).toEqual([
      `section rule 'b': option 'port' has invalid value "0": 0 is outside 1..65535; section skipped`,
      `section rule 'c': rule name 'x' is already used by an earlier rule section; section skipped`,
    ]);
  });

  it('passes the section to the rules', () => {
    const seen: unknown[] = [];
    const spec = { s: multiple({ a: option(t.text()) }, {
        check: (_v, section) => {
          seen.push(section);
          return undefined;
        },
      }) };
    expect(applySpec(parseOk('config s\nconfig s n\n'), spec).ok).toBe(true);
    expect(seen).toEqual([
      { type: 's', name: '@s[0]', anonymous: true, index: 0, options: {} },
      { type: 's', name: 'n', anonymous: false, index: 1, options: {} },
    ]);
  });

  it('warns about unknown options and section types without failing', () => {
    const r = applied(`${DEFAULTS}\toption colour blue\nconfig rule\n\toption name n\n\toption __proto__ x\nconfig zone 'lan'\nconfig constructor\n`);
    expect(r.values.rule).toHaveLength(1);
    expect(r.warnings).toEqual([
      `section @defaults[0]: unknown option 'colour' ignored`,
      `section @rule[0]: unknown option '__proto__' ignored`,
      `section zone 'lan': unknown section type "zone" ignored`,
      `section @constructor[0]: unknown section type "constructor" ignored`,
    ]);
  });

  it('keeps a singleton\'s good options and defaults its bad ones', () => {
    const r = applied(`config defaults\n\toption limit 3\n\toption level extreme\n\toption enabled maybe\n\tlist label a\n`);
    expect(r.values.defaults).toEqual({ enabled: true, limit: 3, level: 'low', label: undefined, zones: [] });
    expect(r.warnings).toEqual([
      `section @defaults[0]: option 'enabled' has invalid value "maybe": expected a boolean (1/0, yes/no, on/off, true/false, enabled/disabled); using the default true`,
      `section @defaults[0]: option 'level' has invalid value "extreme": expected one of low, high; using the default low`,
      `section @defaults[0]: option 'label' must not be a list; ignored`,
    ]);
  });

  it('fails on a singleton\'s missing or bad required option, naming it', () => {
    const missing = apply(`config defaults\n\toption enabled 1\n`);
    expect(missing).toEqual({
      ok: false,
      error: { code: CONFIG_ERROR, message: `section @defaults[0]: option 'limit' is required but not set`, path: 'defaults.limit' },
    });
    const bad = apply(`config defaults 'main'\n\toption limit 11\n`);
    expect(bad.ok === false && bad.error).toEqual({
      code: CONFIG_ERROR,
      message: `section defaults 'main': option 'limit' has invalid value "11": 11 is outside 1..10`,
      path: 'defaults.limit',
    });
  });

  it('fails on a missing singleton with a required option, and defaults one without', () => {
    const r = apply('config rule\n\toption name x\n');
    expect(r.ok === false && r.error).toMatchObject({ message: `no defaults section: option 'limit' is required but not set`, path: 'defaults.limit' });
    const lenient = applySpec([], { settings: singleton({ on: option(t.bool, { default: false }), note: option(t.text()) }) });
    expect(lenient).toEqual({ ok: true, value: { values: { settings: { on: false, note: undefined } }, warnings: [] } });
  });

  it('uses the first of several singleton sections', () => {
    const r = applied(`${DEFAULTS}config defaults 'again'\n\toption limit 9\n`);
    expect(r.values.defaults.limit).toBe(3);
    expect(r.warnings).toEqual([`section defaults 'again': only the first defaults section counts; ignored`]);
  });

  it('names sections the way warnings do', () => {
    expect(sectionLabel({ type: 'gate', name: '@gate[2]', anonymous: true })).toBe('section @gate[2]');
    expect(sectionLabel({ type: 'gate', name: 'phone', anonymous: false })).toBe(`section gate 'phone'`);
  });

  it('gives each multiple section type an empty list when there are none', () => {
    expect(applied(DEFAULTS).values.rule).toEqual([]);
  });
});
