import { describe, expect, it } from 'vitest';
import type { Overview } from '../../core/fleet/api.ts';
import { MAX_POINTS, appendSample, emptySeries } from './overview-series.ts';

const overview = (active: number, up: number, down: number): Overview => ({
  atMs: 0,
  devices: { online: 0, offline: 0, pending: 0, approved: 0, accepted: 0, rejected: 0, revoked: 0, unenrolled: 0 },
  sessions: { active, pending: 0 },
  efKbps: { up, down },
});

describe('overview chart series', () => {
  it('adds one point per sample with calls and EF per direction', () => {
    let s = appendSample(emptySeries, overview(1, 100, 200), 10_000);
    s = appendSample(s, overview(2, 180, 260), 15_000);
    expect(s).toEqual({ t: [10, 15], calls: [1, 2], efUp: [100, 180], efDown: [200, 260] });
  });

  it('replaces the last point when a sample comes at the same time or earlier (a clock step)', () => {
    let s = appendSample(emptySeries, overview(1, 100, 200), 10_000);
    s = appendSample(s, overview(3, 300, 400), 9_000);
    expect(s).toEqual({ t: [10], calls: [3], efUp: [300], efDown: [400] });
  });

  it('keeps a bounded window, dropping the oldest', () => {
    let s = emptySeries;
    for (let i = 0; i < MAX_POINTS + 5; i++) s = appendSample(s, overview(i, 0, 0), (i + 1) * 1000);
    expect(s.t.length).toBe(MAX_POINTS);
    expect(s.calls[0]).toBe(5);
    expect(s.t[s.t.length - 1]).toBe(MAX_POINTS + 5);
  });
});
