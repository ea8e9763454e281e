import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';
import { REJECTION_FIELD_MAX, REJECTION_LOG_EVERY_MS, Rejections } from './rejections.ts';

describe('Rejections', () => {
  it('logs the first of each code at once, then at most once a second, counting all', () => {
    const lines: string[] = [];
    let now = 0;
    const r = new Rejections(createLogger((l) => lines.push(l), 'debug'), 'message rejected', () => now);
    r.note('E_JSON', { from: 'rtA' });
    r.note('E_JSON', { from: 'rtA' });
    r.note('E_TYPE', { from: 'rtA' });
    now += REJECTION_LOG_EVERY_MS;
    r.note('E_JSON', { from: 'rtA' });
    expect(r.byCode).toEqual({ E_JSON: 3, E_TYPE: 1 });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('rejected_so_far=3');
  });

  it('quotes what a sender wrote within a bound, cut at a character boundary', () => {
    const logged: Record<string, unknown>[] = [];
    const log = { ...createLogger(() => {}), warn: (_m: string, f?: Record<string, unknown>) => void logged.push(f ?? {}) };
    const r = new Rejections(log, 'message rejected', () => 0);
    r.note('E_FORMAT', { reason: `${'x'.repeat(REJECTION_FIELD_MAX - 2)}\u{1F4A9}${'y'.repeat(500)}`, count: 7 });
    expect(logged[0]).toMatchObject({ code: 'E_FORMAT', reason: `${'x'.repeat(REJECTION_FIELD_MAX - 2)}…`, count: 7 });
  });
});
