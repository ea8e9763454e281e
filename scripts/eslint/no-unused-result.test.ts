import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const fixture = join(import.meta.dirname, 'fixtures', 'results.ts');

describe('lint rule callqos/no-unused-result', () => {
  it('reports a dropped Result (a statement, awaited or not, or a callback expected to return void) and nothing that is used', async () => {
    // The fixture directory is ignored by the project's lint run; here it is linted on purpose.
    const eslint = new ESLint({ cwd: root, ignore: false });
    const [report] = await eslint.lintFiles([fixture]);
    const lines = readFileSync(fixture, 'utf8').split('\n');
    const expected = lines.flatMap((line, i) => (line.includes('// dropped') ? [i + 1] : []));
    const found = report!.messages.filter((m) => m.ruleId === 'callqos/no-unused-result').map((m) => m.line);
    expect(expected).toHaveLength(4);
    expect(found).toEqual(expected);
    expect(report!.messages.filter((m) => m.ruleId !== 'callqos/no-unused-result')).toEqual([]);
  }, 60_000);
});
