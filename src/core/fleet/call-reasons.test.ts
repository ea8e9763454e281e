import { describe, expect, it } from 'vitest';
import { reasonInWords } from './call-reasons.ts';

describe('reasonInWords', () => {
  it('puts words before a known code and keeps the code and detail', () => {
    expect(reasonInWords('E_BUDGET: router rtA: EF budget up is 300 kbit/s')).toBe("a router's EF budget had no room for the call (E_BUDGET: router rtA: EF budget up is 300 kbit/s)");
    expect(reasonInWords('E_DEADLINE')).toBe('the router did not confirm the install in time (E_DEADLINE)');
  });
  it('gives other text as it is, and nothing for no reason', () => {
    expect(reasonInWords('removed by the router: expired')).toBe('removed by the router: expired');
    expect(reasonInWords('E_SOMETHING_NEW: x')).toBe('E_SOMETHING_NEW: x');
    expect(reasonInWords(null)).toBeNull();
    expect(reasonInWords('')).toBeNull();
  });
});
