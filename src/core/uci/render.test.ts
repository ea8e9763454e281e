import { describe, expect, it } from 'vitest';
import { parseUci, UCI_SYNTAX } from './parse.ts';
import { quoteUci, renderUci } from './render.ts';
import { anonymousName, type UciPackage, type UciSection } from './section.ts';
import { prng } from '../../../test/support/random.ts';

function parsed(text: string): UciPackage {
  const r = parseUci(text);
  if (!r.ok) throw new Error(`${r.error.message}\n${text}`);
  return r.value;
}

describe('renderUci', () => {
  it('writes the uci export layout', () => {
    const sections = parsed(`config interface 'lan'\noption proto static\nlist dns 1.1.1.1\nlist dns "9.9.9.9"\nconfig rule\noption name "it's"\n`).sections;
    expect(renderUci(sections, 'network')).toBe(
      [
        'package network',
        '',
        "config interface 'lan'",
        "\toption proto 'static'",
        "\tlist dns '1.1.1.1'",
        "\tlist dns '9.9.9.9'",
        '',
        'config rule',
        "\toption name 'it'\\''s'",
        '',
        '',
      ].join('\n'),
    );
  });

  it('starts with a blank line without a package, as files under /etc/config do', () => {
    expect(renderUci([{ type: 't', name: '@t[0]', anonymous: true, index: 0, options: { a: '1' } }])).toBe("\nconfig t\n\toption a '1'\n\n");
  });

  it('leaves out what uci cannot hold: empty option values and empty lists', () => {
    expect(renderUci([{ type: 't', name: 'n', anonymous: false, index: 0, options: { a: '', b: [], c: 'x' } }])).toBe("\nconfig t 'n'\n\toption c 'x'\n\n");
  });

  it('quotes a section type only when it has characters uci would read specially', () => {
    expect(renderUci([{ type: "we'ird#", name: '@x[0]', anonymous: true, index: 0, options: {} }])).toContain(`config 'we'\\''ird#'\n`);
  });

  it.each(["it's", "''", "'", 'back\\slash', '"dq"', 'a # b ; c', 'multi\nline', ''])('quoteUci(%j) reads back', (value) => {
    const s = parsed(`config t\nlist v ${quoteUci(value)}\n`).sections[0] as UciSection;
    expect(s.options['v']).toEqual([value]);
  });
});

// ---- random round trips ---------------------------------------------------------------------

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
const TYPE_CHARS = `${NAME_CHARS}-.:@[]'"#;\\!/`;
const VALUE_PIECES = ["'", '"', '\\', '#', ';', ' ', '\t', '\n', '\r', "'\\''", 'é', '✓', '𝄞', '\u0000', '$(x)', '`', 'option', 'config x', '@a[0]'];
const SPECIAL_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'name', 'type', 'index'];

function randomText(rand: () => number, chars: string, min: number, max: number): string {
  const n = min + Math.floor(rand() * (max - min + 1));
  let out = '';
  for (let i = 0; i < n; i++) out += chars.charAt(Math.floor(rand() * chars.length));
  return out;
}

function randomValue(rand: () => number): string {
  let out = '';
  const parts = Math.floor(rand() * 6);
  for (let i = 0; i < parts; i++) {
    const r = rand();
    if (r < 0.4) out += VALUE_PIECES[Math.floor(rand() * VALUE_PIECES.length)];
    else if (r < 0.5) out += String.fromCharCode(Math.floor(rand() * 0x3000));
    else out += randomText(rand, `${NAME_CHARS} ./:-`, 1, 8);
  }
  return out;
}

