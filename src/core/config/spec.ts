/**
 * A declarative spec for UCI sections, firewall4 style: per section type, per option a value
 * type, a default, `required` and `list`. applySpec turns parsed sections into typed values.
 *
 * Problems are warnings, as in firewall4: a bad value skips its section (one warning naming the
 * section, the options and the problems); an unknown option or section type is ignored. A
 * singleton section (one per file) keeps its good options instead: a bad or missing option takes
 * its default, and a missing section is all defaults. The one failure is a singleton's
 * `required` option that is missing or bad (E_CONFIG, path `type.option`): there is no default.
 */
import { coreError, fail, ok, type Result } from '../result.ts';
import { hasOption, type UciSection } from '../uci/section.ts';
import { showText } from '../uci/show.ts';
import type { ValueType } from './types.ts';

export const CONFIG_ERROR = 'E_CONFIG';

export interface OptionFlags<T> {
  /** For single options; a list option that is not set is an empty list. */
  readonly default?: T;
  /** Must be set in the file: no default. */
  readonly required?: boolean;
  /** Zero or more values from `list` lines (a single `option` line counts as one). */
  readonly list?: boolean;
}

export interface OptionSpec<T, Out> {
  readonly type: ValueType<T>;
  readonly default: T | undefined;
  readonly required: boolean;
  readonly list: boolean;
  /** Type level only: what the option yields. */
  readonly __out?: Out;
}

type OptionOut<T, F> = F extends { list: true } ? T[] : F extends { required: true } ? T : F extends { default: T } ? T : T | undefined;

export function option<T, const F extends OptionFlags<T> = {}>(type: ValueType<T>, flags?: F): OptionSpec<T, OptionOut<T, F>> {
  return { type, default: flags?.default, required: flags?.required === true, list: flags?.list === true };
}

export type Options = Readonly<Record<string, OptionSpec<unknown, unknown>>>;

export type ValuesOf<O extends Options> = { -readonly [K in keyof O]: O[K] extends OptionSpec<unknown, infer Out> ? Out : never };

export interface SectionMeta {
  readonly name: string;
  readonly anonymous: boolean;
  readonly index: number;
}

export interface SectionEntry<V> extends SectionMeta {
  readonly values: V;
}

/** Rules across the options of one section of a `multiple` type; breaking one skips the section. */
export interface SectionRules<V> {
  /** Returns a problem, or undefined when the section is fine. */
  check?(values: V, section: SectionMeta): string | undefined;
  /** A key no two sections may share (the later one is skipped); undefined keys are not compared. */
  unique?: { readonly what: string; key(values: V, section: SectionMeta): string | undefined };
}

export interface SectionSpec<O extends Options, Multiple extends boolean> {
  readonly options: O;
  readonly multiple: Multiple;
  readonly rules: SectionRules<ValuesOf<O>>;
}

/** At most one section of this type (the first; later ones are ignored with a warning). */
export function singleton<O extends Options>(options: O): SectionSpec<O, false> {
  return { options, multiple: false, rules: {} };
}

/** Any number of sections of this type, each validated on its own. */
export function multiple<O extends Options>(options: O, rules: SectionRules<ValuesOf<O>> = {}): SectionSpec<O, true> {
  return { options, multiple: true, rules };
}

export type ConfigSpec = Readonly<Record<string, SectionSpec<Options, boolean>>>;

export type SpecValues<S extends ConfigSpec> = {
  -readonly [K in keyof S]: S[K] extends SectionSpec<infer O, infer M> ? (M extends true ? SectionEntry<ValuesOf<O>>[] : ValuesOf<O>) : never;
};

export interface Applied<S extends ConfigSpec> {
  readonly values: SpecValues<S>;
  readonly warnings: string[];
}

/** How warnings name a section: `section @gate[1]` or `section gate 'phone'`. */
export function sectionLabel(s: Pick<UciSection, 'type' | 'name' | 'anonymous'>): string {
  return s.anonymous ? `section ${s.name}` : `section ${s.type} '${s.name}'`;
}

function formatValue(type: ValueType<unknown>, value: unknown): string {
  return type.format === undefined ? String(value) : type.format(value);
}

