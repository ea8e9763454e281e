/**
 * One configuration version as the fleet holds it: the whole list of UCI sections of the agent's
 * package, in the protocol's shape (`ConfigSection`, src/core/protocol/messages/config.ts).
 *
 * - Its content hash is FNV-1a 64 over a canonical JSON form: sections in their order (order is
 *   meaning in UCI: `@gate[0]` is the first gate), option and list keys sorted, list items in
 *   their order. Two versions with the same hash hold the same settings.
 * - The server refuses a version with problems before it is ever sent: every option is checked
 *   against the agent's own spec (AGENT_SPEC), strictly. The router only warns about an unknown
 *   option and skips a bad gate; the server names them instead, by path: `qos.uplink_kbit` for a
 *   singleton section's option, `gate[2].rate_kbit` for the third gate section.
 */
import { AGENT_SPEC } from '../config/agent-config.ts';
import { CONFIG_ERROR, type ConfigSpec, type OptionSpec, type Options, type SectionSpec, type ValuesOf } from '../config/spec.ts';
import { fnv1a64 } from '../protocol/digest.ts';
import type { ConfigProblem, ConfigSection } from '../protocol/messages/config.ts';
import { coreError, type CoreError } from '../result.ts';
import { anonymousName, emptyOptions, hasOption, type UciSection } from '../uci/section.ts';

export { CONFIG_ERROR };

function sortedRecord<V>(record: Readonly<Record<string, V>>): [string, V][] {
  return Object.keys(record).sort().map((k) => [k, record[k] as V]);
}

/** The canonical JSON text of a version's sections: what its hash is taken over. */
export function canonicalConfig(sections: readonly ConfigSection[]): string {
  return JSON.stringify(sections.map((s) => [s.type, s.name, sortedRecord(s.options), sortedRecord(s.lists)]));
}

/** The content hash of a version's sections: 16 hex digits. */
export function configHashOf(sections: readonly ConfigSection[]): string {
  return fnv1a64(canonicalConfig(sections));
}

/** A copy with keys in canonical order (stored and sent this way, so every reader sees one spelling). */
export function normaliseSections(sections: readonly ConfigSection[]): ConfigSection[] {
  return sections.map((s) => ({
    type: s.type,
    name: s.name,
    options: Object.fromEntries(sortedRecord(s.options)),
    lists: Object.fromEntries(sortedRecord(s.lists).map(([k, v]) => [k, [...v]])),
  }));
}

/** The protocol's sections as the parsed UCI sections applySpec reads (`@type[N]` for an anonymous one). */
export function toUciSections(sections: readonly ConfigSection[]): UciSection[] {
  const counts = new Map<string, number>();
  return sections.map((s) => {
    const index = counts.get(s.type) ?? 0;
    counts.set(s.type, index + 1);
    const options = emptyOptions();
    for (const [k, v] of Object.entries(s.options)) options[k] = v;
    for (const [k, v] of Object.entries(s.lists)) options[k] = [...v];
    return { type: s.type, name: s.name ?? anonymousName(s.type, index), anonymous: s.name === null, index, options };
  });
}

/** Parsed UCI sections in the protocol's shape: a single value is an option, an array a list. */
export function fromUciSections(sections: readonly UciSection[]): ConfigSection[] {
  return sections.map((s) => {
    const options: Record<string, string> = {};
    const lists: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(s.options)) {
      if (typeof v === 'string') options[k] = v;
      else lists[k] = [...v];
    }
    return { type: s.type, name: s.anonymous ? null : s.name, options, lists };
  });
}

/**
 * How problems and diffs name a section: its type for a singleton type of the spec (`qos`), else
 * its type and position among the sections of that type (`gate[2]`).
 */
export function sectionPath(type: string, index: number, spec: ConfigSpec = AGENT_SPEC): string {
  const s = hasOption(spec, type) ? spec[type] : undefined;
  return s !== undefined && !s.multiple ? type : `${type}[${index}]`;
}

/** Each section with its position among the sections of its type. */
export function indexed(sections: readonly ConfigSection[]): { section: ConfigSection; index: number }[] {
  const counts = new Map<string, number>();
  return sections.map((section) => {
    const index = counts.get(section.type) ?? 0;
    counts.set(section.type, index + 1);
    return { section, index };
  });
}

