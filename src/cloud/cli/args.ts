/**
 * args: the one argument parser of every `callqos-cloud` command, a thin layer over
 * `node:util` `parseArgs`. A command declares its options once; the same declaration checks the
 * command line (an unknown flag is "unknown", a flag missing its value "needs a value") and
 * writes the command's `--help`. Each command then reads the values in the order given, so that a
 * repeatable option (`--peer`, `--domain`) keeps its order and the last of a single one wins.
 */
import { parseArgs } from 'node:util';
import { fail, ok, type Result } from '../../core/result.ts';

export interface OptionSpec {
  /** The long name without `--`. */
  readonly name: string;
  /** What the value looks like in the help (`<id>`); absent for a flag that takes no value. */
  readonly value?: string;
  /** One line, or several joined by `\n`; the help indents the continuation lines. */
  readonly help: string;
  /** A one-letter alias (`-h`). */
  readonly short?: string;
}

export interface CommandSpec {
  /** The words that start the command, as typed: `callqos-cloud sip run`. */
  readonly name: string;
  /** What it does, in one line. */
  readonly summary: string;
  /** The synopsis after the name, positionals included: `[options] <device|cc> <id>`. */
  readonly synopsis?: string;
  readonly options: readonly OptionSpec[];
  /** How many positional arguments it takes (default none). */
  readonly positionals?: { readonly min: number; readonly max: number };
  /** Free text after the options (subcommands, examples). */
  readonly epilogue?: string;
}

export interface ParsedOption {
  /** `--name`, as the error messages and the commands' switches spell it. */
  readonly flag: string;
  /** The value; `true` for a flag that takes none. */
  readonly value: string | true;
}

export interface ParsedArgs {
  /** `--help` or `-h` was given: print `usageOf(spec)` and do nothing else. */
  readonly help: boolean;
  /** In command-line order. */
  readonly options: readonly ParsedOption[];
  readonly positionals: readonly string[];
}

const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', help: 'print this help and exit' };

function argsError(message: string, flag = ''): Result<never> {
  return fail({ code: 'E_ARGS', message, path: flag });
}

/**
 * Checks `argv` against the command's options. Unknown flags are reported as unknown whatever
 * follows them; a flag that wants a value and is last, or followed by another `--flag`, needs a value.
 */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Result<ParsedArgs> {
  const declared = [...spec.options, HELP_OPTION];
  const byName = new Map(declared.map((o) => [o.name, o]));
  const parseOptions: Record<string, { type: 'string' | 'boolean'; short?: string; multiple: true }> = {};
  for (const o of declared) {
    parseOptions[o.name] = { type: o.value === undefined ? 'boolean' : 'string', multiple: true, ...(o.short === undefined ? {} : { short: o.short }) };
  }
  // strict off: the checks below make the messages, which name the flag as typed.
  const { tokens } = parseArgs({ args: [...argv], options: parseOptions, strict: false, allowPositionals: true, tokens: true });
  const hint = `(see ${spec.name} --help)`;
  const options: ParsedOption[] = [];
  const positionals: string[] = [];
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    const option = byName.get(token.name);
    // A single dash names an option only through its declared short alias (`-h`).
    const typedShort = !token.rawName.startsWith('--');
    if (option === undefined || (typedShort && option.short !== token.rawName.slice(1))) {
      return argsError(`unknown option ${token.rawName} ${hint}`, token.rawName);
    }
    const flag = `--${option.name}`;
    if (option === HELP_OPTION) {
      help = true;
      continue;
    }
    if (option.value === undefined) {
      if (token.value !== undefined) return argsError(`${flag} takes no value ${hint}`, flag);
      options.push({ flag, value: true });
      continue;
    }
    // parseArgs takes the next word as the value even when it is another flag: that is a missing value.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--') && token.value.length > 2)) {
      return argsError(`${flag} needs a value ${hint}`, flag);
    }
    options.push({ flag, value: token.value });
  }
  if (help) return ok({ help, options, positionals });
  const range = spec.positionals ?? { min: 0, max: 0 };
  if (positionals.length > range.max) return argsError(`unexpected argument ${JSON.stringify(positionals[range.max])} ${hint}`);
  if (positionals.length < range.min) return argsError(`missing arguments: ${spec.name} ${spec.synopsis ?? ''} ${hint}`.replace(/\s+/g, ' '));
  return ok({ help, options, positionals });
}

