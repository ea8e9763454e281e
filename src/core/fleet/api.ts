/**
 * The operators' HTTP API (`/api/v1/…`): one place for its shapes, imported by the cloud's HTTP
 * layer (src/cloud/http/) and by the browser dashboard (src/dashboard/).
 *
 * Request bodies and query strings are the core's schemas (validated on the server, and turned
 * into the OpenAPI document by `describe`); response bodies are TypeScript types. `ROUTES` is the
 * route list as data: the server registers exactly these, checks each one's role, and the
 * OpenAPI document and the role-matrix test are built from it.
 *
 * Conventions: JSON in and out; times are wall-clock milliseconds (`…Ms`); an error is
 * `{error: {code, message, path?}}` with the HTTP status of `ERROR_STATUS[code]` (400 for a
 * schema error, whose `path` names the field: `body.username`, `query.limit`). Every request
 * that changes something carries the header `x-csrf-token` with the session's `csrfToken`.
 */
import type { Result } from '../result.ts';
import type { InterfaceEntry } from '../protocol/messages/interfaces.ts';
import type { Direction, EndReason, Gate } from '../protocol/messages/gates.ts';
import type { AgentVersions, HardwareInfo, KernelFeatures } from '../protocol/messages/enrol.ts';
import { DEVICE_ID } from '../protocol/fields.ts';
import { Code, arr, bool, failAt, int, nullable, obj, oneOf, optional, str, type Infer, type Schema } from '../protocol/schema.ts';
import { ok } from '../result.ts';
import { queryInt } from './query.ts';

export { queryInt };
import { CALL_ROUTES } from './api-calls.ts';
import { CONFIG_ROUTES } from './api-config.ts';
import { COMMAND_ROUTES } from './api-commands.ts';

export const API_PREFIX = '/api/v1';
/** The header that carries the session's CSRF token on every state-changing request. */
export const CSRF_HEADER = 'x-csrf-token';
/** The session cookie (HttpOnly, SameSite=Strict, Path=/, Secure under TLS). */
export const SESSION_COOKIE = 'callqos_session';
/** Most rows one list request returns. */
export const PAGE_MAX = 200;

// ---- roles and errors -----------------------------------------------------------------------

/** viewer reads; operator also changes devices (and, later, commands and configuration); admin also manages operators, keys, groups, approval, revocation. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** Who may call a route: `public` needs no session. */
export type Access = Role | 'public';

/** True when `role` has at least the rights of `needed`. */
export function roleAllows(role: Role, needed: Access): boolean {
  if (needed === 'public') return true;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Stable error codes of the API and the HTTP status each is sent with. Schema errors (E_TYPE, E_REQUIRED, …) are 400. */
export const ERROR_STATUS = {
  E_INPUT: 400,
  /** A configuration the agent's spec refuses; `path` names the first field (`qos.uplink_kbit`). */
  E_CONFIG: 400,
  E_UNAUTHENTICATED: 401,
  E_FORBIDDEN: 403,
  E_CSRF: 403,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_STATE: 409,
  E_TOO_LARGE: 413,
  E_RATE_LIMITED: 429,
  E_INTERNAL: 500,
} as const;
export type ApiErrorCode = keyof typeof ERROR_STATUS;

export function statusOf(code: string): number {
  if (Object.prototype.hasOwnProperty.call(ERROR_STATUS, code)) return ERROR_STATUS[code as ApiErrorCode];
  return (Object.values(Code) as string[]).includes(code) ? 400 : 500;
}

export interface ApiError {
  readonly error: { readonly code: string; readonly message: string; readonly path?: string };
}

// ---- field schemas --------------------------------------------------------------------------

export const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
export const username = str({ min: 1, max: 64, pattern: USERNAME, format: 'username ([A-Za-z0-9_.@-], 1..64)' });
/** A new password: long enough that a guess costs; login takes any length up to the bound. */
export const newPassword = str({ min: 12, max: 256 });
const anyPassword = str({ min: 1, max: 256 });
/** A policy domain, group id: one path segment of safe characters. */
export const domainName = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'domain name' });
export const groupId = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'group id' });
export const deviceIdParam = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'device id' });
export const keyIdParam = str({ min: 4, max: 32, pattern: /^[A-Za-z0-9]{4,32}$/, format: 'key id' });
export const operatorIdParam = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]{1,64}$/, format: 'operator id' });
const tag = str({ min: 1, max: 32, pattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$/, format: 'tag' });
const shortText = (max: number, min = 0) => str({ min, max });
const reason = str({ min: 1, max: 200 });


// ---- request schemas ------------------------------------------------------------------------

