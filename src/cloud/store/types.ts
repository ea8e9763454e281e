/**
 * The QoS control server's store: the records it keeps and the one interface that both backends
 * (SQLite for one machine, PostgreSQL for several server instances) implement. Everything the
 * server must not lose across a restart lives here: devices, sessions, gates and usage.
 *
 * Records are plain JSON-able objects; times are wall-clock milliseconds. Every method is async
 * so that a synchronous backend (better-sqlite3) and a networked one (pg) fit the same shape.
 */
import type { InterfaceEntry } from '../../core/protocol/messages/interfaces.ts';
import type { Direction, EndReason, Gate } from '../../core/protocol/messages/gates.ts';
import type { QueueBackend } from '../../core/protocol/messages/session.ts';

export type { Direction, EndReason, Gate, InterfaceEntry };

// ---- devices -------------------------------------------------------------------------------

export const DEVICE_STATUSES = ['online', 'offline'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** From ubus `system board`, as the device sent it in `open`. */
export interface BoardInfo {
  readonly model: string;
  readonly name: string;
  readonly release: string;
  readonly target: string;
}

export interface DeviceCapabilities {
  readonly queues: readonly QueueBackend[];
  readonly ipv6: boolean;
  readonly maxGates: number;
}

/** The shaped link and the share of it EF may take: what admission control budgets against. */
export interface DeviceLink {
  readonly upKbps: number;
  readonly downKbps: number;
  readonly efBudgetPercent: number;
}

export interface DeviceRecord {
  readonly id: string;
  readonly status: DeviceStatus;
  readonly statusAtMs: number;
  /** The envelope `session` counter of the device's last `open`; null before any open. */
  readonly bootSession: number | null;
  /** Null for a device known only from a status message, before its first `open`. */
  readonly agentVersion: string | null;
  readonly board: BoardInfo | null;
  readonly capabilities: DeviceCapabilities | null;
  readonly link: DeviceLink | null;
  readonly keepaliveS: number | null;
  readonly lastSeenMs: number;
  /** Raised by the server on every change of the device's gates (bumpDesiredVersion); starts at 0. */
  readonly desiredVersion: number;
  /**
   * The desired-state version the device last reported reaching, as of its last keep-alive (the
   * server writes it then, not with every report); null before any.
   */
  readonly reportedVersion: number | null;
  /** The `version` of the last accepted `interfaces` report of the current boot session. */
  readonly interfacesVersion: number | null;
  readonly interfaces: readonly InterfaceEntry[];
  /** When the last accepted `interfaces` report arrived; null before any. */
  readonly interfacesAtMs: number | null;
}

/** What an `open` tells about a device. */
export interface DeviceOpen {
  readonly id: string;
  readonly bootSession: number;
  readonly agentVersion: string;
  readonly board: BoardInfo;
  readonly capabilities: DeviceCapabilities;
  readonly link: DeviceLink;
  readonly keepaliveS: number;
  readonly atMs: number;
}

export interface DeviceFilter {
  readonly status?: DeviceStatus;
}

/** Devices whose interfaces changed after `cursor`, oldest change first, and the cursor to ask with next. */
export interface InterfaceChanges {
  readonly cursor: number;
  readonly devices: DeviceRecord[];
}

// ---- sessions ------------------------------------------------------------------------------

export const SESSION_STATES = ['pending', 'active', 'failed', 'rejected', 'ending', 'ended'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** A JSON object as received (the call-control request). */
export type JsonObject = { readonly [key: string]: JsonValue };
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** One media line of one call; the key is `(callId, line)`. */
export interface SessionRecord {
  readonly callId: string;
  readonly line: number;
  /** The call-control client that asked for it. */
  readonly client: string;
  readonly state: SessionState;
  readonly spec: JsonObject;
  readonly reason: string | null;
  readonly gateIds: readonly string[];
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** When the current state times out (waiting for installs, say); null when it does not. */
  readonly deadlineMs: number | null;
  readonly activeAtMs: number | null;
  readonly endedAtMs: number | null;
}

/** The fields `updateSession` may change; absent fields keep their value. */
export interface SessionPatch {
  readonly client?: string;
  readonly state?: SessionState;
  readonly spec?: JsonObject;
  readonly reason?: string | null;
  readonly gateIds?: readonly string[];
  readonly deadlineMs?: number | null;
  readonly activeAtMs?: number | null;
  readonly endedAtMs?: number | null;
  readonly updatedAtMs: number;
}

export interface SessionFilter {
  readonly state?: SessionState;
  readonly callId?: string;
  readonly client?: string;
}

// ---- gates ---------------------------------------------------------------------------------

export const GATE_STATES = ['installing', 'installed', 'failed', 'removing', 'removed'] as const;
export type GateState = (typeof GATE_STATES)[number];

/** Gates in these states are what a device should hold (its desired state). */
export const DESIRED_GATE_STATES: readonly GateState[] = ['installing', 'installed'];
/** Gates in these states take no part of a device's EF budget. */
export const RELEASED_GATE_STATES: readonly GateState[] = ['removed', 'failed'];
/**
 * The others, which do: named rather than written as NOT IN the released ones, so that the
 * (device, state) index finds them without reading every gate the device ever had.
 */
export const HELD_GATE_STATES: readonly GateState[] = GATE_STATES.filter((s) => !RELEASED_GATE_STATES.includes(s));

export interface GateRecord {
  /** The gate id, unique across all devices; equal to `gate.id`. */
  readonly id: string;
  readonly device: string;
  readonly callId: string;
  readonly line: number;
  readonly gate: Gate;
  /** The gate's content digest (src/core/protocol/digest.ts), as sync.request carries it. */
  readonly hash: string;
  /** Equal to `gate.direction`; kept as a column so admission can sum without parsing JSON. */
  readonly direction: Direction;
  /** Equal to `gate.rateKbps`. */
  readonly rateKbps: number;
  readonly state: GateState;
  readonly updatedAtMs: number;
  readonly error: string | null;
}

export interface GateStateChange {
  readonly state: GateState;
  /** Replaces the stored error; absent keeps it. */
  readonly error?: string | null;
  readonly atMs: number;
  /** Change only a gate currently in one of these states (compare-and-set between server instances). */
  readonly ifStateIn?: readonly GateState[];
}

export interface GateFilter {
  readonly device?: string;
  readonly state?: GateState;
  readonly callId?: string;
  /** Only gates last changed before this time (ms): those whose lifetime needs refreshing. */
  readonly updatedBeforeMs?: number;
}

/** EF bandwidth a device has admitted, per direction, in kbit/s. */
export interface AdmittedKbps {
  readonly up: number;
  readonly down: number;
}

/** A device's desired gates as ids and content hashes: what the retained `desired` summary is computed from. */
/** A call's lines (by line) and gates (by id), read together. */
export interface CallRecords {
  readonly lines: readonly SessionRecord[];
  readonly gates: readonly GateRecord[];
}

export interface DesiredHashes {
  readonly version: number;
  readonly gates: { readonly id: string; readonly hash: string }[];
}

/** A device's desired state read in one snapshot: its version and the gates it should hold. */
export interface DesiredState {
  readonly version: number;
  readonly gates: Gate[];
}

// ---- usage ---------------------------------------------------------------------------------

export interface TrafficCounters {
  readonly packets: number;
  readonly bytes: number;
}

/** How a call ended, as call control told it: for the usage indication to the clearinghouse. */
export interface CallRelease {
  readonly releasedBy: 'caller' | 'callee' | 'network';
  readonly sipStatus: number | null;
  readonly reason: string | null;
}

/**
 * A call's authorization by the clearinghouse (OSP transaction), kept until its usage has been
 * confirmed. The first authorization of a call is its transaction; later ones (a re-INVITE's new
 * flows) are checked but do not replace it, so that the call has one usage indication.
 */
export interface CallAuthorization {
  readonly callId: string;
  readonly transactionId: string;
  /** The clearinghouse answered this server, or call control presented a token. */
  readonly source: 'clearinghouse' | 'token';
  /** The token, for call control to pass on in SIP (P-Media-Authorization, RFC 3313). */
  readonly token: string;
  readonly maxDurationS: number;
  readonly authorizedAtMs: number;
  readonly release: CallRelease | null;
  /** The usage indication body, once the call ended; null before. */
  readonly usage: JsonObject | null;
  readonly usageConfirmedAtMs: number | null;
}

/** One gate's usage as a device reported it; key `(device, gateId)`. */
export interface UsageRecord {
  readonly device: string;
  readonly gateId: string;
  readonly callId: string | null;
  readonly up: TrafficCounters;
  readonly down: TrafficCounters;
  readonly firstSeen: number | null;
  readonly lastSeen: number | null;
  /** Null for an interim report; set in the one final report of the gate. */
  readonly ended: EndReason | null;
  readonly receivedAtMs: number;
}

export interface UsageFilter {
  readonly callId?: string;
  readonly device?: string;
  readonly gateId?: string;
}

export interface UsageOutcome {
  /** False when the report changed nothing: a repeated final, or an interim older than what is stored. */
  readonly recorded: boolean;
}

// ---- the interface -------------------------------------------------------------------------

/** Reads and writes that work both on the store and inside a transaction. */
export interface StoreOps {
  getDevice(id: string): Promise<DeviceRecord | null>;
  listDevices(filter?: DeviceFilter): Promise<DeviceRecord[]>;
  /** Records an `open`: creates the device if absent, marks it online. A new boot session forgets the interfaces version. */
  upsertDeviceOpen(open: DeviceOpen): Promise<DeviceRecord>;
  /** Sets presence; creates a bare device (no open yet) when absent. */
  setDeviceStatus(id: string, status: DeviceStatus, atMs: number): Promise<void>;
  /** Notes that the device was heard from; the stored time never goes back. False for an unknown device. */
  touchDevice(id: string, atMs: number): Promise<boolean>;
  /** False for an unknown device. */
  setReportedVersion(id: string, version: number): Promise<boolean>;
  /**
   * Stores an `interfaces` report. False, changing nothing, for an unknown device or when `version`
   * is not newer than the stored one; true when stored (and the change counter moved on).
   */
  putInterfaces(id: string, version: number, interfaces: readonly InterfaceEntry[], atMs: number): Promise<boolean>;
  /**
   * Devices whose interfaces were stored after `cursor` (0 for all), by a store-wide change counter
   * that only grows. Fewer than `limit` devices means the caller is up to date.
   */
  interfacesChangedSince(cursor: number, limit?: number): Promise<InterfaceChanges>;

  getSession(callId: string, line: number): Promise<SessionRecord | null>;
  listSessions(filter?: SessionFilter): Promise<SessionRecord[]>;
  /**
   * Applies `patch`; null when there is no such session, or when `ifStateIn` is given and the
   * session's state is not one of them.
   */
  updateSession(callId: string, line: number, patch: SessionPatch, ifStateIn?: readonly SessionState[]): Promise<SessionRecord | null>;

  getGate(id: string): Promise<GateRecord | null>;
  listGates(filter?: GateFilter): Promise<GateRecord[]>;
  /** A call's lines and gates in one read: what listSessions and listGates by call give, in one snapshot. */
  readCall(callId: string): Promise<CallRecords>;
  /** Null when there is no such gate, or when its state is not in `change.ifStateIn`. */
  updateGateState(id: string, change: GateStateChange): Promise<GateRecord | null>;
  /**
   * A router's report that it did what it was told with these gates: each of its gates among
   * `ids` that was installing is now installed, each that was removing is removed. Returns the
   * gates changed (one statement: others, and gates of other routers, are left alone).
   */
  confirmGates(device: string, ids: readonly string[], atMs: number): Promise<GateRecord[]>;
  /** The gates the device should hold (installing or installed), by id. */
  desiredGates(deviceId: string): Promise<Gate[]>;
  /** The desired version and gates in one snapshot; null for an unknown device. */
  desiredState(deviceId: string): Promise<DesiredState | null>;
  /** Like desiredState, with each gate's id and stored hash only (no gate decoded): published after every change. */
  desiredHashes(deviceId: string): Promise<DesiredHashes | null>;

  /**
   * Idempotent: an interim report replaces the stored one when none of its counters is smaller;
   * the final report is recorded once (counters never go down) and nothing changes after it.
   */
  recordUsage(usage: UsageRecord): Promise<UsageOutcome>;
  listUsage(filter?: UsageFilter): Promise<UsageRecord[]>;

  /**
   * Notes that a token (by its `jti`) serves this call. False when another call used it before: a
   * replay. The same call presenting it again is fine (a retried or modified request).
   */
  useToken(jti: string, callId: string, atMs: number): Promise<boolean>;
  /** Stores the call's authorization unless it has one; returns the one stored. */
  putAuthorization(auth: CallAuthorization): Promise<CallAuthorization>;
  getAuthorization(callId: string): Promise<CallAuthorization | null>;
  /** Notes how the call ended, unless noted before. */
  noteRelease(callId: string, release: CallRelease): Promise<void>;
  /** Sets the usage indication once: false when it was set already (another instance built it). */
  setAuthorizationUsage(callId: string, usage: JsonObject): Promise<boolean>;
  confirmAuthorizationUsage(callId: string, atMs: number): Promise<void>;
  /** Authorizations whose usage was built but not confirmed yet, oldest first. */
  listUnconfirmedUsage(limit?: number): Promise<CallAuthorization[]>;
}

/** The names of StoreOps, for backends that build their methods from one list. */
export const STORE_OPS: readonly (keyof StoreOps)[] = [
  'getDevice', 'listDevices', 'upsertDeviceOpen', 'setDeviceStatus', 'touchDevice', 'setReportedVersion', 'putInterfaces', 'interfacesChangedSince',
  'getSession', 'listSessions', 'updateSession', 'getGate', 'listGates', 'readCall', 'updateGateState', 'confirmGates', 'desiredGates', 'desiredState', 'desiredHashes', 'recordUsage', 'listUsage',
  'useToken', 'putAuthorization', 'getAuthorization', 'noteRelease', 'setAuthorizationUsage', 'confirmAuthorizationUsage', 'listUnconfirmedUsage',
];

/** What a transaction function gets: the common operations and the ones that must be atomic. */
export interface StoreTx extends StoreOps {
  /**
   * Locks these devices' rows until the transaction ends, in id order so that two transactions
   * never deadlock on them. Returns the locked devices (unknown ids are left out), by id.
   */
  lockDevices(ids: readonly string[]): Promise<DeviceRecord[]>;
  /** Fails with E_CONFLICT when the session `(callId, line)` exists. */
  insertSession(session: SessionRecord): Promise<void>;
  /** Fails with E_CONFLICT when a gate id exists. */
  insertGates(gates: readonly GateRecord[]): Promise<void>;
  /** Returns how many of the ids existed. */
  deleteGates(ids: readonly string[]): Promise<number>;
  /** Raises the device's desired-state version by one and returns it; E_NOT_FOUND for an unknown device. */
  bumpDesiredVersion(deviceId: string): Promise<number>;
  /** EF admitted on the device: rateKbps summed over its gates not removed or failed; `both` counts twice. */
  admittedKbps(deviceId: string): Promise<AdmittedKbps>;
}

/** The names of StoreTx's operations. */
export const STORE_TX_OPS: readonly (keyof StoreTx)[] = [...STORE_OPS, 'lockDevices', 'insertSession', 'insertGates', 'deleteGates', 'bumpDesiredVersion', 'admittedKbps'];

export interface Store extends StoreOps {
  readonly backend: 'sqlite' | 'postgres';
  /** Brings the schema up to date. Idempotent; safe from several processes at once. */
  migrate(): Promise<void>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Inside,
   * use only `tx` (calling the store itself there is an error) and wait on nothing but `tx`: a
   * transaction holds locks (on SQLite, the whole database) until `fn` settles.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
