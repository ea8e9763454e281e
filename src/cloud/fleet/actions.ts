/**
 * What an operator (through the HTTP API or the CLI) may do to the fleet. Each action checks its
 * input, changes the store, writes one audit entry (who, what, before, after) and returns the
 * new record or an error with a stable code (E_NOT_FOUND, E_CONFLICT, E_STATE, E_INPUT, …).
 * Role checks are the caller's (the HTTP layer); the actor's domain scope is checked here, so
 * that an operator of domain A can touch nothing of domain B whatever the caller forgot.
 */
import type { Result } from '../../core/result.ts';
import type { DeviceGroup, EnrolmentKey, EnrolPolicy, FleetDevice, FleetDevicePatch, ReenrolPolicy } from './store/types.ts';

export interface Actor {
  /** For the audit log: `operator:<username>`, `cli`, `system`. */
  readonly name: string;
  /** The policy domain the actor is scoped to; null: all. */
  readonly domain: string | null;
}

export interface NewGroup {
  readonly id: string;
  readonly name: string;
  readonly domain: string | null;
  readonly enrolPolicy: EnrolPolicy;
  readonly reenrolPolicy: ReenrolPolicy;
}

export interface NewKey {
  readonly group: string;
  readonly label: string;
  /** Null: never expires. */
  readonly expiresAtMs: number | null;
}

export interface FleetActions {
  createGroup(actor: Actor, group: NewGroup): Promise<Result<DeviceGroup>>;
  /** The whole key (`<id>.<secret>`) is returned here once and never stored. */
  createKey(actor: Actor, key: NewKey): Promise<Result<{ readonly key: EnrolmentKey; readonly secret: string }>>;
  revokeKey(actor: Actor, id: string): Promise<Result<EnrolmentKey>>;
  /** A pending router: its login is made at its next request (within its retry interval). */
  approve(actor: Actor, deviceId: string): Promise<Result<FleetDevice>>;
  reject(actor: Actor, deviceId: string, reason: string): Promise<Result<FleetDevice>>;
  /** Disables the router's login, disconnects it at once and ends its live gates with the reason. */
  revoke(actor: Actor, deviceId: string, reason: string): Promise<Result<FleetDevice>>;
  patchDevice(actor: Actor, deviceId: string, patch: Omit<FleetDevicePatch, 'updatedAtMs'>): Promise<Result<FleetDevice>>;
}
