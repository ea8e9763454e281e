import { describe, expect, it } from 'vitest';
import { billableSeconds, callDurationS, rateCall, settle, type RatedCall, type Tariff } from './rating.ts';

const tariff: Tariff = { currency: 'EUR', perMinute: { voice: 2, video: 8 }, firstIncrementS: 30, nextIncrementS: 6 };

describe('rating', () => {
  it('counts whole seconds from answer to end, a started second as a second, an unanswered call as nothing', () => {
    expect(callDurationS(1000, 61_000)).toBe(60);
    expect(callDurationS(1000, 61_001)).toBe(61);
    expect(callDurationS(null, 61_000)).toBe(0);
    expect(callDurationS(5000, 5000)).toBe(0);
  });

  it('bills the first increment as a minimum, then whole increments', () => {
    expect(billableSeconds(0, tariff)).toBe(0);
    expect(billableSeconds(1, tariff)).toBe(30);
    expect(billableSeconds(30, tariff)).toBe(30);
    expect(billableSeconds(31, tariff)).toBe(36);
    expect(billableSeconds(36, tariff)).toBe(36);
    expect(billableSeconds(37, tariff)).toBe(42);
    expect(billableSeconds(61, { firstIncrementS: 60, nextIncrementS: 60 })).toBe(120);
  });

  it('prices voice and video per minute of billed time, video when any flow was AF41', () => {
    // 121 s answered: 30 + 16 * 6 = 126 billed seconds; voice 2/min -> 4.2 -> 4; video 8/min -> 16.8 -> 17.
    expect(rateCall({ connectMs: 0, endMs: 121_000, dscps: [46] }, tariff)).toEqual({ serviceClass: 'voice', durationS: 121, billableS: 126, amount: 4, currency: 'EUR' });
    expect(rateCall({ connectMs: 0, endMs: 121_000, dscps: [46, 34] }, tariff)).toEqual({ serviceClass: 'video', durationS: 121, billableS: 126, amount: 17, currency: 'EUR' });
    expect(rateCall({ connectMs: null, endMs: 121_000, dscps: [46] }, tariff).amount).toBe(0);
  });

  it('settles a period between domains: the caller\'s domain pays, calls within a domain and outside the period are left out', () => {
    const call = (domain: string, destinationDomain: string | null, endMs: number, billableS: number, amount: number, currency = 'EUR'): RatedCall => ({ domain, destinationDomain, endMs, billableS, amount, currency });
    const calls = [
      call('a', 'b', 100, 60, 2), call('a', 'b', 200, 30, 1), call('b', 'a', 300, 90, 3),
      call('a', null, 400, 600, 20), call('a', 'a', 450, 60, 2), call('a', 'b', 999, 60, 2), call('a', 'b', 1000, 60, 2),
      call('a', 'b', 500, 60, 5, 'USD'),
    ];
    expect(settle(calls, 100, 1000)).toEqual([
      { payer: 'a', payee: 'b', currency: 'EUR', calls: 3, billableS: 150, amount: 5 },
      { payer: 'a', payee: 'b', currency: 'USD', calls: 1, billableS: 60, amount: 5 },
      { payer: 'b', payee: 'a', currency: 'EUR', calls: 1, billableS: 90, amount: 3 },
    ]);
    expect(settle([], 0, 1)).toEqual([]);
  });
});
