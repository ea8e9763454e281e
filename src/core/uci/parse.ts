/**
 * UCI config text (/etc/config/*) to sections, following libuci's file.c.
 *
 * Statements are `package`, `config`, `option` and `list` (or their first letters), separated by
 * line ends or `;`. An argument is a run of unquoted, '…' and "…" pieces glued together as in the
 * shell, so `'it'\''s'` reads `it's`. Outside single quotes a backslash takes the next character
 * literally and a backslash before a line end joins the lines; quoted text may span lines. `#`
 * outside quotes starts a comment to the line end. Whitespace is C's isspace, so the `\r` of a
 * CRLF line is just a blank.
 *
 * Like uci: an `option` replaces earlier values of that name (an empty value removes it); a
 * `list` after an `option` of the same name turns it into a list; a repeated named section
 * reopens it. Every failure is an E_UCI_SYNTAX value with a 1-based line; nothing throws.
 */
import { fail, ok, type Result } from '../result.ts';
import { anonymousName, emptyOptions, UCI_NAME, UCI_PACKAGE_NAME, UCI_TYPE, type UciPackage, type UciSection } from './section.ts';
import { showText } from './show.ts';

export const UCI_SYNTAX = 'E_UCI_SYNTAX';

interface Scanner {
  readonly text: string;
  pos: number;
  line: number;
}

interface Arg {
  readonly value: string;
  readonly line: number;
}

/** A problem and the line it is on; turned into a Failure at the top. */
interface Problem {
  readonly line: number;
  readonly message: string;
}

type Command = 'package' | 'config' | 'option' | 'list';

function command(word: string): Command | undefined {
  switch (word) {
    case 'package':
    case 'p':
      return 'package';
    case 'config':
    case 'c':
      return 'config';
    case 'option':
    case 'o':
      return 'option';
    case 'list':
    case 'l':
      return 'list';
    default:
      return undefined;
  }
}

/** C isspace in the C locale. */
function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

function skipToLineEnd(s: Scanner): void {
  const end = s.text.indexOf('\n', s.pos);
  s.pos = end === -1 ? s.text.length : end;
}

