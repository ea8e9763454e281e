/**
 * A device's configuration from layers: the defaults, then its group's template, then its own
 * overrides. Template and overrides are partial:
 *
 * - a section is found by type and name (a singleton type's section by its type: `qos 'qos'`);
 *   a layer's section that matches one below it changes only the options it names, a new one is
 *   added at the end; an anonymous section (name null) is always added;
 * - an option set to null is removed, a list set to null is removed, a list given replaces the
 *   whole list below;
 * - `delete: true` removes the whole section below.
 *
 * Values may hold variables, `${name}`: the device's variables first, then the group's. An
 * unknown variable is a problem with the option's path, never an empty string. `$$` is a
 * literal `$`.
 */
import { AGENT_SPEC } from '../config/agent-config.ts';
import type { ConfigSpec, OptionSpec, Options, SectionSpec } from '../config/spec.ts';
import { arr, bool, nullable, obj, optional, record, str, type Infer } from '../protocol/schema.ts';
import type { ConfigProblem, ConfigSection } from '../protocol/messages/config.ts';
import { hasOption } from '../uci/section.ts';
import { indexed, sectionPath } from './config-version.ts';

const uciName = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_]+$/, format: 'UCI name' });
const uciType = str({ min: 1, max: 64, pattern: /^[\x21-\x7e]+$/, format: 'UCI section type' });
const layerValue = str({ min: 0, max: 256, pattern: /^[^\x00-\x1f\x7f]*$/, format: 'UCI value (one line of printable text)' });

/** One section of a template or of a device's overrides. */
export const layerSection = obj({
  type: uciType,
  /** Null: an anonymous section, always added. */
  name: nullable(uciName),
  /** Null removes the option. */
  options: optional(record(uciName, nullable(layerValue), { max: 64 })),
  /** Null removes the list; a list replaces the one below. */
  lists: optional(record(uciName, nullable(arr(layerValue, { max: 64 })), { max: 16 })),
  /** Removes the section below (options and lists are then ignored). */
  delete: optional(bool()),
});
export const configLayer = arr(layerSection, { max: 256 });

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const variableName = str({ min: 1, max: 64, pattern: VARIABLE_NAME, format: 'variable name ([A-Za-z_][A-Za-z0-9_], 1..64)' });
export const variables = record(variableName, layerValue, { max: 128 });

export type LayerSection = Infer<typeof layerSection>;
export type ConfigLayer = Infer<typeof configLayer>;
export type Variables = Readonly<Record<string, string>>;

export interface LayerInput {
  readonly defaults: readonly ConfigSection[];
  readonly template: ConfigLayer;
  readonly overrides: ConfigLayer;
  readonly groupVariables: Variables;
  readonly deviceVariables: Variables;
}

export interface Layered {
  readonly sections: ConfigSection[];
  /** Unknown variables, by path; the sections hold the text unresolved where one was found. */
  readonly problems: ConfigProblem[];
}

/**
 * The defaults layer: the spec's singleton sections with every option that has a default, in the
 * spec's order, as UCI text. The `cloud` section is left out: the link to the cloud is the
 * router's own (its broker, its login), and a pushed default could cut the router off.
 */
export function specDefaults(spec: ConfigSpec = AGENT_SPEC, skip: readonly string[] = ['cloud']): ConfigSection[] {
  const out: ConfigSection[] = [];
  for (const type of Object.keys(spec)) {
    const s = spec[type] as SectionSpec<Options, boolean>;
    if (s.multiple || skip.includes(type)) continue;
    const options: Record<string, string> = {};
    for (const key of Object.keys(s.options)) {
      const o = s.options[key] as OptionSpec<unknown, unknown>;
      if (o.list || o.default === undefined) continue;
      options[key] = o.type.format === undefined ? uciText(o.default) : o.type.format(o.default);
    }
    out.push({ type, name: type, options, lists: {} });
  }
  return out;
}

/**
 * The defaults a fleet version starts from: the spec's, with the router's name set to the id the
 * server knows it by. The agent otherwise names itself by its hostname, so a version without a
 * `device_id` would rename a router with a hand-made login at its next reconnect.
 */
export function fleetDefaults(): ConfigSection[] {
  return specDefaults().map((s) => (s.type === 'agent' ? { ...s, options: { ...s.options, device_id: '${device_id}' } } : s));
}

function uciText(value: unknown): string {
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

function copy(s: ConfigSection): ConfigSection {
  return { type: s.type, name: s.name, options: { ...s.options }, lists: Object.fromEntries(Object.entries(s.lists).map(([k, v]) => [k, [...v]])) };
}

/** Lays one partial layer over sections (a new array; the input is not changed). */
export function applyLayer(below: readonly ConfigSection[], layer: ConfigLayer): ConfigSection[] {
  const out = below.map(copy);
  for (const l of layer) {
    const at = l.name === null ? -1 : out.findIndex((s) => s.type === l.type && s.name === l.name);
    if (l.delete === true) {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    const target: ConfigSection = at >= 0 ? (out[at] as ConfigSection) : { type: l.type, name: l.name, options: {}, lists: {} };
    for (const [k, v] of Object.entries(l.options ?? {})) {
      if (v === null) delete target.options[k];
      else {
        target.options[k] = v;
        delete target.lists[k];
      }
    }
    for (const [k, v] of Object.entries(l.lists ?? {})) {
      if (v === null) delete target.lists[k];
      else {
        target.lists[k] = [...v];
        delete target.options[k];
      }
    }
    if (at < 0) out.push(target);
  }
  return out;
}

const REFERENCE = /\$\$|\$\{([^}]*)\}/g;

/** `${name}` resolved from the first set of variables that has it; the names it could not resolve. */
export function resolveVariables(value: string, scopes: readonly Variables[]): { value: string; unknown: string[] } {
  const unknown: string[] = [];
  const resolved = value.replace(REFERENCE, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    const scope = scopes.find((v) => hasOption(v, name));
    if (scope === undefined || !VARIABLE_NAME.test(name)) {
      unknown.push(name);
      return whole;
    }
    return scope[name] as string;
  });
  return { value: resolved, unknown };
}

/** Defaults, template, overrides, then variables: the sections a device should run. */
export function layerConfig(input: LayerInput, spec: ConfigSpec = AGENT_SPEC): Layered {
  const merged = applyLayer(applyLayer(input.defaults, input.template), input.overrides);
  const scopes = [input.deviceVariables, input.groupVariables];
  const problems: ConfigProblem[] = [];
  for (const { section, index } of indexed(merged)) {
    const where = sectionPath(section.type, index, spec);
    const resolve = (key: string, value: string, item?: number): string => {
      const r = resolveVariables(value, scopes);
      const path = item === undefined ? `${where}.${key}` : `${where}.${key}[${item}]`;
      for (const name of r.unknown) problems.push({ path, message: `unknown variable \${${name}} (set it on the device or its group)` });
      return r.value;
    };
    for (const key of Object.keys(section.options)) section.options[key] = resolve(key, section.options[key] as string);
    for (const key of Object.keys(section.lists)) section.lists[key] = (section.lists[key] as string[]).map((v, i) => resolve(key, v, i));
  }
  return { sections: merged, problems };
}
