// The message codec under real qjs 2021-03-27 decides every input exactly as under Node:
// the fixtures, and 20,000 mutated and random inputs.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/core/protocol/index.ts';
import { invalidFixtures, validFixtures } from '../fixtures/protocol/load.ts';
import { bundles } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';
import { describeDecode } from './entries/describe-decode.ts';
import { prng as random } from '../support/random.ts';

const SPECIALS = ['', '0', '-1', '1e400', 'null', 'true', '"x"', '[]', '{}', '"::1"', '"10.0.0.1"', '65536', '"\\ud800"', '"__proto__"'];

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(rnd() * items.length)]!;
  const at = Math.floor(rnd() * (text.length + 1));
  switch (Math.floor(rnd() * 5)) {
    case 0: // replace one JSON value after a colon
      return text.replace(/:\s*("[^"]*"|-?\d+(\.\d+)?|true|false|null)/g, (m) => (rnd() < 0.08 ? `: ${pick(SPECIALS)}` : m));
    case 1: // drop a slice
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 12));
    case 2: // insert noise
      return text.slice(0, at) + pick([',', '}', '{', '"', ':', '\\', ' ', '\u0000', '☎', '"extra":1,']) + text.slice(at);
    case 3: // flip a character
      return text.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 128)) + text.slice(at + 1);
    default: // truncate
      return text.slice(0, at);
  }
}

describe('message codec under QuickJS', () => {
  const temp = makeTempDir('codec-qjs');
  afterAll(() => temp.remove());

  it('decides fixtures and 20,000 mutated inputs exactly as under Node', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261123);
    const rnd = random(seed);
    const valid = validFixtures().map((f) => f.text);
    const inputs = [...valid, ...invalidFixtures().map((f) => f.text)];
    for (let i = 0; i < 20_000; i += 1) {
      let text = valid[i % valid.length]!;
      for (let n = 1 + Math.floor(rnd() * 3); n > 0; n -= 1) text = mutate(text, rnd);
      inputs.push(text);
    }
    const inputFile = join(temp.path, 'inputs.jsonl');
    writeFileSync(inputFile, inputs.map((text) => JSON.stringify(text)).join('\n') + '\n');

    const run = spawnSync(inject('qjsPath'), [bundles.codecQuickjs, inputFile], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 300_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const quickjs = run.stdout.trimEnd().split('\n');
    expect(quickjs).toHaveLength(inputs.length);

    let accepted = 0;
    const mismatches: string[] = [];
    inputs.forEach((text, i) => {
      const node = describeDecode(text, decodeMessage, encodeMessage);
      if (node.ok) accepted += 1;
      if (JSON.stringify(node) !== quickjs[i]) mismatches.push(`input ${i} (seed ${seed}): ${JSON.stringify(text).slice(0, 200)}\n node ${JSON.stringify(node)}\n qjs  ${quickjs[i]}`);
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(quickjs.some((line) => line.includes('"threw"'))).toBe(false);
    // The mix holds both outcomes, so the comparison covers accepting and rejecting.
    expect(accepted).toBeGreaterThanOrEqual(valid.length);
    expect(accepted).toBeLessThan(inputs.length / 2);
  });
});