export const loginBody = obj({ username, password: anyPassword });
export const setupBody = obj({ token: str({ min: 16, max: 128, pattern: /^[A-Za-z0-9_-]+$/, format: 'setup token' }), username, password: newPassword });

/** auto: a router with a valid key is accepted at once (OpenWISP); approve: it waits for an operator. */
export const ENROL_POLICIES = ['auto', 'approve'] as const;
export type EnrolPolicy = (typeof ENROL_POLICIES)[number];
/** A known hardware id enrolling again (a reflashed router): replace its login and keep its history, or hold it for approval. */
export const REENROL_POLICIES = ['replace', 'hold'] as const;
export type ReenrolPolicy = (typeof REENROL_POLICIES)[number];
/**
 * pending: asked, waiting for an operator; approved: an operator said yes, the login is made at
 * the router's next request (its password is never stored); accepted: it has its login;
 * rejected: an operator said no; revoked: its login is disabled.
 */
export const FLEET_STATES = ['pending', 'approved', 'accepted', 'rejected', 'revoked'] as const;
export type FleetState = (typeof FLEET_STATES)[number];

export const DEVICE_STATUS_FILTERS = ['online', 'offline', ...FLEET_STATES] as const;
export const DEVICE_FEATURES = ['cake', 'fqCodel', 'ctinfo', 'flowOffload'] as const;
export const DEVICE_SORTS = ['id', 'name', 'group', 'status', 'lastSeen', 'version'] as const;
export const ORDERS = ['asc', 'desc'] as const;

export const devicesQuery = obj({
  search: optional(shortText(64, 1)),
  group: optional(groupId),
  tag: optional(tag),
  version: optional(shortText(32, 1)),
  status: optional(oneOf(DEVICE_STATUS_FILTERS)),
  feature: optional(oneOf(DEVICE_FEATURES)),
  sort: optional(oneOf(DEVICE_SORTS)),
  order: optional(oneOf(ORDERS)),
  offset: optional(queryInt({ min: 0, max: 10_000_000 })),
  limit: optional(queryInt({ min: 1, max: PAGE_MAX })),
});

export const devicePatchBody = obj({
  name: optional(shortText(64, 1)),
  group: optional(groupId),
  tags: optional(arr(tag, { max: 16, unique: { key: (t) => t } })),
  site: optional(nullable(shortText(64, 1))),
});
export const reasonBody = obj({ reason });

export const groupBody = obj({
  id: groupId,
  name: shortText(64, 1),
  domain: nullable(domainName),
  enrolPolicy: oneOf(ENROL_POLICIES),
  reenrolPolicy: oneOf(REENROL_POLICIES),
});

export const keyBody = obj({
  group: groupId,
  label: shortText(64),
  /** Null: never expires. */
  expiresAtMs: nullable(int({ min: 0 })),
});

export const operatorBody = obj({
  username,
  role: oneOf(ROLES),
  domain: nullable(domainName),
  /** Absent: the server generates one and returns it once. */
  password: optional(newPassword),
});
export const operatorPatchBody = obj({
  role: optional(oneOf(ROLES)),
  domain: optional(nullable(domainName)),
  /** True disables the account and ends its sessions; false enables it again. */
  disabled: optional(bool()),
  password: optional(newPassword),
});

