/**
 * The fleet's store: device groups, enrolment keys, what each enrolled router is, the operators
 * and their web sessions, and the audit log. It lives in the same database as the QoS control
 * server's store (src/cloud/store/), beside its `devices` table, so that the inventory is one
 * query over both: presence and versions from `devices`, identity and grouping from here.
 *
 * Both backends (SQLite, PostgreSQL) implement this interface and pass one contract suite
 * (test/integration/fleet/store-contract.ts). Times are wall-clock milliseconds.
 */
import type { AgentVersions, HardwareInfo, KernelFeatures } from '../../../core/protocol/messages/enrol.ts';
import type { DeviceStatus, JsonValue } from '../../store/types.ts';
import type { FleetConfigStore } from './config-types.ts';
import type { FleetCommandStore } from './commands-sql.ts';
import { DEVICE_SORTS, ENROL_POLICIES, FLEET_STATES, REENROL_POLICIES, ROLES } from '../../../core/fleet/api.ts';
import type { EnrolPolicy, FleetDeviceView, FleetState, ReenrolPolicy, Role } from '../../../core/fleet/api.ts';

export { ENROL_POLICIES, FLEET_STATES, REENROL_POLICIES, ROLES };
export type { EnrolPolicy, FleetState, ReenrolPolicy, Role };

export type { AgentVersions, HardwareInfo, KernelFeatures };

// ---- groups and enrolment keys ------------------------------------------------------------

export interface DeviceGroup {
  readonly id: string;
  readonly name: string;
  /** The policy domain whose operators see this group; null: every operator. */
  readonly domain: string | null;
  readonly enrolPolicy: EnrolPolicy;
  readonly reenrolPolicy: ReenrolPolicy;
  readonly createdAtMs: number;
}

export interface EnrolmentKey {
  /** The public part of the key, `<id>.<secret>`. */
  readonly id: string;
  readonly group: string;
  readonly label: string;
  /** SHA-256 of the secret part, hex: the secret is random and long, so a fast hash is enough. */
  readonly secretHash: string;
  readonly createdAtMs: number;
  readonly createdBy: string;
  readonly expiresAtMs: number | null;
  readonly revokedAtMs: number | null;
  readonly uses: number;
  readonly lastUsedAtMs: number | null;
}

// ---- enrolled routers ---------------------------------------------------------------------

/** An enrolled router (one source for its shape: the API's view of it). */
export type FleetDevice = FleetDeviceView;

/** The fields an operator may change on a device. */
export interface FleetDevicePatch {
  readonly name?: string;
  readonly group?: string;
  readonly tags?: readonly string[];
  readonly site?: string | null;
  readonly updatedAtMs: number;
}

export interface FleetStateChange {
  readonly state: FleetState;
  readonly reason: string | null;
  readonly atMs: number;
  /** Change only a device in one of these states (compare-and-set between server instances). */
  readonly ifStateIn?: readonly FleetState[];
}

// ---- inventory ----------------------------------------------------------------------------

export const INVENTORY_SORTS = DEVICE_SORTS;
export type InventorySort = (typeof INVENTORY_SORTS)[number];

/** A page of the inventory: every filter optional; `offset`/`limit` page it on the server. */
export interface InventoryQuery {
  /** Matches the start of the device id, name or hardware id (case-insensitive). */
  readonly search?: string;
  readonly group?: string;
  readonly tag?: string;
  readonly version?: string;
  /** Presence (from the server's `devices` table) or the fleet state. */
  readonly status?: DeviceStatus | FleetState;
  /** A kernel feature the device reported (cake, fqCodel, ctinfo, flowOffload). */
  readonly feature?: keyof Omit<KernelFeatures, 'nft'>;
  /** Only devices of groups in these domains (an operator scoped to a domain); absent: all. */
  readonly domains?: readonly string[];
  readonly sort: InventorySort;
  readonly descending: boolean;
  readonly offset: number;
  readonly limit: number;
}

/** One router as the inventory shows it: its fleet record (null for a router with a hand-made login) and its presence. */
export interface InventoryRow {
  readonly deviceId: string;
  readonly fleet: FleetDevice | null;
  /** Null for a router enrolled but never connected. */
  readonly status: DeviceStatus | null;
  readonly statusAtMs: number | null;
  readonly lastSeenMs: number | null;
  readonly agentVersion: string | null;
}

export interface InventoryPage {
  readonly total: number;
  readonly rows: InventoryRow[];
}

// ---- operators ----------------------------------------------------------------------------


