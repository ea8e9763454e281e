/**
 * Rows to records, shared by both stores: column names are the same in SQLite and PostgreSQL.
 * JSON columns arrive as text from SQLite and already parsed from PostgreSQL (JSONB); every one
 * holds an object or an array, so a string is always text to parse. BIGINT columns arrive from
 * PostgreSQL as strings; times in milliseconds fit a double exactly.
 */
import type { CallAuthorization, DeviceRecord, DeviceStatus, Gate, GateRecord, InterfaceEntry, SessionPatch, SessionRecord, SessionState, UsageRecord } from './types.ts';

export type Row = Record<string, unknown>;
export const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
const jsonOrNull = <T>(value: unknown): T | null => (value === null || value === undefined ? null : json<T>(value));
export const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function deviceOf(r: Row): DeviceRecord {
  return {
    id: String(r.id),
    status: r.status as DeviceStatus,
    statusAtMs: num(r.status_at_ms),
    bootSession: numOrNull(r.boot_session),
    agentVersion: (r.agent_version as string | null) ?? null,
    board: jsonOrNull(r.board),
    capabilities: jsonOrNull(r.capabilities),
    link: jsonOrNull(r.link),
    keepaliveS: numOrNull(r.keepalive_s),
    lastSeenMs: num(r.last_seen_ms),
    desiredVersion: num(r.desired_version),
    reportedVersion: numOrNull(r.reported_version),
    interfacesVersion: numOrNull(r.interfaces_version),
    interfaces: json<InterfaceEntry[]>(r.interfaces),
    interfacesAtMs: numOrNull(r.interfaces_at_ms),
  };
}

export function sessionOf(r: Row): SessionRecord {
  return {
    callId: String(r.call_id),
    line: num(r.line),
    client: String(r.client),
    state: r.state as SessionState,
    spec: json(r.spec),
    reason: (r.reason as string | null) ?? null,
    gateIds: json<string[]>(r.gate_ids),
    createdAtMs: num(r.created_at_ms),
    updatedAtMs: num(r.updated_at_ms),
    deadlineMs: numOrNull(r.deadline_ms),
    activeAtMs: numOrNull(r.active_at_ms),
    endedAtMs: numOrNull(r.ended_at_ms),
  };
}

export function gateOf(r: Row): GateRecord {
  return {
    id: String(r.id),
    device: String(r.device),
    callId: String(r.call_id),
    line: num(r.line),
    gate: json<Gate>(r.gate),
    hash: String(r.hash),
    direction: r.direction as GateRecord['direction'],
    rateKbps: num(r.rate_kbps),
    state: r.state as GateRecord['state'],
    updatedAtMs: num(r.updated_at_ms),
    error: (r.error as string | null) ?? null,
  };
}

export function authorizationOf(r: Row): CallAuthorization {
  return {
    callId: String(r.call_id),
    transactionId: String(r.transaction_id),
    source: r.source as CallAuthorization['source'],
    token: String(r.token),
    maxDurationS: num(r.max_duration_s),
    authorizedAtMs: num(r.authorized_at_ms),
    release: jsonOrNull(r.release),
    usage: jsonOrNull(r.usage),
    usageConfirmedAtMs: numOrNull(r.usage_confirmed_at_ms),
  };
}

/** The second migration of both stores: authorizations and the tokens calls used. */
export function authorizationTables(json: string, big: string): string {
  return `CREATE TABLE call_authorizations (
     call_id TEXT PRIMARY KEY, transaction_id TEXT NOT NULL, source TEXT NOT NULL, token TEXT NOT NULL, max_duration_s INTEGER NOT NULL,
     authorized_at_ms ${big} NOT NULL, release ${json}, usage ${json}, usage_confirmed_at_ms ${big}
   );
   CREATE INDEX call_authorizations_unconfirmed ON call_authorizations (authorized_at_ms) WHERE usage IS NOT NULL AND usage_confirmed_at_ms IS NULL;
   CREATE TABLE token_uses (jti TEXT PRIMARY KEY, call_id TEXT NOT NULL, used_at_ms ${big} NOT NULL);`;
}

export function usageOf(r: Row): UsageRecord {
  return {
    device: String(r.device),
    gateId: String(r.gate_id),
    callId: (r.call_id as string | null) ?? null,
    up: { packets: num(r.up_packets), bytes: num(r.up_bytes) },
    down: { packets: num(r.down_packets), bytes: num(r.down_bytes) },
    firstSeen: numOrNull(r.first_seen),
    lastSeen: numOrNull(r.last_seen),
    ended: (r.ended as UsageRecord['ended']) ?? null,
    receivedAtMs: num(r.received_at_ms),
  };
}

/**
 * What a usage report does to the stored one: nothing after the final report, nothing for an
 * interim report with a counter below the stored one (an older report arriving late); otherwise
 * the stored record becomes this, a final report never lowering a counter an interim one raised.
 */
export function mergeUsage(old: UsageRecord, next: UsageRecord): UsageRecord | null {
  if (old.ended !== null) return null;
  const smaller = next.up.packets < old.up.packets || next.up.bytes < old.up.bytes || next.down.packets < old.down.packets || next.down.bytes < old.down.bytes;
  if (smaller && next.ended === null) return null;
  const max = Math.max;
  return {
    ...next,
    callId: next.callId ?? old.callId,
    up: { packets: max(next.up.packets, old.up.packets), bytes: max(next.up.bytes, old.up.bytes) },
    down: { packets: max(next.down.packets, old.down.packets), bytes: max(next.down.bytes, old.down.bytes) },
    firstSeen: next.firstSeen ?? old.firstSeen,
    lastSeen: next.lastSeen ?? old.lastSeen,
  };
}

/** The store's errors carry a code: E_CONFLICT, E_NOT_FOUND, E_STORE. */
export function storeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The column each SessionPatch field sets (names from here only, never from a request). */
export const SESSION_COLUMNS: Readonly<Record<keyof SessionPatch, string>> = {
  client: 'client', state: 'state', spec: 'spec', reason: 'reason', gateIds: 'gate_ids', deadlineMs: 'deadline_ms', activeAtMs: 'active_at_ms', endedAtMs: 'ended_at_ms', updatedAtMs: 'updated_at_ms',
};

/** The fields a patch sets (present and not undefined), in a fixed order. */
export function patchColumns(patch: SessionPatch): (keyof SessionPatch)[] {
  return (Object.keys(SESSION_COLUMNS) as (keyof SessionPatch)[]).filter((k) => patch[k] !== undefined);
}

/** A patch field's value as stored: JSON columns as text (JSONB takes the same text). */
export const sessionValue = (field: keyof SessionPatch, value: unknown): unknown => (field === 'spec' || field === 'gateIds' ? JSON.stringify(value) : value);
