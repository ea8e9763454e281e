/**
 * Two state machines of the fleet's configuration, as plain data and pure transitions (the
 * server stores the data and acts on what a transition returns):
 *
 * - a device's configuration state: pending (a desired version it has not applied yet) ->
 *   applying -> applied | rejected | rolled-back, and drift (a local edit on the router). Only a
 *   report from the device moves it to applied: never a heartbeat, never a guess.
 * - a staged rollout to a group: a canary share of the devices first, then waves of a fixed
 *   size; each wave starts when every device of the one before has answered (applied, rejected
 *   or rolled back); the rollout stops by itself when the share of failed devices among those
 *   sent passes the threshold.
 */
import type { ConfigState } from '../protocol/messages/config.ts';

// ---- a device's configuration state -----------------------------------------------------------

export const DEVICE_CONFIG_STATES = ['pending', 'applying', 'applied', 'rejected', 'rolled-back', 'drift'] as const;
export type DeviceConfigState = (typeof DEVICE_CONFIG_STATES)[number];

export interface DeviceConfigStatus {
  /** The version the server wants the device to run; 0: none yet. */
  readonly desired: number;
  /** The last version the device reported applied; 0: none. */
  readonly applied: number;
  readonly state: DeviceConfigState;
  readonly reason: string | null;
}

export const NO_CONFIG: DeviceConfigStatus = { desired: 0, applied: 0, state: 'applied', reason: null };

/** A new desired version: pending until the device reports on it. */
export function desire(status: DeviceConfigStatus, version: number): DeviceConfigStatus {
  return { desired: version, applied: status.applied, state: version === status.applied ? 'applied' : 'pending', reason: null };
}

export interface ConfigReportFacts {
  readonly version: number;
  readonly state: ConfigState;
  readonly reason?: string;
}

/**
 * A report's effect, or null when it changes nothing: a report on a version other than the
 * desired one is stale (a late answer to an earlier apply), except `applied` (the router does run
 * it) and drift (about what the router runs, whatever the version).
 */
export function onReport(status: DeviceConfigStatus, report: ConfigReportFacts): DeviceConfigStatus | null {
  const reason = report.reason ?? null;
  switch (report.state) {
    case 'drift':
      return { ...status, state: 'drift', reason };
    case 'applied':
      if (report.version < status.applied) return null;
      return { desired: status.desired, applied: report.version, state: report.version === status.desired ? 'applied' : 'pending', reason: null };
    case 'applying':
      return report.version === status.desired && status.state === 'pending' ? { ...status, state: 'applying', reason: null } : null;
    case 'rejected':
    case 'rolled-back':
      return report.version === status.desired ? { ...status, state: report.state, reason } : null;
  }
}

/** True once the device answered its desired version for good (a rollout's wave waits for this). */
export function isSettled(state: DeviceConfigState): boolean {
  return state === 'applied' || state === 'rejected' || state === 'rolled-back';
}

// ---- staged rollout ---------------------------------------------------------------------------

export const ROLLOUT_STATES = ['running', 'completed', 'stopped'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];
/** `timed-out`: sent, but no answer within the wave's time; counted as failed. */
export const ROLLOUT_DEVICE_STATES = ['waiting', 'sent', 'applied', 'failed', 'timed-out'] as const;
export type RolloutDeviceState = (typeof ROLLOUT_DEVICE_STATES)[number];

export interface RolloutPlan {
  /** Share of the devices in the first wave, 1..100 (at least one device). */
  readonly canaryPercent: number;
  /** Devices per later wave. */
  readonly waveSize: number;
  /** Stop when failed / sent exceeds this percentage (0: the first failure stops it). */
  readonly stopPercent: number;
  /** How long a wave waits for its devices' answers; the silent ones then count as failed. */
  readonly waveTimeoutS: number;
}

export interface Rollout {
  readonly plan: RolloutPlan;
  /** Device ids by wave; wave 0 is the canary. */
  readonly waves: readonly (readonly string[])[];
  /** The wave sent last, and when. */
  readonly wave: number;
  readonly waveSentAtMs: number;
  readonly state: RolloutState;
  readonly devices: Readonly<Record<string, RolloutDeviceState>>;
  readonly reason: string | null;
}

export interface RolloutCounts {
  readonly total: number;
  readonly waiting: number;
  readonly sent: number;
  readonly applied: number;
  readonly failed: number;
  readonly 'timed-out': number;
}