function checkOption(key: string, spec: OptionSpec<unknown, unknown>, section: ConfigSection): string | undefined {
  const single = hasOption(section.options, key) ? section.options[key] : undefined;
  const list = hasOption(section.lists, key) ? section.lists[key] : undefined;
  if (single !== undefined && list !== undefined) return `set both as an option and as a list`;
  if (single === undefined && list === undefined) return spec.required ? `required, not set` : undefined;
  if (!spec.list && list !== undefined) return `must be a single option, not a list`;
  for (const value of single !== undefined ? [single] : (list as string[])) {
    const r = spec.type.parse(value);
    if (!r.ok) return `invalid value ${JSON.stringify(value)}: ${r.error}`;
  }
  if (spec.required && list !== undefined && list.length === 0) return `needs at least one item`;
  return undefined;
}

/**
 * Every problem of a version against the spec, by path; empty when the router would take it
 * whole (no skipped section, no ignored option, no default standing in for a bad value).
 */
export function validateConfig(sections: readonly ConfigSection[], spec: ConfigSpec = AGENT_SPEC): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seenSingletons = new Set<string>();
  for (const { section, index } of indexed(sections)) {
    const where = sectionPath(section.type, index, spec);
    const s: SectionSpec<Options, boolean> | undefined = hasOption(spec, section.type) ? spec[section.type] : undefined;
    if (s === undefined) {
      problems.push({ path: where, message: `unknown section type ${JSON.stringify(section.type)}` });
      continue;
    }
    if (!s.multiple) {
      if (seenSingletons.has(section.type)) {
        problems.push({ path: where, message: `only one ${section.type} section is allowed` });
        continue;
      }
      seenSingletons.add(section.type);
    }
    for (const key of [...Object.keys(section.options), ...Object.keys(section.lists)]) {
      if (!hasOption(s.options, key)) problems.push({ path: `${where}.${key}`, message: `unknown option` });
    }
    for (const key of Object.keys(s.options)) {
      const message = checkOption(key, s.options[key] as OptionSpec<unknown, unknown>, section);
      if (message !== undefined) problems.push({ path: `${where}.${key}`, message });
    }
  }
  for (const type of Object.keys(spec)) {
    const s = spec[type] as SectionSpec<Options, boolean>;
    if (s.multiple || seenSingletons.has(type)) continue;
    for (const key of Object.keys(s.options)) {
      if ((s.options[key] as OptionSpec<unknown, unknown>).required) problems.push({ path: `${type}.${key}`, message: `required, not set (no ${type} section)` });
    }
  }
  if (problems.length > 0) return problems;
  // The rules across options of a section (a gate's address families, unique gate ids) are the
  // spec's own; the router would skip a section that breaks one, the server names it.
  const keys = new Map<string, Set<string>>();
  for (const { section, index } of indexed(sections)) {
    const s = spec[section.type] as SectionSpec<Options, boolean>;
    if (!s.multiple) continue;
    const values = typedValues(section, s.options);
    const meta = { name: section.name ?? anonymousName(section.type, index), anonymous: section.name === null, index };
    const where = sectionPath(section.type, index, spec);
    const problem = s.rules.check?.(values, meta);
    if (problem !== undefined) {
      problems.push({ path: where, message: problem });
      continue;
    }
    const key = s.rules.unique?.key(values, meta);
    if (key === undefined) continue;
    const seen = keys.get(section.type) ?? new Set<string>();
    keys.set(section.type, seen);
    if (seen.has(key)) problems.push({ path: where, message: `${s.rules.unique?.what} '${key}' is already used by an earlier ${section.type} section` });
    seen.add(key);
  }
  return problems;
}

/** A checked section's options as the spec types them (defaults for unset ones). */
function typedValues(section: ConfigSection, options: Options): ValuesOf<Options> {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    const o = options[key] as OptionSpec<unknown, unknown>;
    const single = hasOption(section.options, key) ? section.options[key] : undefined;
    const list = hasOption(section.lists, key) ? section.lists[key] : undefined;
    const parse = (v: string): unknown => { const r = o.type.parse(v); return r.ok ? r.value : undefined; };
    if (o.list) values[key] = (list ?? (single === undefined ? [] : [single])).map(parse);
    else values[key] = single === undefined ? o.default : parse(single);
  }
  return values as ValuesOf<Options>;
}

/** The E_CONFIG error for a refused version: the message lists the paths, `path` is the first. */
export function configError(problems: readonly ConfigProblem[], what = 'the configuration'): CoreError {
  const list = problems.slice(0, 8).map((p) => `${p.path}: ${p.message}`).join('; ');
  const more = problems.length > 8 ? `; and ${problems.length - 8} more` : '';
  return coreError(CONFIG_ERROR, `${what} has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${list}${more}`, problems[0]?.path);
}
