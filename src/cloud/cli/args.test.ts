import { describe, expect, it } from 'vitest';
import { allValues, lastValue, parseCommand, usageOf, type CommandSpec } from './args.ts';

const spec: CommandSpec = {
  name: 'callqos-cloud thing',
  summary: 'A command for the test.',
  synopsis: '[options] <what>',
  options: [
    { name: 'id', value: '<id>', help: 'its id' },
    { name: 'domain', value: '<name>', help: 'repeatable' },
    { name: 'dry-run', help: 'a flag without a value\nthat takes two lines' },
  ],
  positionals: { min: 1, max: 1 },
};

describe('the argument parser of every command', () => {
  it('keeps options in order, the last single value winning, repeats all kept, flags true', () => {
    const parsed = parseCommand(spec, ['--id', 'a', 'thing', '--domain=x', '--domain', 'y', '--id', 'b', '--dry-run']);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(lastValue(parsed.value, '--id')).toBe('b');
    expect(allValues(parsed.value, '--domain')).toEqual(['x', 'y']);
    expect(parsed.value.options.at(-1)).toEqual({ flag: '--dry-run', value: true });
    expect(parsed.value.positionals).toEqual(['thing']);
  });

  it('says unknown for an unknown flag, with or without a value, and needs a value for a flag without one', () => {
    const error = (argv: string[]) => {
      const r = parseCommand(spec, argv);
      return r.ok ? null : r.error;
    };
    expect(error(['--frobnicate', 'thing'])).toMatchObject({ code: 'E_ARGS', path: '--frobnicate', message: expect.stringMatching(/^unknown option --frobnicate \(see callqos-cloud thing --help\)$/) });
    expect(error(['thing', '--frobnicate'])?.message).toMatch(/unknown option --frobnicate/);
    expect(error(['-x', 'thing'])?.message).toMatch(/unknown option -x/);
    expect(error(['thing', '--id'])).toMatchObject({ path: '--id', message: expect.stringMatching(/--id needs a value/) });
    expect(error(['--id', '--dry-run', 'thing'])?.message).toMatch(/--id needs a value/);
    expect(error(['--dry-run=yes', 'thing'])?.message).toMatch(/--dry-run takes no value/);
    expect(error([])?.message).toMatch(/missing arguments/);
    expect(error(['a', 'b'])?.message).toMatch(/unexpected argument "b"/);
  });

  it('takes --help and -h anywhere, before any other check', () => {
    for (const argv of [['--help'], ['-h'], ['thing', 'extra', '--help']]) expect(parseCommand(spec, argv)).toMatchObject({ ok: true, value: { help: true } });
  });

  it('writes a help with every option, continuation lines aligned', () => {
    const help = usageOf(spec);
    expect(help).toContain('usage: callqos-cloud thing [options] <what>');
    expect(help).toMatch(/\n {2}--id <id> +its id\n/);
    expect(help).toMatch(/\n {2}--dry-run +a flag without a value\n {29}that takes two lines\n/);
    expect(help).toMatch(/\n {2}-h, --help +print this help and exit\n/);
  });
});