/** The last value of a single-valued option, or undefined. */
export function lastValue(parsed: ParsedArgs, flag: string): string | undefined {
  for (let i = parsed.options.length - 1; i >= 0; i--) {
    const o = parsed.options[i]!;
    if (o.flag === flag && typeof o.value === 'string') return o.value;
  }
  return undefined;
}

/** Every value of a repeatable option, in order. */
export function allValues(parsed: ParsedArgs, flag: string): string[] {
  return parsed.options.filter((o) => o.flag === flag && typeof o.value === 'string').map((o) => o.value as string);
}

export function hasFlag(parsed: ParsedArgs, flag: string): boolean {
  return parsed.options.some((o) => o.flag === flag);
}

const HELP_COLUMN = 29;

/** The option table of a help text: `  --name <value>  help`, continuation lines aligned. */
export function optionTable(options: readonly OptionSpec[]): string {
  const lines: string[] = [];
  for (const o of [...options, HELP_OPTION]) {
    const left = `  ${o.short === undefined ? '' : `-${o.short}, `}--${o.name}${o.value === undefined ? '' : ` ${o.value}`}`;
    const [first, ...rest] = o.help.split('\n');
    // A name too long for the column gets a line of its own, its help below it.
    if (left.length < HELP_COLUMN) lines.push(`${left.padEnd(HELP_COLUMN)}${first}`);
    else lines.push(left, `${' '.repeat(HELP_COLUMN)}${first}`);
    for (const more of rest) lines.push(`${' '.repeat(HELP_COLUMN)}${more}`);
  }
  return lines.join('\n');
}

/** A command's `--help`: synopsis, summary, options and the epilogue. */
export function usageOf(spec: CommandSpec): string {
  const parts = [`usage: ${spec.name} ${spec.synopsis ?? '[options]'}`, '', spec.summary, '', 'options:', optionTable(spec.options)];
  if (spec.epilogue !== undefined) parts.push('', spec.epilogue.trimEnd());
  return `${parts.join('\n')}\n`;
}

/** Whole numbers only (no `1e3`, no sign), within [min, max]. */
export function wholeNumber(text: string, flag: string, min: number, max: number): Result<number> {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) return argsError(`${flag} wants a whole number in ${min}..${max}, got ${JSON.stringify(text)}`, flag);
  return ok(n);
}

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address. */
export function hostPort(text: string, flag: string): Result<{ host: string; port: number }> {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) return argsError(`${flag} wants host:port, got ${JSON.stringify(text)}`, flag);
  return ok({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
}

/** Where a command writes: its output on standard output, its complaints on standard error. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/**
 * Parses the command line, or deals with it here: `--help` prints the usage (exit status 0), a
 * bad command line prints why (status 2). A number back is the status to exit with.
 */
export function parseOrExit(spec: CommandSpec, argv: readonly string[], io: CliIo): ParsedArgs | number {
  const parsed = parseCommand(spec, argv);
  if (!parsed.ok) {
    io.err(`${spec.name}: ${parsed.error.message}`);
    return 2;
  }
  if (parsed.value.help) {
    io.out(usageOf(spec).trimEnd());
    return 0;
  }
  return parsed.value;
}

/** A command's failure with the exit status 2 of a bad command line (a value that does not fit). */
export class ArgsError extends Error {}

/** The value of a check made after parsing, or an ArgsError carrying its message. */
export function checked<T>(r: Result<T>): T {
  if (!r.ok) throw new ArgsError(r.error.message);
  return r.value;
}

/** An optional whole-number option: the fallback when absent, else checked like `wholeNumber`. */
export function optionalNumber(text: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  return text === undefined ? fallback : checked(wholeNumber(text, flag, min, max));
}
