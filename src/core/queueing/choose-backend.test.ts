import { describe, expect, it } from 'vitest';
import { chooseBackend } from './choose-backend.ts';

describe('chooseBackend', () => {
  it.each([
    ['auto', true, 'cake', null],
    ['auto', false, 'htb', null],
    ['htb', true, 'htb', null],
    ['htb', false, 'htb', null],
    ['cake', true, 'cake', null],
    ['none', true, 'none', null],
    ['none', false, 'none', null],
  ] as const)('chooses for %s with cake %s: %s', (requested, cake, backend, warning) => {
    expect(chooseBackend(requested, { cake })).toEqual({ backend, warning });
  });

  it('falls back to htb with a warning when cake is asked for and missing', () => {
    const choice = chooseBackend('cake', { cake: false });
    expect(choice.backend).toBe('htb');
    expect(choice.warning).toContain('no cake qdisc');
  });
});
