import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUci, UCI_SYNTAX } from './parse.ts';
import { renderUci } from './render.ts';
import type { UciPackage, UciSection } from './section.ts';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/config/uci');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.uci'))
  .map((f) => ({
    name: f,
    text: readFileSync(join(FIXTURES, f), 'utf8'),
    expected: JSON.parse(readFileSync(join(FIXTURES, f.replace(/\.uci$/, '.json')), 'utf8')) as UciPackage,
  }));

function parsed(text: string): UciPackage {
  const r = parseUci(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function only(text: string): UciSection {
  const sections = parsed(text).sections;
  expect(sections).toHaveLength(1);
  return sections[0] as UciSection;
}

function failure(text: string): { message: string; path?: string; code: string } {
  const r = parseUci(text);
  if (r.ok) throw new Error(`parsed: ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('parseUci on realistic files', () => {
  it('has fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(3));

  for (const f of fixtures) {
    it(`${f.name} reads as expected`, () => expect(parsed(f.text)).toEqual(f.expected));
    it(`${f.name} reads the same with CRLF line ends`, () => {
      const crlf = parsed(f.text.replace(/\n/g, '\r\n'));
      // A quoted value that spans lines keeps its \r, as in uci.
      expect(JSON.stringify(crlf).replace(/\\r/g, '')).toEqual(JSON.stringify(f.expected));
    });
    it(`${f.name} survives render and parse`, () => {
      const first = parsed(f.text);
      expect(parsed(renderUci(first.sections, first.package))).toEqual(first);
    });
  }
});

describe('parseUci quoting', () => {
  const value = (line: string): string | string[] | undefined => only(`config t\n${line}\n`).options['v'];

  it.each([
    [`option v 'single quoted'`, 'single quoted'],
    [`option v "double quoted"`, 'double quoted'],
    [`option v word`, 'word'],
    [`option v 'it'\\''s'`, "it's"],
    [`option v "say \\"hi\\" \\\\ \\n"`, 'say "hi" \\ n'],
    [`option v 'no \\escapes \\n here'`, 'no \\escapes \\n here'],
    [`option v a'b c'"d e"f`, 'ab cd ef'],
    [`option v esc\\ aped\\#\\;`, 'esc aped#;'],
    [`option v 'a # not a comment'`, 'a # not a comment'],
    [`option v value#comment`, 'value'],
    [`option v 'x' # comment`, 'x'],
    [`option v 'ünïcödé ✓ 𝄞'`, 'ünïcödé ✓ 𝄞'],
    [`option v ''`, undefined],
    [`option v`, undefined],
    ["\toption\tv\t\t'tabs'\t", 'tabs'],
    [`o v abbreviated`, 'abbreviated'],
  ])('%s', (line, expected) => expect(value(line)).toEqual(expected));

  it('joins lines at a backslash before the line end, outside and inside double quotes', () => {
    expect(only(`config t\noption a \\\nvalue\noption b "one \\\ntwo"\n`).options).toEqual({ a: 'value', b: 'one two' });
  });

  it('keeps line ends inside quotes and counts them for later errors', () => {
    expect(only(`config t\noption a 'x\ny'\noption b "p\nq"\n`).options).toEqual({ a: 'x\ny', b: 'p\nq' });
    expect(failure(`config t\noption a 'x\ny'\nbogus\n`).path).toBe('line 4');
  });

  it('splits statements at ;', () => {
    expect(only(`config t 'n'; option a 1; list b 2 ;list b 3`).options).toEqual({ a: '1', b: ['2', '3'] });
  });

  it('ignores a byte order mark, blank lines, comment lines and trailing blanks', () => {
    expect(parsed(`\ufeff# header\n\n   \n\t# indented\nconfig t 'n'   \n\n`).sections).toHaveLength(1);
  });
});