function readOption(key: string, spec: OptionSpec<unknown, unknown>, raw: string | string[] | undefined): Result<unknown, string> {
  if (raw === undefined) {
    if (spec.required) return fail(`option '${key}' is required but not set`);
    return ok(spec.list ? [] : spec.default);
  }
  if (!spec.list) {
    if (typeof raw !== 'string') return fail(`option '${key}' must not be a list`);
    const r = spec.type.parse(raw);
    return r.ok ? r : fail(`option '${key}' has invalid value ${showText(raw)}: ${r.error}`);
  }
  const values: unknown[] = [];
  for (const item of typeof raw === 'string' ? [raw] : raw) {
    const r = spec.type.parse(item);
    if (!r.ok) return fail(`list '${key}' has invalid item ${showText(item)}: ${r.error}`);
    values.push(r.value);
  }
  if (values.length === 0 && spec.required) return fail(`list '${key}' needs at least one item`);
  return ok(values);
}

interface Read {
  readonly values: Record<string, unknown>;
  readonly problems: { readonly key: string; readonly message: string }[];
}

/** Every option of the spec, from `section` or absent; unknown options are warned about here. */
function readSection(section: UciSection | undefined, options: Options, warnings: string[]): Read {
  const raw = section?.options ?? {};
  const values: Record<string, unknown> = {};
  const problems: { key: string; message: string }[] = [];
  for (const key of Object.keys(options)) {
    const r = readOption(key, options[key] as OptionSpec<unknown, unknown>, hasOption(raw, key) ? raw[key] : undefined);
    if (r.ok) values[key] = r.value;
    else problems.push({ key, message: r.error });
  }
  if (section !== undefined) {
    for (const key of Object.keys(raw)) {
      if (!hasOption(options, key)) warnings.push(`${sectionLabel(section)}: unknown option '${key}' ignored`);
    }
  }
  return { values, problems };
}

function readMultiple(section: UciSection, spec: SectionSpec<Options, boolean>, keys: Set<string>, warnings: string[]): SectionEntry<unknown> | undefined {
  const { values, problems } = readSection(section, spec.options, warnings);
  const { check, unique } = spec.rules;
  const typed = values as ValuesOf<Options>;
  let problem = problems.length > 0 ? problems.map((p) => p.message).join('; ') : check?.(typed, section);
  const key = problem === undefined ? unique?.key(typed, section) : undefined;
  if (key !== undefined && keys.has(key)) problem = `${unique?.what} '${key}' is already used by an earlier ${section.type} section`;
  if (problem !== undefined) {
    warnings.push(`${sectionLabel(section)}: ${problem}; section skipped`);
    return undefined;
  }
  if (key !== undefined) keys.add(key);
  return { name: section.name, anonymous: section.anonymous, index: section.index, values };
}

function readSingleton(type: string, section: UciSection | undefined, options: Options, warnings: string[]): Result<Record<string, unknown>> {
  const { values, problems } = readSection(section, options, warnings);
  const where = section === undefined ? `no ${type} section` : sectionLabel(section);
  for (const { key, message } of problems) {
    const o = options[key] as OptionSpec<unknown, unknown>;
    if (o.required) return fail(coreError(CONFIG_ERROR, `${where}: ${message}`, `${type}.${key}`));
    values[key] = o.list ? [] : o.default;
    warnings.push(`${where}: ${message}; ${o.default === undefined ? 'ignored' : `using the default ${formatValue(o.type, o.default)}`}`);
  }
  return ok(values);
}

export function applySpec<S extends ConfigSpec>(sections: readonly UciSection[], spec: S): Result<Applied<S>> {
  const warnings: string[] = [];
  const out: Record<string, unknown> = {};
  const keys = new Map<string, Set<string>>();
  for (const type of Object.keys(spec)) {
    if (spec[type]?.multiple !== true) continue;
    out[type] = [];
    keys.set(type, new Set());
  }
  for (const section of sections) {
    const s = hasOption(spec, section.type) ? spec[section.type] : undefined;
    if (s === undefined) {
      warnings.push(`${sectionLabel(section)}: unknown section type ${showText(section.type)} ignored`);
    } else if (s.multiple) {
      const entry = readMultiple(section, s, keys.get(section.type) as Set<string>, warnings);
      if (entry !== undefined) (out[section.type] as unknown[]).push(entry);
    } else if (hasOption(out, section.type)) {
      warnings.push(`${sectionLabel(section)}: only the first ${section.type} section counts; ignored`);
    } else {
      const r = readSingleton(section.type, section, s.options, warnings);
      if (!r.ok) return r;
      out[section.type] = r.value;
    }
  }
  for (const type of Object.keys(spec)) {
    if (hasOption(out, type)) continue;
    const r = readSingleton(type, undefined, (spec[type] as SectionSpec<Options, boolean>).options, warnings);
    if (!r.ok) return r;
    out[type] = r.value;
  }
  return ok({ values: out as SpecValues<S>, warnings });
}
