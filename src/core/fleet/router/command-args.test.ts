import { describe, expect, it } from 'vitest';
import { DIAGNOSTICS_PART_BYTES, parseCommandArgs, splitDiagnostics, testGate } from './command-args.ts';
import { gate as gateSchema } from '../../protocol/messages/gates.ts';
import { validate } from '../../protocol/schema.ts';

const testGateArgs = { lanAddress: '192.168.1.20', lanPort: '4000', remoteAddress: '198.51.100.7', remotePort: '5004', direction: 'both', seconds: '30' };

function refused(name: Parameters<typeof parseCommandArgs>[0], args: Record<string, string>) {
  const r = parseCommandArgs(name, args);
  if (r.ok) throw new Error(`accepted ${JSON.stringify(args)}`);
  return r.error;
}

describe('remote command arguments', () => {
  it('takes the commands without arguments as they are', () => {
    for (const name of ['status', 'reload', 'gates', 'stats', 'interfaces', 'resync', 'restart', 'rotate-credentials'] as const) {
      expect(parseCommandArgs(name, {})).toEqual({ ok: true, value: { name } });
    }
  });

  it('refuses an argument a command does not take, naming it', () => {
    expect(refused('status', { verbose: '1' })).toMatchObject({ code: 'E_ARG', path: 'verbose', message: 'argument verbose: status takes no arguments' });
    expect(refused('diagnostics', { page: '1' })).toMatchObject({ code: 'E_ARG', path: 'page', message: 'argument page: diagnostics takes part' });
  });

  it('reads the diagnostics part, 0 when absent', () => {
    expect(parseCommandArgs('diagnostics', {})).toEqual({ ok: true, value: { name: 'diagnostics', part: 0 } });
    expect(parseCommandArgs('diagnostics', { part: '3' })).toEqual({ ok: true, value: { name: 'diagnostics', part: 3 } });
    for (const part of ['-1', '01', '1.5', ' 2', 'x', '64']) expect(refused('diagnostics', { part })).toMatchObject({ code: 'E_ARG', path: 'part' });
  });

  it('reads a test gate, remote end optional', () => {
    expect(parseCommandArgs('test-gate', testGateArgs)).toEqual({
      ok: true,
      value: { name: 'test-gate', gate: { lanAddress: '192.168.1.20', lanPort: 4000, remoteAddress: '198.51.100.7', remotePort: 5004, direction: 'both', seconds: 30 } },
    });
    const { remoteAddress: _a, remotePort: _p, ...lanOnly } = testGateArgs;
    const parsed = parseCommandArgs('test-gate', { ...lanOnly, direction: 'up' });
    expect(parsed.ok && parsed.value.name === 'test-gate' && parsed.value.gate).toMatchObject({ remoteAddress: null, remotePort: null, direction: 'up' });
  });

  it('names the missing or bad test-gate argument', () => {
    const { lanPort: _, ...noPort } = testGateArgs;
    expect(refused('test-gate', noPort)).toMatchObject({ path: 'lanPort', message: 'argument lanPort: required by test-gate' });
    expect(refused('test-gate', { ...testGateArgs, lanPort: '70000' })).toMatchObject({ path: 'lanPort' });
    expect(refused('test-gate', { ...testGateArgs, remotePort: '0' })).toMatchObject({ path: 'remotePort' });
    expect(refused('test-gate', { ...testGateArgs, seconds: '5' })).toMatchObject({ path: 'seconds', message: 'argument seconds: must be from 10 to 600, not 5' });
    expect(refused('test-gate', { ...testGateArgs, seconds: '601' })).toMatchObject({ path: 'seconds' });
    expect(refused('test-gate', { ...testGateArgs, direction: 'sideways' })).toMatchObject({ path: 'direction' });
    expect(refused('test-gate', { ...testGateArgs, lanAddress: '192.168.1.20; flush ruleset' })).toMatchObject({ code: 'E_ARG', path: 'lanAddress' });
    expect(refused('test-gate', { ...testGateArgs, remoteAddress: 'example.com' })).toMatchObject({ code: 'E_ARG', path: 'remoteAddress' });
    expect(refused('test-gate', { ...testGateArgs, remoteAddress: '2001:db8::1' })).toMatchObject({ code: 'E_ARG', path: 'remoteAddress' });
  });

  it('builds a gate the gate schema accepts', () => {
    const parsed = parseCommandArgs('test-gate', testGateArgs);
    if (!parsed.ok || parsed.value.name !== 'test-gate') throw new Error('not parsed');
    expect(validate(gateSchema, testGate('test-1', parsed.value.gate)).ok).toBe(true);
  });
});

describe('diagnostics in parts', () => {
  it('keeps small sections one part each, numbered', () => {
    const parts = splitDiagnostics([{ name: 'a', text: 'one\ntwo\n' }, { name: 'b', text: '' }]);
    expect(parts).toEqual([
      { part: 0, parts: 2, name: 'a', text: 'one\ntwo\n' },
      { part: 1, parts: 2, name: 'b', text: '' },
    ]);
  });

  it('cuts a long section at line ends, each part under the limit, nothing lost', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i} "quoted"\n`).join('');
    const parts = splitDiagnostics([{ name: 'nft', text }]);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(JSON.stringify(p.text).length).toBeLessThanOrEqual(DIAGNOSTICS_PART_BYTES + 2);
    expect(parts.map((p) => p.text).join('')).toBe(text);
    expect(parts.slice(0, -1).every((p) => p.text.endsWith('\n'))).toBe(true);
  });

  it('cuts one line longer than a part', () => {
    const text = 'x'.repeat(3 * 1000);
    const parts = splitDiagnostics([{ name: 'long', text }], 1000);
    expect(parts.map((p) => p.text.length)).toEqual([1000, 1000, 1000]);
  });

  it('says so when more parts than allowed were made', () => {
    const parts = splitDiagnostics([{ name: 'n', text: 'abc\n'.repeat(100) }], 8, 3);
    expect(parts).toHaveLength(3);
    expect(parts[2]!.text).toMatch(/^\(cut: \d+ more parts were not sent\)/);
  });
});
