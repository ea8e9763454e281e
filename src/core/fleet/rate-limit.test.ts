import { describe, expect, it } from 'vitest';
import { OncePerWindow, RateLimiter, type RateLimitSpec } from './rate-limit.ts';

const spec: RateLimitSpec = { perKey: { capacity: 3, refillPerS: 0.5 }, global: { capacity: 5, refillPerS: 2 }, maxKeys: 4 };

describe('RateLimiter', () => {
  it('allows a burst of the capacity per key, then says when a token is back', () => {
    const limiter = new RateLimiter(spec, 0);
    for (let i = 0; i < 3; i++) expect(limiter.take('a', 0)).toEqual({ allowed: true });
    expect(limiter.take('a', 0)).toEqual({ allowed: false, scope: 'key', retryS: 2 });
    expect(limiter.take('a', 1000)).toEqual({ allowed: false, scope: 'key', retryS: 1 });
    expect(limiter.take('a', 2000)).toEqual({ allowed: true });
  });

  it('refills no further than the capacity', () => {
    const limiter = new RateLimiter(spec, 0);
    limiter.take('a', 0);
    // A long quiet time gives back at most the capacity.
    for (let i = 0; i < 3; i++) expect(limiter.take('a', 3_600_000).allowed).toBe(true);
    expect(limiter.take('a', 3_600_000)).toMatchObject({ allowed: false, scope: 'key' });
  });

  it('bounds everybody together with the global bucket, without spending a refused key token', () => {
    const limiter = new RateLimiter(spec, 0);
    for (const k of ['a', 'a', 'b', 'b', 'c']) expect(limiter.take(k, 0).allowed).toBe(true);
    expect(limiter.take('d', 0)).toEqual({ allowed: false, scope: 'global', retryS: 1 });
    // d's own bucket was not spent by the refusal: three tokens once the global one refills.
    expect(limiter.take('d', 1500)).toEqual({ allowed: true });
    expect(limiter.take('d', 1500)).toEqual({ allowed: true });
    expect(limiter.take('d', 1500)).toEqual({ allowed: true });
  });

  it('a key refused for its own bucket spends nothing of the global one', () => {
    const limiter = new RateLimiter({ ...spec, global: { capacity: 4, refillPerS: 0.001 } }, 0);
    for (let i = 0; i < 3; i++) limiter.take('a', 0);
    for (let i = 0; i < 10; i++) expect(limiter.take('a', 0)).toMatchObject({ allowed: false, scope: 'key' });
    expect(limiter.take('b', 0)).toEqual({ allowed: true });
  });

  it('ignores a clock that goes back', () => {
    const limiter = new RateLimiter(spec, 10_000);
    for (let i = 0; i < 3; i++) limiter.take('a', 10_000);
    expect(limiter.take('a', 5_000)).toMatchObject({ allowed: false, scope: 'key' });
    expect(limiter.take('a', 11_000)).toMatchObject({ allowed: false, scope: 'key' });
    expect(limiter.take('a', 12_000)).toEqual({ allowed: true });
  });

  it('remembers at most maxKeys sources, forgetting the least recently used', () => {
    const limiter = new RateLimiter({ ...spec, global: { capacity: 1000, refillPerS: 1000 } }, 0);
    for (let i = 0; i < 3; i++) limiter.take('a', 0);
    for (const k of ['b', 'c', 'd']) limiter.take(k, 0);
    // a was used again: e evicts b, the least recent, and a keeps its empty bucket.
    expect(limiter.take('a', 0)).toMatchObject({ allowed: false });
    limiter.take('e', 0);
    expect(limiter.size).toBe(4);
    for (let i = 0; i < 10_000; i++) limiter.take(`bogus-${i}`, 0);
    expect(limiter.size).toBe(4);
  });

  it('refuses a spec that would never allow or never refill', () => {
    expect(() => new RateLimiter({ ...spec, perKey: { capacity: 0, refillPerS: 1 } }, 0)).toThrow(/perKey.capacity/);
    expect(() => new RateLimiter({ ...spec, global: { capacity: 1, refillPerS: 0 } }, 0)).toThrow(/global.refillPerS/);
    expect(() => new RateLimiter({ ...spec, maxKeys: 0 }, 0)).toThrow(/maxKeys/);
  });
});

describe('OncePerWindow', () => {
  it('shows each key once per window and counts what it held back', () => {
    const once = new OncePerWindow(60_000, 10, 100);
    expect(once.note('a', 0)).toEqual({ show: true, held: 0 });
    expect(once.note('a', 1000)).toEqual({ show: false, held: 1 });
    expect(once.note('a', 59_999)).toEqual({ show: false, held: 2 });
    expect(once.note('a', 60_000)).toEqual({ show: true, held: 2 });
  });

  it('shows at most maxPerWindow lines a window over all keys', () => {
    const once = new OncePerWindow(60_000, 3, 100);
    const shown = Array.from({ length: 10_000 }, (_, i) => once.note(`k${i}`, 10)).filter((n) => n.show);
    expect(shown).toHaveLength(3);
    expect(once.note('late', 60_010)).toEqual({ show: true, held: 9997 });
  });

  it('remembers at most maxKeys keys', () => {
    const once = new OncePerWindow(60_000, 1000, 2);
    once.note('a', 0);
    once.note('b', 0);
    once.note('c', 0);
    // a was forgotten: it shows again within the window.
    expect(once.note('a', 1)).toMatchObject({ show: true });
    expect(once.note('c', 1)).toMatchObject({ show: false });
  });
});
