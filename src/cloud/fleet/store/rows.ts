/**
 * Rows to records for both fleet stores: column names are the same in SQLite and PostgreSQL. JSON
 * columns arrive as text from SQLite and parsed from PostgreSQL (JSONB); BIGINT columns arrive
 * from PostgreSQL as strings (the helpers of the server's store handle both).
 */
import { json, num } from '../../store/rows.ts';
import type { Row } from '../../store/rows.ts';
import type { DeviceStatus, JsonValue } from '../../store/types.ts';
import type {
  AgentVersions, AuditEntry, DeviceGroup, EnrolmentKey, FleetDevice, FleetDevicePatch, FleetState, HardwareInfo, KernelFeatures, Operator, OperatorPatch, Role,
  WebSession,
} from './types.ts';

export type { Row };

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function groupOf(r: Row): DeviceGroup {
  return {
    id: String(r.id),
    name: String(r.name),
    domain: text(r.domain),
    enrolPolicy: r.enrol_policy as DeviceGroup['enrolPolicy'],
    reenrolPolicy: r.reenrol_policy as DeviceGroup['reenrolPolicy'],
    createdAtMs: num(r.created_at_ms),
  };
}

export function keyOf(r: Row): EnrolmentKey {
  return {
    id: String(r.id),
    group: String(r.group_id),
    label: String(r.label),
    secretHash: String(r.secret_hash),
    createdAtMs: num(r.created_at_ms),
    createdBy: String(r.created_by),
    expiresAtMs: numOrNull(r.expires_at_ms),
    revokedAtMs: numOrNull(r.revoked_at_ms),
    uses: num(r.uses),
    lastUsedAtMs: numOrNull(r.last_used_at_ms),
  };
}

/** fleet_devices' columns in insert order (the values of fleetDeviceValues). */
export const FLEET_DEVICE_COLUMNS = [
  'device_id', 'hardware_id', 'group_id', 'name', 'tags', 'site', 'state', 'state_reason', 'key_id', 'hostname', 'hardware', 'versions', 'agent_version',
  'features', 'source_address', 'requested_at_ms', 'enrolled_at_ms', 'updated_at_ms', 'enrolments',
] as const;

export function fleetDeviceValues(d: FleetDevice): unknown[] {
  return [
    d.deviceId, d.hardwareId, d.group, d.name, JSON.stringify(d.tags), d.site, d.state, d.stateReason, d.keyId, d.hostname, JSON.stringify(d.hardware),
    JSON.stringify(d.versions), d.versions.agent, JSON.stringify(d.features), d.sourceAddress, d.requestedAtMs, d.enrolledAtMs, d.updatedAtMs, d.enrolments,
  ];
}

export function fleetDeviceOf(r: Row): FleetDevice {
  return {
    deviceId: String(r.device_id),
    hardwareId: String(r.hardware_id),
    group: String(r.group_id),
    name: String(r.name),
    tags: json<string[]>(r.tags),
    site: text(r.site),
    state: r.state as FleetState,
    stateReason: text(r.state_reason),
    keyId: String(r.key_id),
    hostname: text(r.hostname),
    hardware: json<HardwareInfo>(r.hardware),
    versions: json<AgentVersions>(r.versions),
    features: json<KernelFeatures>(r.features),
    sourceAddress: text(r.source_address),
    requestedAtMs: num(r.requested_at_ms),
    enrolledAtMs: numOrNull(r.enrolled_at_ms),
    updatedAtMs: num(r.updated_at_ms),
    enrolments: num(r.enrolments),
  };
}

/** The columns a device patch sets, with their stored values (names from here only, never from a request). */
export function devicePatchSets(p: FleetDevicePatch): [string, unknown][] {
  const sets: [string, unknown][] = [];
  if (p.name !== undefined) sets.push(['name', p.name]);
  if (p.group !== undefined) sets.push(['group_id', p.group]);
  if (p.tags !== undefined) sets.push(['tags', JSON.stringify(p.tags)]);
  if (p.site !== undefined) sets.push(['site', p.site]);
  sets.push(['updated_at_ms', p.updatedAtMs]);
  return sets;
}

export function operatorOf(r: Row): Operator {
  return {
    id: String(r.id),
    username: String(r.username),
    passwordHash: String(r.password_hash),
    role: r.role as Role,
    domain: text(r.domain),
    createdAtMs: num(r.created_at_ms),
    disabledAtMs: numOrNull(r.disabled_at_ms),
  };
}

export function operatorPatchSets(p: OperatorPatch): [string, unknown][] {
  const sets: [string, unknown][] = [];
  if (p.passwordHash !== undefined) sets.push(['password_hash', p.passwordHash]);
  if (p.role !== undefined) sets.push(['role', p.role]);
  if (p.domain !== undefined) sets.push(['domain', p.domain]);
  if (p.disabledAtMs !== undefined) sets.push(['disabled_at_ms', p.disabledAtMs]);
  return sets;
}

export function webSessionOf(r: Row): WebSession {
  return {
    tokenHash: String(r.token_hash),
    operatorId: String(r.operator_id),
    csrfToken: String(r.csrf_token),
    createdAtMs: num(r.created_at_ms),
    expiresAtMs: num(r.expires_at_ms),
  };
}

export function auditOf(r: Row): AuditEntry {
  return {
    seq: num(r.seq),
    atMs: num(r.at_ms),
    actor: String(r.actor),
    action: String(r.action),
    target: String(r.target),
    // Stored as JSON text of the value (a JSON null is the SQL NULL): a string value round-trips.
    before: r.before === null || r.before === undefined ? null : decodeJsonValue(r.before),
    after: r.after === null || r.after === undefined ? null : decodeJsonValue(r.after),
  };
}

/** Audit values may be any JSON value, strings included, so they are always stored as JSON text (TEXT columns on both backends). */
const decodeJsonValue = (v: unknown): JsonValue => JSON.parse(String(v)) as JsonValue;
export const encodeJsonValue = (v: JsonValue | null): string | null => (v === null ? null : JSON.stringify(v));

/** An inventory row's presence half (the device columns the inventory statement names). */
export function presenceOf(r: Row): { status: DeviceStatus | null; statusAtMs: number | null; lastSeenMs: number | null; agentVersion: string | null } {
  return {
    status: (r.presence as DeviceStatus | null) ?? null,
    statusAtMs: numOrNull(r.presence_at_ms),
    lastSeenMs: numOrNull(r.last_seen_ms),
    agentVersion: text(r.inv_version),
  };
}