/** Called on a backslash: returns the character it escapes, or '' for a line continuation or the end. */
function backslash(s: Scanner): string {
  s.pos++;
  const c = s.text.charAt(s.pos);
  if (c === '') return '';
  if (c === '\n' || (c === '\r' && s.text.charAt(s.pos + 1) === '\n')) {
    s.pos += c === '\n' ? 1 : 2;
    s.line++;
    return '';
  }
  s.pos++;
  return c;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function singleQuoted(s: Scanner): string | Problem {
  const start = s.line;
  const end = s.text.indexOf("'", s.pos + 1);
  if (end === -1) return { line: start, message: 'unterminated single quote' };
  const value = s.text.slice(s.pos + 1, end);
  s.line += countLines(value);
  s.pos = end + 1;
  return value;
}

function doubleQuoted(s: Scanner): string | Problem {
  const start = s.line;
  let out = '';
  s.pos++;
  while (s.pos < s.text.length) {
    const c = s.text.charAt(s.pos);
    if (c === '"') {
      s.pos++;
      return out;
    }
    if (c === '\\') {
      out += backslash(s);
      continue;
    }
    if (c === '\n') s.line++;
    out += c;
    s.pos++;
  }
  return { line: start, message: 'unterminated double quote' };
}

/** One argument: quoted and unquoted pieces up to a blank, `;`, `#` or the end. */
function word(s: Scanner): string | Problem {
  let out = '';
  while (s.pos < s.text.length) {
    const c = s.text.charAt(s.pos);
    if (isSpace(c) || c === ';' || c === '#') break;
    let piece: string | Problem;
    if (c === "'") piece = singleQuoted(s);
    else if (c === '"') piece = doubleQuoted(s);
    else if (c === '\\') piece = backslash(s);
    else {
      s.pos++;
      piece = c;
    }
    if (typeof piece !== 'string') return piece;
    out += piece;
  }
  return out;
}

/** The arguments after a command word, up to the end of the statement. */
function args(s: Scanner): Arg[] | Problem {
  const out: Arg[] = [];
  for (;;) {
    while (s.pos < s.text.length && s.text.charAt(s.pos) !== '\n' && isSpace(s.text.charAt(s.pos))) s.pos++;
    const c = s.text.charAt(s.pos);
    if (c === '' || c === '\n') return out;
    if (c === ';') {
      s.pos++;
      return out;
    }
    if (c === '#') {
      skipToLineEnd(s);
      return out;
    }
    const line = s.line;
    const value = word(s);
    if (typeof value !== 'string') return value;
    out.push({ value, line });
  }
}

/** Builds the package as statements arrive, with uci's merge rules. */
class Builder {
  packageName: string | undefined;
  readonly sections: UciSection[] = [];
  private readonly named = new Map<string, UciSection>();
  private readonly typeCount = new Map<string, number>();
  private current: UciSection | undefined;

  package(line: number, a: Arg[]): Problem | undefined {
    const name = a[0];
    if (name === undefined || name.value === '') return { line, message: 'package needs a name' };
    if (!UCI_PACKAGE_NAME.test(name.value)) return { line: name.line, message: `invalid package name ${showText(name.value)} (letters, digits, _ and - only)` };
    if (this.packageName !== undefined || this.sections.length > 0) return { line, message: 'only one package statement, before any config section' };
    this.packageName = name.value;
    return undefined;
  }

  config(line: number, a: Arg[]): Problem | undefined {
    const type = a[0];
    if (type === undefined || type.value === '') return { line, message: 'config needs a section type' };
    if (!UCI_TYPE.test(type.value)) return { line: type.line, message: `invalid section type ${showText(type.value)} (printable ASCII, no spaces)` };
    const name = a[1]?.value ?? '';
    if (name !== '' && !UCI_NAME.test(name)) return { line: a[1]?.line ?? line, message: `invalid section name ${showText(name)} (letters, digits and _ only)` };
    const existing = name === '' ? undefined : this.named.get(name);
    if (existing !== undefined) {
      // uci -S (strict, the default) refuses this; otherwise the later type silently wins.
      if (existing.type !== type.value) return { line, message: `section '${name}' was declared before with type ${showText(existing.type)}` };
      this.current = existing;
      return undefined;
    }
    const index = this.typeCount.get(type.value) ?? 0;
    this.typeCount.set(type.value, index + 1);
    const section: UciSection = {
      type: type.value,
      name: name === '' ? anonymousName(type.value, index) : name,
      anonymous: name === '',
      index,
      options: emptyOptions(),
    };
    if (name !== '') this.named.set(name, section);
    this.sections.push(section);
    this.current = section;
    return undefined;
  }

  option(line: number, a: Arg[], list: boolean): Problem | undefined {
    const keyword = list ? 'list' : 'option';
    const section = this.current;
    if (section === undefined) return { line, message: `${keyword} before any config section` };
    const name = a[0];
    if (name === undefined || name.value === '') return { line, message: `${keyword} needs a name` };
    if (!UCI_NAME.test(name.value)) return { line: name.line, message: `invalid option name ${showText(name.value)} (letters, digits and _ only)` };
    const value = a[1]?.value ?? '';
    const options = section.options;
    const previous = options[name.value];
    if (!list) {
      // uci_set: a new value goes to the end; an empty one deletes the option.
      delete options[name.value];
      if (value !== '') options[name.value] = value;
    } else if (Array.isArray(previous)) {
      previous.push(value);
    } else {
      // uci_add_list: an existing single value becomes the list's first item.
      delete options[name.value];
      options[name.value] = previous === undefined ? [value] : [previous, value];
    }
    return undefined;
  }
}

/** A statement's arguments beyond `max`; uci ignores empty ones (its assert_eol). */
function extra(a: Arg[], max: number): Problem | undefined {
  for (let i = max; i < a.length; i++) {
    const arg = a[i] as Arg;
    if (arg.value !== '') return { line: arg.line, message: `too many arguments (unexpected ${showText(arg.value)})` };
  }
  return undefined;
}

function statement(b: Builder, cmd: Command, line: number, a: Arg[]): Problem | undefined {
  switch (cmd) {
    case 'package':
      return extra(a, 1) ?? b.package(line, a);
    case 'config':
      return extra(a, 2) ?? b.config(line, a);
    case 'option':
    case 'list':
      return extra(a, 2) ?? b.option(line, a, cmd === 'list');
  }
}

function syntaxError(p: Problem): Result<never> {
  return fail({ code: UCI_SYNTAX, message: `line ${p.line}: ${p.message}`, path: `line ${p.line}` });
}

export function parseUci(text: string): Result<UciPackage> {
  // A byte order mark from a Windows editor is not a command.
  const s: Scanner = { text, pos: text.charCodeAt(0) === 0xfeff ? 1 : 0, line: 1 };
  const b = new Builder();
  for (;;) {
    while (s.pos < s.text.length) {
      const c = s.text.charAt(s.pos);
      if (c === '#') skipToLineEnd(s);
      else if (isSpace(c) || c === ';') {
        if (c === '\n') s.line++;
        s.pos++;
      } else break;
    }
    if (s.pos >= s.text.length) break;
    const line = s.line;
    const start = s.pos;
    while (s.pos < s.text.length && !isSpace(s.text.charAt(s.pos)) && s.text.charAt(s.pos) !== ';' && s.text.charAt(s.pos) !== '#') s.pos++;
    const keyword = s.text.slice(start, s.pos);
    const cmd = command(keyword);
    if (cmd === undefined) return syntaxError({ line, message: `unknown command ${showText(keyword)} (expected package, config, option or list)` });
    const a = args(s);
    if (!Array.isArray(a)) return syntaxError(a);
    const problem = statement(b, cmd, line, a);
    if (problem !== undefined) return syntaxError(problem);
  }
  return ok(b.packageName === undefined ? { sections: b.sections } : { package: b.packageName, sections: b.sections });
}
