// The remote commands' argument checks and the diagnostics splitter in a bundle under real qjs
// 2021-03-27: every case decided exactly as under Node (the router runs the qjs one).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildQuickjsBundle } from '../../scripts/build.mjs';
import { repoRoot } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';
import { describeCommandCase, type CommandCase } from './entries/describe-command-case.ts';

const bundle = join(repoRoot, 'dist', 'test', 'command-args-quickjs.js');
const gate = { lanAddress: '192.168.1.20', lanPort: '4000', remoteAddress: '198.51.100.7', remotePort: '5004', direction: 'both', seconds: '30' };

const CASES: CommandCase[] = [
  { name: 'status', args: {} },
  { name: 'status', args: { verbose: '1' } },
  { name: 'diagnostics', args: {} },
  { name: 'diagnostics', args: { part: '7' } },
  ...['-1', '01', '64', 'x', ''].map((part) => ({ name: 'diagnostics' as const, args: { part } })),
  { name: 'test-gate', args: gate },
  { name: 'test-gate', args: { ...gate, remoteAddress: '2001:db8::1' } },
  { name: 'test-gate', args: { lanAddress: 'fd00::20', lanPort: '4000', remoteAddress: '2001:db8::1', direction: 'down', seconds: '600' } },
  { name: 'test-gate', args: { ...gate, lanAddress: '192.168.1.20; flush ruleset' } },
  { name: 'test-gate', args: { ...gate, lanPort: '65536' } },
  { name: 'test-gate', args: { ...gate, seconds: '9' } },
  { name: 'test-gate', args: { ...gate, direction: 'in' } },
  { name: 'test-gate', args: { lanAddress: '192.168.1.20', direction: 'up', seconds: '30' } },
  { split: [{ name: 'a', text: 'one\ntwo\n' }, { name: 'empty', text: '' }], limit: 1000 },
  { split: [{ name: 'long', text: Array.from({ length: 400 }, (_, i) => `line ${i} "q" ☎\t\n`).join('') }], limit: 1000 },
  { split: [{ name: 'one line', text: 'x'.repeat(2500) }], limit: 1000 },
];

describe('remote command arguments under QuickJS', () => {
  const temp = makeTempDir('command-args-qjs');
  beforeAll(() => buildQuickjsBundle(join(repoRoot, 'test', 'quickjs', 'entries', 'command-args.ts'), bundle), 60_000);
  afterAll(() => temp.remove());

  it('decides every case exactly as under Node', () => {
    const input = join(temp.path, 'cases.jsonl');
    writeFileSync(input, CASES.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const run = spawnSync(inject('qjsPath'), [bundle, input], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const quickjs = run.stdout.trimEnd().split('\n');
    expect(quickjs).toHaveLength(CASES.length);
    CASES.forEach((c, i) => expect(quickjs[i], JSON.stringify(c).slice(0, 120)).toBe(JSON.stringify(describeCommandCase(c))));
    expect(quickjs.filter((l) => l.includes('"ok":true')).length).toBe(5);
    expect(quickjs.filter((l) => l.includes('"E_ARG"')).length).toBeGreaterThan(5);
  });
});
