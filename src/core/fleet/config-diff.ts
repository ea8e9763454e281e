/**
 * What changes between two versions, option by option, for the operator's preview and the
 * device page's diff. Sections are matched by type and name; anonymous sections by their
 * position among the anonymous sections of their type. Paths are those of the problems
 * (`qos.uplink_kbit`, `gate[1].rate_kbit`), with the section's position in the newer version
 * (in the older one for a removed section).
 */
import { AGENT_SPEC } from '../config/agent-config.ts';
import type { ConfigSpec } from '../config/spec.ts';
import type { ConfigSection } from '../protocol/messages/config.ts';
import { indexed, sectionPath } from './config-version.ts';

export const DIFF_KINDS = ['added', 'removed', 'changed'] as const;
export type DiffKind = (typeof DIFF_KINDS)[number];

/** A value as it stands: an option's text, a list's items, or (for a whole section) its `type 'name'`. */
export type DiffValue = string | readonly string[];

export interface DiffEntry {
  readonly kind: DiffKind;
  /** `qos.uplink_kbit`; a section added or removed as a whole also has an entry of its own path. */
  readonly path: string;
  readonly before: DiffValue | null;
  readonly after: DiffValue | null;
}

interface Keyed {
  readonly key: string;
  readonly path: string;
  readonly section: ConfigSection;
}

function keyed(sections: readonly ConfigSection[], spec: ConfigSpec): Keyed[] {
  const anonymous = new Map<string, number>();
  return indexed(sections).map(({ section, index }) => {
    let key: string;
    if (section.name !== null) key = `${section.type}\u0000${section.name}`;
    else {
      const n = anonymous.get(section.type) ?? 0;
      anonymous.set(section.type, n + 1);
      key = `${section.type}\u0000@${n}`;
    }
    return { key, path: sectionPath(section.type, index, spec), section };
  });
}

function label(s: ConfigSection): string {
  return s.name === null ? s.type : `${s.type} '${s.name}'`;
}

function values(s: ConfigSection): Map<string, DiffValue> {
  const m = new Map<string, DiffValue>();
  for (const k of Object.keys(s.options).sort()) m.set(k, s.options[k] as string);
  for (const k of Object.keys(s.lists).sort()) m.set(k, s.lists[k] as string[]);
  return m;
}

function same(a: DiffValue, b: DiffValue): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Every option added, removed or changed from `before` to `after`, in the newer version's order. */
export function diffConfig(before: readonly ConfigSection[], after: readonly ConfigSection[], spec: ConfigSpec = AGENT_SPEC): DiffEntry[] {
  const old = new Map(keyed(before, spec).map((k) => [k.key, k]));
  const out: DiffEntry[] = [];
  const seen = new Set<string>();
  for (const now of keyed(after, spec)) {
    seen.add(now.key);
    const was = old.get(now.key);
    const a = values(now.section);
    if (was === undefined) {
      out.push({ kind: 'added', path: now.path, before: null, after: label(now.section) });
      for (const [k, v] of a) out.push({ kind: 'added', path: `${now.path}.${k}`, before: null, after: v });
      continue;
    }
    const b = values(was.section);
    for (const [k, v] of a) {
      const prior = b.get(k);
      if (prior === undefined) out.push({ kind: 'added', path: `${now.path}.${k}`, before: null, after: v });
      else if (!same(prior, v)) out.push({ kind: 'changed', path: `${now.path}.${k}`, before: prior, after: v });
    }
    for (const [k, v] of b) if (!a.has(k)) out.push({ kind: 'removed', path: `${now.path}.${k}`, before: v, after: null });
  }
  for (const was of keyed(before, spec)) {
    if (seen.has(was.key)) continue;
    out.push({ kind: 'removed', path: was.path, before: label(was.section), after: null });
    for (const [k, v] of values(was.section)) out.push({ kind: 'removed', path: `${was.path}.${k}`, before: v, after: null });
  }
  return out;
}