export const SESSION_STATES = ['pending', 'active', 'failed', 'rejected', 'ending', 'ended'] as const;
export const sessionsQuery = obj({
  state: optional(oneOf(SESSION_STATES)),
  callId: optional(str({ min: 1, max: 256, pattern: /^[\x21-\x7e]+$/, format: 'call id (printable ASCII)' })),
  limit: optional(queryInt({ min: 1, max: PAGE_MAX })),
});
export const usageQuery = obj({
  callId: optional(str({ min: 1, max: 256, pattern: /^[\x21-\x7e]+$/, format: 'call id (printable ASCII)' })),
  device: optional(deviceIdParam),
  limit: optional(queryInt({ min: 1, max: PAGE_MAX })),
});
export const auditQuery = obj({
  beforeSeq: optional(queryInt({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  limit: optional(queryInt({ min: 1, max: PAGE_MAX })),
});

export const idParams = obj({ id: deviceIdParam });
export const keyParams = obj({ id: keyIdParam });
export const operatorParams = obj({ id: operatorIdParam });

export type LoginBody = Infer<typeof loginBody>;
export type SetupBody = Infer<typeof setupBody>;
export type DevicesQuery = Infer<typeof devicesQuery>;
export type DevicePatchBody = Infer<typeof devicePatchBody>;
export type ReasonBody = Infer<typeof reasonBody>;
export type GroupBody = Infer<typeof groupBody>;
export type KeyBody = Infer<typeof keyBody>;
export type OperatorBody = Infer<typeof operatorBody>;
export type OperatorPatchBody = Infer<typeof operatorPatchBody>;
export type SessionsQuery = Infer<typeof sessionsQuery>;
export type UsageQuery = Infer<typeof usageQuery>;
export type AuditQuery = Infer<typeof auditQuery>;

// ---- response types -------------------------------------------------------------------------

export interface OperatorIdentity {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  /** Scoped to one policy domain; null: sees all. */
  readonly domain: string | null;
}
/** POST /auth/login, POST /auth/setup, GET /auth/me. */
export interface SessionInfo {
  readonly operator: OperatorIdentity;
  /** Send as header `x-csrf-token` on every POST/PATCH/DELETE. */
  readonly csrfToken: string;
}

export interface OperatorView extends OperatorIdentity {
  readonly createdAtMs: number;
  readonly disabledAtMs: number | null;
}
/** POST /operators: the password is shown here once when the server generated it. */
export interface CreatedOperator {
  readonly operator: OperatorView;
  readonly password: string | null;
}

export const DEVICE_COUNT_KEYS = ['online', 'offline', 'pending', 'approved', 'accepted', 'rejected', 'revoked', 'unenrolled'] as const;
export type DeviceCountKey = (typeof DEVICE_COUNT_KEYS)[number];

/** GET /overview, and the `overview` server-sent event. */
export interface Overview {
  readonly atMs: number;
  /** online/offline: presence; the others: fleet state (unenrolled: routers with a hand-made login). */
  readonly devices: Record<DeviceCountKey, number>;
  /** Call media lines by state. */
  readonly sessions: { readonly active: number; readonly pending: number };
  /** EF admitted over the visible fleet, kbit/s, per direction (a `both` gate counts in each). */
  readonly efKbps: { readonly up: number; readonly down: number };
}

export type DeviceStatus = 'online' | 'offline';

/** An enrolled router as the fleet keeps it (the fleet store's record is this type). */
export interface FleetDeviceView {
  /** The device id (and broker username) it has or will have; stable across re-enrolment. */
  readonly deviceId: string;
  readonly hardwareId: string;
  readonly group: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly site: string | null;
  readonly state: FleetState;
  /** Why it is in its state (E_CODE: detail), for rejected, revoked and held re-enrolments. */
  readonly stateReason: string | null;
  readonly keyId: string;
  readonly hostname: string | null;
  readonly hardware: HardwareInfo;
  readonly versions: AgentVersions;
  readonly features: KernelFeatures;
  /** The address its last enrolment request came from, where the broker tells it; null otherwise. */
  readonly sourceAddress: string | null;
  readonly requestedAtMs: number;
  readonly enrolledAtMs: number | null;
  readonly updatedAtMs: number;
  /** How many times it enrolled (re-enrolments of a reflashed router add one). */
  readonly enrolments: number;
}

/** One row of GET /devices. */
export interface InventoryRowView {
  readonly deviceId: string;
  /** Null for a router with a hand-made login. */
  readonly fleet: FleetDeviceView | null;
  /** Null for a router enrolled but never connected. */
  readonly status: DeviceStatus | null;
  readonly statusAtMs: number | null;
  readonly lastSeenMs: number | null;
  readonly agentVersion: string | null;
}
export interface Page<T> {
  readonly total: number;
  readonly rows: T[];
}
export type DevicesPage = Page<InventoryRowView>;

export type GateState = 'installing' | 'installed' | 'failed' | 'removing' | 'removed';
export interface GateView {
  readonly id: string;
  readonly device: string;
  readonly callId: string;
  readonly line: number;
  readonly gate: Gate;
  readonly direction: Direction;
  readonly rateKbps: number;
  readonly state: GateState;
  readonly updatedAtMs: number;
  readonly error: string | null;
}

export interface PresenceView {
  readonly status: DeviceStatus;
  readonly statusAtMs: number;
  readonly lastSeenMs: number;
  readonly agentVersion: string | null;
  readonly board: { readonly model: string; readonly name: string; readonly release: string; readonly target: string } | null;
  readonly link: { readonly upKbps: number; readonly downKbps: number; readonly efBudgetPercent: number } | null;
  readonly desiredVersion: number;
  readonly reportedVersion: number | null;
}

/** GET /devices/:id. */
export interface DeviceDetail {
  readonly deviceId: string;
  readonly fleet: FleetDeviceView | null;
  /** Null for a router that never connected. */
  readonly presence: PresenceView | null;
  readonly interfaces: readonly InterfaceEntry[];
  readonly interfacesAtMs: number | null;
  /** Gates the router holds or is told to hold (not removed or failed). */
  readonly gates: GateView[];
  /** EF admitted on the router, kbit/s, per direction (a `both` gate counts in each). */
  readonly admittedKbps: { readonly up: number; readonly down: number };
}

export interface GroupView {
  readonly id: string;
  readonly name: string;
  readonly domain: string | null;
  readonly enrolPolicy: 'auto' | 'approve';
  readonly reenrolPolicy: 'replace' | 'hold';
  readonly createdAtMs: number;
}

/** An enrolment key as listed: never its secret or the secret's hash. */
export interface EnrolmentKeyView {
  readonly id: string;
  readonly group: string;
  readonly label: string;
  readonly createdAtMs: number;
  readonly createdBy: string;
  readonly expiresAtMs: number | null;
  readonly revokedAtMs: number | null;
  readonly uses: number;
  readonly lastUsedAtMs: number | null;
}
/** POST /enrolment-keys: `key` (`<id>.<secret>`) is shown here once and never again. */
export interface CreatedKey {
  readonly enrolmentKey: EnrolmentKeyView;
  readonly key: string;
}

export type SessionState = (typeof SESSION_STATES)[number];
/** One media line of one call, with the gates it asked for at each router. */
export interface SessionView {
  readonly callId: string;
  readonly line: number;
  readonly client: string;
  readonly state: SessionState;
  /** The call-control request as received. */
  readonly spec: { readonly [key: string]: unknown };
  readonly reason: string | null;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly activeAtMs: number | null;
  readonly endedAtMs: number | null;
  readonly gates: GateView[];
}

export interface UsageView {
  readonly device: string;
  readonly gateId: string;
  readonly callId: string | null;
  readonly up: { readonly packets: number; readonly bytes: number };
  readonly down: { readonly packets: number; readonly bytes: number };
  readonly firstSeen: number | null;
  readonly lastSeen: number | null;
  /** Null for an interim report. */
  readonly ended: EndReason | null;
  readonly receivedAtMs: number;
}

export interface AuditEntryView {
  readonly seq: number;
  readonly atMs: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly before: unknown;
  readonly after: unknown;
}
export interface AuditPage {
  readonly rows: AuditEntryView[];
  /** Ask with `beforeSeq` = this for the next (older) page; null at the end. */
  readonly nextBeforeSeq: number | null;
}

export interface Rows<T> {
  readonly rows: T[];
}

// ---- the routes -----------------------------------------------------------------------------

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteSpec {
  readonly name: string;
  readonly method: Method;
  /** Fastify syntax: `/api/v1/devices/:id`. */
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly params?: Schema<unknown>;
  readonly query?: Schema<unknown>;
  readonly body?: Schema<unknown>;
  /** The response type's name above, for the document and for readers. */
  readonly response: string;
  /** Domain-scoped: another domain's resource answers 404 E_NOT_FOUND. */
  readonly scoped?: boolean;
  /** `text/event-stream` rather than JSON. */
  readonly stream?: boolean;
}

const p = API_PREFIX;

/** Every route of the API, in the order the document lists them. */
export const ROUTES = [
  { name: 'login', method: 'POST', path: `${p}/auth/login`, access: 'public', body: loginBody, response: 'SessionInfo', summary: 'Log in: sets the session cookie and returns the CSRF token' },
  { name: 'logout', method: 'POST', path: `${p}/auth/logout`, access: 'viewer', response: 'Empty', summary: 'Log out: the session ends' },
  { name: 'me', method: 'GET', path: `${p}/auth/me`, access: 'viewer', response: 'SessionInfo', summary: 'The logged-in operator and the session CSRF token' },
  { name: 'setup', method: 'POST', path: `${p}/auth/setup`, access: 'public', body: setupBody, response: 'SessionInfo', summary: 'Create the first admin with the one-time setup token the server logged' },
  { name: 'overview', method: 'GET', path: `${p}/overview`, access: 'viewer', response: 'Overview', summary: 'Devices by state, live calls, EF admitted per direction' },
  { name: 'listDevices', method: 'GET', path: `${p}/devices`, access: 'viewer', query: devicesQuery, response: 'DevicesPage', summary: 'The inventory: search, filter, sort, paginated by the server' },
  { name: 'getDevice', method: 'GET', path: `${p}/devices/:id`, access: 'viewer', params: idParams, scoped: true, response: 'DeviceDetail', summary: 'One router: fleet record, presence, interfaces, live gates, EF admitted' },
  { name: 'patchDevice', method: 'PATCH', path: `${p}/devices/:id`, access: 'operator', params: idParams, body: devicePatchBody, scoped: true, response: 'FleetDeviceView', summary: 'Change a router\'s name, group, tags or site' },
  { name: 'approveDevice', method: 'POST', path: `${p}/devices/:id/approve`, access: 'admin', params: idParams, scoped: true, response: 'FleetDeviceView', summary: 'Approve a pending router' },
  { name: 'rejectDevice', method: 'POST', path: `${p}/devices/:id/reject`, access: 'admin', params: idParams, body: reasonBody, scoped: true, response: 'FleetDeviceView', summary: 'Reject a pending router' },
  { name: 'revokeDevice', method: 'POST', path: `${p}/devices/:id/revoke`, access: 'admin', params: idParams, body: reasonBody, scoped: true, response: 'FleetDeviceView', summary: 'Revoke a router: its login is disabled and its gates end' },
  { name: 'listGroups', method: 'GET', path: `${p}/groups`, access: 'viewer', response: 'Rows<GroupView>', summary: 'Device groups (of the operator\'s domain when scoped)' },
  { name: 'createGroup', method: 'POST', path: `${p}/groups`, access: 'admin', body: groupBody, response: 'GroupView', summary: 'Create a device group' },
  { name: 'listKeys', method: 'GET', path: `${p}/enrolment-keys`, access: 'admin', response: 'Rows<EnrolmentKeyView>', summary: 'Enrolment keys (never their secrets)' },
  { name: 'createKey', method: 'POST', path: `${p}/enrolment-keys`, access: 'admin', body: keyBody, response: 'CreatedKey', summary: 'Create an enrolment key: the whole key is returned once' },
  { name: 'revokeKey', method: 'POST', path: `${p}/enrolment-keys/:id/revoke`, access: 'admin', params: keyParams, scoped: true, response: 'EnrolmentKeyView', summary: 'Revoke an enrolment key' },
  { name: 'listOperators', method: 'GET', path: `${p}/operators`, access: 'admin', response: 'Rows<OperatorView>', summary: 'Operator accounts' },
  { name: 'createOperator', method: 'POST', path: `${p}/operators`, access: 'admin', body: operatorBody, response: 'CreatedOperator', summary: 'Create an operator account' },
  { name: 'patchOperator', method: 'PATCH', path: `${p}/operators/:id`, access: 'admin', params: operatorParams, body: operatorPatchBody, scoped: true, response: 'OperatorView', summary: 'Change an operator\'s role, domain, password, or disable it' },
  { name: 'listSessions', method: 'GET', path: `${p}/sessions`, access: 'viewer', query: sessionsQuery, response: 'Rows<SessionView>', summary: 'Live and recent call media lines with their gates, newest first' },
  { name: 'listUsage', method: 'GET', path: `${p}/usage`, access: 'viewer', query: usageQuery, response: 'Rows<UsageView>', summary: 'Usage reported by the routers per gate' },
  ...CALL_ROUTES,
  ...CONFIG_ROUTES,
  ...COMMAND_ROUTES,
  { name: 'listAudit', method: 'GET', path: `${p}/audit`, access: 'viewer', query: auditQuery, response: 'AuditPage', summary: 'The audit log, newest first (unscoped operators only)' },
  { name: 'events', method: 'GET', path: `${p}/events`, access: 'viewer', stream: true, response: 'Overview', summary: 'Server-sent events: `overview` whenever it changes, a comment every 15 s' },
  { name: 'openapi', method: 'GET', path: `${p}/openapi.json`, access: 'public', response: 'OpenAPI', summary: 'This API as an OpenAPI 3.1 document' },
] as const satisfies readonly RouteSpec[];

export type RouteName = (typeof ROUTES)[number]['name'];

/** The route of a name, for clients that build URLs from the list. */
export function route(name: RouteName): RouteSpec {
  return ROUTES.find((r) => r.name === name) as RouteSpec;
}

/** `/api/v1/devices/:id` with `{id: 'a b'}` -> `/api/v1/devices/a%20b`. */
export function pathFor(spec: RouteSpec, params: Readonly<Record<string, string>> = {}): Result<string> {
  let missing: string | undefined;
  const path = spec.path.replace(/:([A-Za-z]+)/g, (_m, key: string) => {
    const value = params[key];
    if (value === undefined) {
      missing = key;
      return '';
    }
    return encodeURIComponent(value);
  });
  return missing === undefined ? ok(path) : failAt(Code.REQUIRED, `missing path parameter ${missing}`, `params.${missing}`);
}

/** The server-sent event names of GET /events. */
export const EVENTS = { overview: 'overview' } as const;