export interface Operator {
  readonly id: string;
  readonly username: string;
  /** scrypt, `scrypt$N$r$p$salt$hash` (base64url). */
  readonly passwordHash: string;
  readonly role: Role;
  /** Scoped to one policy domain (sees nothing of others); null: all. */
  readonly domain: string | null;
  readonly createdAtMs: number;
  readonly disabledAtMs: number | null;
}

export interface OperatorPatch {
  readonly passwordHash?: string;
  readonly role?: Role;
  readonly domain?: string | null;
  readonly disabledAtMs?: number | null;
}

export interface WebSession {
  /** SHA-256 (hex) of the cookie's token: a stolen database gives no session. */
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly csrfToken: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

// ---- audit --------------------------------------------------------------------------------

export interface AuditEntry {
  /** Store-assigned, increasing. */
  readonly seq: number;
  readonly atMs: number;
  /** `operator:<username>`, `device:<id>`, `cli`, `system`. */
  readonly actor: string;
  /** `enrolment-key.create`, `device.approve`, `device.revoke`, `operator.create`, … */
  readonly action: string;
  readonly target: string;
  readonly before: JsonValue | null;
  readonly after: JsonValue | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq'>;

export interface AuditQuery {
  readonly actor?: string;
  readonly target?: string;
  /** Entries with seq below this (the next page going back); absent: the newest. */
  readonly beforeSeq?: number;
  readonly limit: number;
}

// ---- the interface ------------------------------------------------------------------------

export interface FleetStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Brings the fleet's tables up to date (versioned, in `fleet_migrations`). Idempotent; safe from several processes. */
  migrate(): Promise<void>;

  putGroup(group: DeviceGroup): Promise<void>;
  getGroup(id: string): Promise<DeviceGroup | null>;
  listGroups(): Promise<DeviceGroup[]>;

  /** E_CONFLICT when the id exists. */
  createKey(key: EnrolmentKey): Promise<void>;
  getKey(id: string): Promise<EnrolmentKey | null>;
  listKeys(group?: string): Promise<EnrolmentKey[]>;
  /** Sets revokedAtMs once; false for an unknown or already revoked key. */
  revokeKey(id: string, atMs: number): Promise<boolean>;
  /** Counts one use (an enrolment it let in). */
  noteKeyUse(id: string, atMs: number): Promise<void>;

  getFleetDevice(deviceId: string): Promise<FleetDevice | null>;
  getByHardwareId(hardwareId: string): Promise<FleetDevice | null>;
  /** Inserts or replaces by device id (hardware id unique: E_CONFLICT when another device has it). */
  putFleetDevice(device: FleetDevice): Promise<void>;
  /** Null when there is no such device, or its state is not in `change.ifStateIn`. */
  setFleetState(deviceId: string, change: FleetStateChange): Promise<FleetDevice | null>;
  /** Null for an unknown device. */
  patchFleetDevice(deviceId: string, patch: FleetDevicePatch): Promise<FleetDevice | null>;
  /** Counts by fleet state, and routers known to the server only (hand-made logins) as `unenrolled`. */
  countByState(domains?: readonly string[]): Promise<Record<FleetState | 'unenrolled', number>>;

  /** Over the server's `devices` and the fleet's records together; see InventoryQuery. */
  queryInventory(query: InventoryQuery): Promise<InventoryPage>;

  /** E_CONFLICT when the id or username exists. */
  createOperator(operator: Operator): Promise<void>;
  getOperator(id: string): Promise<Operator | null>;
  getOperatorByUsername(username: string): Promise<Operator | null>;
  listOperators(): Promise<Operator[]>;
  updateOperator(id: string, patch: OperatorPatch): Promise<Operator | null>;
  countOperators(): Promise<number>;

  createWebSession(session: WebSession): Promise<void>;
  /** Null when absent or expired at `nowMs`. */
  getWebSession(tokenHash: string, nowMs: number): Promise<WebSession | null>;
  deleteWebSession(tokenHash: string): Promise<void>;
  /** Ends every session of an operator (disabled, password changed). */
  deleteOperatorSessions(operatorId: string): Promise<void>;
  /** Removes sessions expired before `nowMs`; returns how many. */
  deleteExpiredSessions(nowMs: number): Promise<number>;

  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;

  /** Configuration: templates, overrides, versions, status, drafts, rollouts (config-types.ts). */
  readonly config: FleetConfigStore;
  /** Remote commands to routers (commands-sql.ts). */
  readonly commands: FleetCommandStore;
}
