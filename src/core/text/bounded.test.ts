import { describe, expect, it } from 'vitest';
import { CUT_MARK, bounded, codedText, wellFormed } from './bounded.ts';
import { isWellFormed } from '../protocol/schema.ts';
import { prng } from '../../../test/support/random.ts';

const PILE = '\u{1F4A9}'; // one character, two code units (a surrogate pair)

describe('bounded', () => {
  it('keeps a text that fits as it is', () => {
    expect(bounded('', 5)).toBe('');
    expect(bounded('abcde', 5)).toBe('abcde');
    expect(bounded(`ab${PILE}`, 4)).toBe(`ab${PILE}`);
  });

  it('cuts a longer text to the limit, ending with the cut mark', () => {
    const cut = bounded('a'.repeat(300), 256);
    expect(cut).toHaveLength(256);
    expect(cut).toBe(`${'a'.repeat(255)}${CUT_MARK}`);
  });

  it('never splits a surrogate pair at the cut', () => {
    // 'a' + pair + pair: a cut after 2 units would leave the first pair's high half alone.
    const text = `a${PILE}${PILE}`;
    expect(bounded(text, 3)).toBe(`a${CUT_MARK}`);
    expect(bounded(text, 4)).toBe(`a${PILE}${CUT_MARK}`);
    expect(bounded(text, 5)).toBe(text);
    for (let max = 0; max <= text.length; max++) {
      const cut = bounded(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(isWellFormed(cut)).toBe(true);
    }
  });

  it('replaces lone surrogates, which no UTF-8 message can carry', () => {
    expect(wellFormed('a\ud800b')).toBe('a\ufffdb');
    expect(wellFormed('\udc00')).toBe('\ufffd');
    expect(wellFormed(`x\ud83d`)).toBe('x\ufffd');
    expect(wellFormed(`${PILE}\udc00${PILE}`)).toBe(`${PILE}\ufffd${PILE}`);
    expect(bounded('ab\ud800', 10)).toBe('ab\ufffd');
  });

  it('holds for any text and any limit: within the limit, well formed, a prefix of the whole', () => {
    const rand = prng(14);
    const units = [0x61, 0x20, 0xe9, 0xd83d, 0xdca9, 0xd800, 0xdfff, 0x2026, 0xfffd];
    for (let n = 0; n < 5000; n++) {
      const length = Math.floor(rand() * 40);
      const text = String.fromCharCode(...Array.from({ length }, () => units[Math.floor(rand() * units.length)]!));
      const max = Math.floor(rand() * 45);
      const cut = bounded(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(isWellFormed(cut)).toBe(true);
      const whole = wellFormed(text);
      if (whole.length <= max) expect(cut).toBe(whole);
      else expect(whole.startsWith(cut.endsWith(CUT_MARK) ? cut.slice(0, -CUT_MARK.length) : cut)).toBe(true);
    }
  });
});

describe('codedText', () => {
  it('puts the code first and cuts only the detail', () => {
    expect(codedText('E_BUDGET', 'router a: full', 256)).toBe('E_BUDGET: router a: full');
    expect(codedText('E_INTERNAL', '', 256)).toBe('E_INTERNAL');
    const long = codedText('E_NO_ROUTER', 'x'.repeat(400), 256);
    expect(long).toHaveLength(256);
    expect(long.startsWith('E_NO_ROUTER: xxx')).toBe(true);
    expect(long.endsWith(CUT_MARK)).toBe(true);
  });
});
