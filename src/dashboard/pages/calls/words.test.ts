import { describe, expect, it } from 'vitest';
import { dayStartMs, formatMoney, lossText, thisMonth } from './words.ts';

const between = { from: 'rt-b', to: 'rt-a', received: 490, final: true, asOfMs: 0 };

describe('call and settlement words', () => {
  it('reads loss between routers with counts and a percentage', () => {
    expect(lossText({ ...between, sent: 500, lost: 10, lossPercent: 2 })).toBe('rt-b → rt-a: 500 sent, 490 arrived, 10 lost (2.0%)');
    expect(lossText({ ...between, sent: 12_000, received: 11_999, lost: 1, lossPercent: 1 / 120 })).toBe('rt-b → rt-a: 12,000 sent, 11,999 arrived, 1 lost (<0.1%)');
    expect(lossText({ ...between, sent: 0, received: 0, lost: 0, lossPercent: null })).toBe('rt-b → rt-a: no packets counted leaving rt-b yet');
  });
  it('formats minor units by the currency', () => {
    expect(formatMoney(1234, 'EUR')).toBe('12.34 EUR');
    expect(formatMoney(500, 'JPY')).toBe('500 JPY');
  });
  it('takes calendar days in UTC and refuses what is not one', () => {
    expect(dayStartMs('2026-01-31')).toBe(Date.UTC(2026, 0, 31));
    expect(dayStartMs('2026-02-30')).toBeNull();
    expect(dayStartMs('yesterday')).toBeNull();
    expect(thisMonth(Date.UTC(2026, 11, 8, 3))).toEqual({ from: '2026-12-01', to: '2026-12-08' });
  });
});