/** A random package as parseUci would return it: consistent indices, unique names. */
function randomPackage(rand: () => number): UciPackage {
  const sections: UciSection[] = [];
  const counts = new Map<string, number>();
  const names = new Set<string>();
  const types = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => (rand() < 0.7 ? randomText(rand, NAME_CHARS, 1, 6) : randomText(rand, TYPE_CHARS, 1, 6)));
  const count = Math.floor(rand() * 6);
  for (let i = 0; i < count; i++) {
    const type = types[Math.floor(rand() * types.length)] as string;
    const index = counts.get(type) ?? 0;
    counts.set(type, index + 1);
    let name = rand() < 0.5 ? randomText(rand, NAME_CHARS, 1, 8) : '';
    if (names.has(name)) name = '';
    if (name !== '') names.add(name);
    const options = Object.create(null) as Record<string, string | string[]>;
    const optionCount = Math.floor(rand() * 6);
    for (let j = 0; j < optionCount; j++) {
      const key = rand() < 0.1 ? (SPECIAL_NAMES[Math.floor(rand() * SPECIAL_NAMES.length)] as string) : randomText(rand, NAME_CHARS, 1, 6);
      if (rand() < 0.3) {
        options[key] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomValue(rand));
      } else {
        // uci drops an option whose value is empty, so a round trip needs one character.
        options[key] = randomValue(rand) || 'x';
      }
    }
    sections.push({ type, name: name === '' ? anonymousName(type, index) : name, anonymous: name === '', index, options });
  }
  const pkg = rand() < 0.3 ? randomText(rand, `${NAME_CHARS}-`, 1, 8) : undefined;
  return pkg === undefined ? { sections } : { package: pkg, sections };
}

/** Damage a text: delete, duplicate, insert special characters, swap lines. */
function mutate(rand: () => number, text: string): string {
  const specials = ["'", '"', '\\', '#', ';', '\n', '\r', ' ', '\t', 'config', 'option', 'list', 'package', '\\\n', "'\\''", '\ufeff', '\u0000', '𝄞'];
  let out = text;
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    const r = rand();
    if (r < 0.3) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rand() * 4));
    else if (r < 0.7) out = out.slice(0, at) + (specials[Math.floor(rand() * specials.length)] as string) + out.slice(at);
    else if (r < 0.85) out = out.slice(0, at) + String.fromCharCode(Math.floor(rand() * 0x10000)) + out.slice(at);
    else {
      const lines = out.split('\n');
      const a = Math.floor(rand() * lines.length);
      const b = Math.floor(rand() * lines.length);
      [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
      out = lines.join('\n');
    }
  }
  return out;
}

describe('renderUci and parseUci round trips (seeded)', () => {
  it('parse(render(x)) equals x for 3,000 random packages', () => {
    const rand = prng(0x5eed01);
    for (let i = 0; i < 3000; i++) {
      const x = randomPackage(rand);
      const text = renderUci(x.sections, x.package);
      expect(parsed(text), text).toEqual(x);
    }
  });

  it('never throws on 10,000 mutated inputs; what parses renders back to itself', () => {
    const rand = prng(0x5eed02);
    let accepted = 0;
    for (let i = 0; i < 10000; i++) {
      const x = randomPackage(rand);
      const text = mutate(rand, renderUci(x.sections, x.package));
      const r = parseUci(text);
      if (r.ok) {
        accepted++;
        expect(parsed(renderUci(r.value.sections, r.value.package)), text).toEqual(r.value);
      } else {
        expect(r.error.code).toBe(UCI_SYNTAX);
        const line = Number(/^line (\d+)$/.exec(r.error.path ?? '')?.[1]);
        expect(line).toBeGreaterThanOrEqual(1);
        expect(line).toBeLessThanOrEqual(text.split('\n').length);
      }
    }
    // Both branches are exercised.
    expect(accepted).toBeGreaterThan(1000);
    expect(accepted).toBeLessThan(9000);
  });

  it('never throws on random bytes-as-text', () => {
    const rand = prng(0x5eed03);
    for (let i = 0; i < 2000; i++) {
      const text = randomText(rand, ` \t\n'"\\#;copl${NAME_CHARS.slice(0, 8)}`, 0, 80);
      const r = parseUci(text);
      expect(typeof r.ok).toBe('boolean');
    }
  });
});