describe('parseUci sections and options', () => {
  it('names anonymous sections @type[index], counting named sections of the type too', () => {
    const s = parsed(`config a\nconfig b 'x'\nconfig a 'named'\nconfig a\nconfig b\n`).sections;
    expect(s.map((x) => [x.name, x.anonymous, x.index])).toEqual([
      ['@a[0]', true, 0],
      ['x', false, 0],
      ['named', false, 1],
      ['@a[2]', true, 2],
      ['@b[1]', true, 1],
    ]);
  });

  it('treats an empty name as anonymous', () => {
    expect(only(`config t ''`)).toMatchObject({ name: '@t[0]', anonymous: true });
  });

  it('accepts section types with - as uci does (wifi-iface)', () => {
    expect(only(`config wifi-iface 'default_radio0'`).type).toBe('wifi-iface');
  });

  it('reads the package statement', () => {
    expect(parsed(`package network\nconfig t\n`).package).toBe('network');
    expect(parsed(`config t\n`)).not.toHaveProperty('package');
  });

  it('lets a later option replace a list and a later list extend an option, as uci does', () => {
    expect(only(`config t\nlist a 1\nlist a 2\noption a 3\n`).options).toEqual({ a: '3' });
    expect(only(`config t\noption a 1\nlist a 2\n`).options).toEqual({ a: ['1', '2'] });
    expect(only(`config t\noption a 1\noption a 2\n`).options).toEqual({ a: '2' });
    expect(only(`config t\noption a 1\noption a ''\n`).options).toEqual({});
    expect(only(`config t\nlist a ''\nlist a ''\n`).options).toEqual({ a: ['', ''] });
  });

  it('reopens a named section declared again with the same type', () => {
    const s = only(`config t 'x'\noption a 1\noption b 1\nconfig t 'x'\noption a 2\nlist c 3\n`);
    expect(s.options).toEqual({ b: '1', a: '2', c: ['3'] });
  });

  it('holds option names that are Object.prototype names as plain data', () => {
    const s = only(`config t\noption __proto__ 'p'\noption constructor 'c'\nlist toString 's'\n`);
    expect(Object.keys(s.options)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(s.options['__proto__']).toBe('p');
    expect(s.options['toString']).toEqual(['s']);
  });

  it('accepts an empty file', () => {
    expect(parsed('')).toEqual({ sections: [] });
  });
});

describe('parseUci errors', () => {
  it.each([
    [`config t\noption a 'open\n\n`, 2, 'unterminated single quote'],
    [`config t\n\noption a "open\\"\n`, 3, 'unterminated double quote'],
    [`option a 1\n`, 1, 'option before any config section'],
    [`\n\nlist a 1\n`, 3, 'list before any config section'],
    [`config t\nopton a 1\n`, 2, 'unknown command "opton"'],
    [`config t\n  junk\n`, 2, 'unknown command "junk"'],
    [`config\n`, 1, 'config needs a section type'],
    [`config t\noption\n`, 2, 'option needs a name'],
    [`config t\noption '' x\n`, 2, 'option needs a name'],
    [`config t 'bad-name'\n`, 1, 'invalid section name "bad-name"'],
    [`config 'two words'\n`, 1, 'invalid section type "two words"'],
    [`config t\noption my.opt 1\n`, 2, 'invalid option name "my.opt"'],
    [`config t\noption a 1 2\n`, 2, 'too many arguments (unexpected "2")'],
    [`config t 'n' extra\n`, 1, 'too many arguments'],
    [`config a 'n'\nconfig b 'n'\n`, 2, 'declared before with type "a"'],
    [`package a\npackage b\n`, 2, 'only one package statement'],
    [`config t\npackage p\n`, 2, 'only one package statement'],
    [`package 'a b'\n`, 1, 'invalid package name'],
    [`config t\r\nlist a 1\r\nbroken\r\n`, 3, 'unknown command "broken"'],
  ])('%j fails on line %i', (text, line, message) => {
    const e = failure(text);
    expect(e.code).toBe(UCI_SYNTAX);
    expect(e.path).toBe(`line ${line}`);
    expect(e.message).toContain(`line ${line}: `);
    expect(e.message).toContain(message);
  });

  it('ignores an empty extra argument, as uci does', () => {
    expect(only(`config t\noption a 1 ''\n`).options).toEqual({ a: '1' });
  });

  it('quotes and shortens bad input in messages', () => {
    const e = failure(`config t\n${'x'.repeat(200)}\n`);
    expect(e.message.length).toBeLessThan(140);
    expect(failure('config "a\nb"').message).toContain('"a\\nb"');
  });
});