export interface RolloutStep {
  readonly rollout: Rollout;
  /** Devices to send their desired version to now. */
  readonly send: readonly string[];
}

/** The waves for `devices` (in their order): ceil(canary share) first, then `waveSize` at a time. */
export function planWaves(devices: readonly string[], plan: RolloutPlan): string[][] {
  if (devices.length === 0) return [];
  const canary = Math.min(devices.length, Math.max(1, Math.ceil((devices.length * plan.canaryPercent) / 100)));
  const waves = [devices.slice(0, canary)];
  for (let i = canary; i < devices.length; i += Math.max(1, plan.waveSize)) waves.push(devices.slice(i, i + Math.max(1, plan.waveSize)));
  return waves;
}

/** A new rollout, its canary wave sent. */
export function startRollout(devices: readonly string[], plan: RolloutPlan, nowMs: number): RolloutStep {
  const waves = planWaves(devices, plan);
  const state: Record<string, RolloutDeviceState> = {};
  for (const d of devices) state[d] = 'waiting';
  const first = waves[0] ?? [];
  for (const d of first) state[d] = 'sent';
  const rollout: Rollout = { plan, waves, wave: 0, waveSentAtMs: nowMs, state: waves.length === 0 ? 'completed' : 'running', devices: state, reason: null };
  return { rollout, send: first };
}

export function rolloutCounts(r: Rollout): RolloutCounts {
  const c = { total: 0, waiting: 0, sent: 0, applied: 0, failed: 0, 'timed-out': 0 };
  for (const s of Object.values(r.devices)) {
    c.total++;
    c[s]++;
  }
  return c;
}

/**
 * A device of the rollout settled (applied, or failed: rejected or rolled back). Stops past the
 * threshold; starts the next wave when this one is done; completes after the last.
 */
export function onRolloutResult(r: Rollout, deviceId: string, outcome: 'applied' | 'failed', nowMs: number): RolloutStep {
  if (r.state !== 'running' || r.devices[deviceId] !== 'sent') return { rollout: r, send: [] };
  return advance(r, { ...r.devices, [deviceId]: outcome }, nowMs);
}

/** The wave's time is up: its devices that have not answered count as failed (`timed-out`). */
export function expireWave(r: Rollout, nowMs: number): RolloutStep {
  if (r.state !== 'running' || nowMs < r.waveSentAtMs + r.plan.waveTimeoutS * 1000) return { rollout: r, send: [] };
  const devices = { ...r.devices };
  let silent = 0;
  for (const d of r.waves[r.wave] ?? []) {
    if (devices[d] === 'sent') {
      devices[d] = 'timed-out';
      silent++;
    }
  }
  return silent === 0 ? { rollout: r, send: [] } : advance(r, devices, nowMs);
}

function advance(r: Rollout, devices: Record<string, RolloutDeviceState>, nowMs: number): RolloutStep {
  const counts = rolloutCounts({ ...r, devices });
  const started = counts.total - counts.waiting;
  const failed = counts.failed + counts['timed-out'];
  const failedPercent = (failed * 100) / started;
  if (failed > 0 && failedPercent > r.plan.stopPercent) {
    const silent = counts['timed-out'] > 0 ? ` (${counts['timed-out']} did not answer within ${r.plan.waveTimeoutS} s)` : '';
    const reason = `${failed} of ${started} devices sent failed${silent}: ${failedPercent.toFixed(0)}% > ${r.plan.stopPercent}%`;
    return { rollout: { ...r, devices, state: 'stopped', reason }, send: [] };
  }
  const wave = r.waves[r.wave] ?? [];
  if (wave.some((d) => devices[d] === 'sent')) return { rollout: { ...r, devices }, send: [] };
  const next = r.wave + 1;
  const nextWave = r.waves[next];
  if (nextWave === undefined) return { rollout: { ...r, devices, state: 'completed' }, send: [] };
  for (const d of nextWave) devices[d] = 'sent';
  return { rollout: { ...r, devices, wave: next, waveSentAtMs: nowMs }, send: nextWave };
}

/** An operator's stop. */
export function stopRollout(r: Rollout, reason: string): Rollout {
  return r.state === 'running' ? { ...r, state: 'stopped', reason } : r;
}
