import { describe, expect, it } from 'vitest';
import { NO_CONFIG, desire, expireWave, onReport, onRolloutResult, planWaves, rolloutCounts, startRollout, stopRollout, type Rollout } from './rollout.ts';

describe('device config state', () => {
  it('pending until the device reports, applied only from a report on the desired version', () => {
    const p = desire(NO_CONFIG, 1);
    expect(p).toEqual({ desired: 1, applied: 0, state: 'pending', reason: null });
    const a = onReport(p, { version: 1, state: 'applying' });
    expect(a?.state).toBe('applying');
    expect(onReport(a ?? p, { version: 1, state: 'applied' })).toEqual({ desired: 1, applied: 1, state: 'applied', reason: null });
  });

  it('keeps rejected and rolled-back with their reason, and the applied version', () => {
    const s = { desired: 3, applied: 2, state: 'applying', reason: null } as const;
    expect(onReport(s, { version: 3, state: 'rejected', reason: 'E_CONFIG: x' })).toEqual({ desired: 3, applied: 2, state: 'rejected', reason: 'E_CONFIG: x' });
    expect(onReport(s, { version: 3, state: 'rolled-back', reason: 'E_LINK' })?.state).toBe('rolled-back');
  });

  it('ignores stale reports, counts a late applied of an older version as applied but still pending', () => {
    const s = { desired: 3, applied: 1, state: 'pending', reason: null } as const;
    expect(onReport(s, { version: 2, state: 'rejected' })).toBeNull();
    expect(onReport(s, { version: 2, state: 'applying' })).toBeNull();
    expect(onReport(s, { version: 2, state: 'applied' })).toEqual({ desired: 3, applied: 2, state: 'pending', reason: null });
    expect(onReport({ ...s, applied: 2 }, { version: 1, state: 'applied' })).toBeNull();
  });

  it('drift whatever the version; a desired version equal to the applied one is applied at once', () => {
    expect(onReport({ desired: 2, applied: 2, state: 'applied', reason: null }, { version: 2, state: 'drift', reason: 'local edit' })?.state).toBe('drift');
    expect(desire({ desired: 2, applied: 2, state: 'drift', reason: null }, 2).state).toBe('applied');
  });
});

describe('rollout', () => {
  const devices = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const plan = { canaryPercent: 20, waveSize: 3, stopPercent: 30, waveTimeoutS: 60 };

  it('plans a canary share (at least one) then waves', () => {
    expect(planWaves(devices, plan)).toEqual([['a', 'b'], ['c', 'd', 'e'], ['f', 'g']]);
    expect(planWaves(['a', 'b'], { ...plan, canaryPercent: 1 })).toEqual([['a'], ['b']]);
    expect(planWaves([], plan)).toEqual([]);
    expect(startRollout([], plan, 0).rollout.state).toBe('completed');
  });

  it('sends the next wave when the current one has settled, and completes after the last', () => {
    let step = startRollout(devices, plan, 0);
    expect(step.send).toEqual(['a', 'b']);
    step = onRolloutResult(step.rollout, 'a', 'applied', 1);
    expect(step.send).toEqual([]);
    step = onRolloutResult(step.rollout, 'b', 'applied', 1);
    expect(step.send).toEqual(['c', 'd', 'e']);
    // A failure under the threshold (1 of 5 = 20% <= 30%) goes on.
    for (const [d, o] of [['c', 'failed'], ['d', 'applied'], ['e', 'applied']] as const) step = onRolloutResult(step.rollout, d, o, 1);
    expect(step.send).toEqual(['f', 'g']);
    step = onRolloutResult(step.rollout, 'f', 'applied', 1);
    step = onRolloutResult(step.rollout, 'g', 'applied', 1);
    expect(step.rollout.state).toBe('completed');
    expect(rolloutCounts(step.rollout)).toEqual({ total: 7, waiting: 0, sent: 0, applied: 6, failed: 1, 'timed-out': 0 });
  });

  it('stops by itself past the threshold, and sends nothing more', () => {
    let step = startRollout(devices, plan, 0);
    step = onRolloutResult(step.rollout, 'a', 'failed', 1);
    expect(step.rollout.state).toBe('stopped');
    expect(step.rollout.reason).toContain('1 of 2');
    const after = onRolloutResult(step.rollout, 'b', 'applied', 1);
    expect(after.send).toEqual([]);
    expect(after.rollout).toBe(step.rollout);
  });

  it('ignores a result from a device not sent, and an operator can stop it', () => {
    const r: Rollout = startRollout(devices, plan, 0).rollout;
    expect(onRolloutResult(r, 'g', 'failed', 1).rollout).toBe(r);
    expect(stopRollout(r, 'operator').state).toBe('stopped');
  });

  it('counts devices silent past the wave time as failed, and moves on or stops by the same rule', () => {
    let step = startRollout(devices, { ...plan, stopPercent: 50 }, 1000);
    step = onRolloutResult(step.rollout, 'a', 'applied', 2000);
    expect(expireWave(step.rollout, 60_999).rollout).toBe(step.rollout); // not yet
    step = expireWave(step.rollout, 61_000);
    // 1 of 2 silent: 50% is not past 50%, so the next wave goes, with its own clock.
    expect(step.rollout.devices.b).toBe('timed-out');
    expect(step.send).toEqual(['c', 'd', 'e']);
    expect(step.rollout.waveSentAtMs).toBe(61_000);
    step = onRolloutResult(step.rollout, 'c', 'failed', 62_000);
    expect(step.rollout.state).toBe('running'); // 2 of 5: 40%
    step = onRolloutResult(step.rollout, 'd', 'failed', 62_000);
    expect(step.rollout.state).toBe('stopped'); // 3 of 5: 60%
    expect(step.rollout.reason).toBe('3 of 5 devices sent failed (1 did not answer within 60 s): 60% > 50%');
    expect(rolloutCounts(step.rollout)).toMatchObject({ failed: 2, 'timed-out': 1, applied: 1, sent: 1 });
  });
});
