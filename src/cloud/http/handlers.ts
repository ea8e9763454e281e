/**
 * One handler per route of src/core/fleet/api.ts. Each gets its input already validated (by the
 * core schemas) and the caller already authenticated and allowed (app.ts), and returns the
 * response body or an error with a stable code; domain scope is checked here (another domain's
 * resource is E_NOT_FOUND) and again in FleetActions.
 */
import { randomUUID } from 'node:crypto';
import type {
  AuditPage, AuditQuery, CreatedKey, CreatedOperator, DeviceDetail, DevicePatchBody, DevicesPage, DevicesQuery, EnrolmentKeyView, FleetDeviceView,
  GroupBody, GroupView, KeyBody, OperatorBody, OperatorPatchBody, OperatorView, Overview, ReasonBody, RouteName, Rows, SessionView, SessionsQuery, UsageQuery, UsageView,
} from '../../core/fleet/api.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import type { Actor, FleetActions } from '../fleet/actions.ts';
import type { FleetStore, Operator, OperatorPatch } from '../fleet/store/types.ts';
import type { ClearinghouseStore } from '../clearinghouse/store/types.ts';
import type { GateRecord, Store } from '../store/types.ts';
import type { Authenticated } from './auth.ts';
import { CALL_HANDLERS } from './calls.ts';
import { CONFIG_HANDLERS } from './config.ts';
import type { ConfigService } from '../fleet/config-service.ts';
import { COMMAND_HANDLERS } from './commands.ts';
import type { CommandService } from '../fleet/commands.ts';
import { hashOperatorPassword, generateOperatorPassword } from './passwords.ts';
import { efKbps, heldGates, overview } from './overview.ts';
import { Scope } from './scope.ts';
import { auditView, fleetDeviceView, gateView, groupView, inventoryRowView, keyView, operatorView, presenceView, usageView } from './views.ts';

export interface HandlerDeps {
  readonly store: Store;
  readonly fleet: FleetStore;
  readonly actions: FleetActions;
  readonly now: () => number;
  /** The clearinghouse's CDR store, read only; null: not connected (--clearinghouse-store). */
  readonly clearinghouse?: ClearinghouseStore | null;
  /** Remote commands to routers; null: the fleet part is off. */
  readonly commands?: CommandService | null;
  /** Versioned configuration; null: the fleet part is off. */
  readonly config?: ConfigService | null;
}

export interface Call<B = unknown, Q = unknown, P = unknown> {
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly who: Authenticated;
  readonly scope: Scope;
  readonly actor: Actor;
}

type Handler = (deps: HandlerDeps, call: Call<never, never, never>) => Promise<Result<unknown>>;

const notFound = (what: string, path = 'params.id'): Result<never> => fail({ code: 'E_NOT_FOUND', message: `no such ${what}`, path });

function byId(params: unknown): string {
  return (params as { id: string }).id;
}

async function listDevices(d: HandlerDeps, c: Call<unknown, DevicesQuery>): Promise<Result<DevicesPage>> {
  const q = c.query;
  const page = await d.fleet.queryInventory({
    search: q.search, group: q.group, tag: q.tag, version: q.version, status: q.status, feature: q.feature,
    domains: c.scope.domains, sort: q.sort ?? 'id', descending: q.order === 'desc', offset: q.offset ?? 0, limit: q.limit ?? 50,
  });
  return ok({ total: page.total, rows: page.rows.map(inventoryRowView) });
}

async function getDevice(d: HandlerDeps, c: Call): Promise<Result<DeviceDetail>> {
  const id = byId(c.params);
  const [device, fleet] = await Promise.all([d.store.getDevice(id), d.fleet.getFleetDevice(id)]);
  if ((device === null && fleet === null) || !(await c.scope.deviceVisible(id))) return notFound('device');
  const gates = await heldGates(d.store, { device: id });
  return ok({
    deviceId: id,
    fleet: fleet === null ? null : fleetDeviceView(fleet),
    presence: device === null ? null : presenceView(device),
    interfaces: device?.interfaces ?? [],
    interfacesAtMs: device?.interfacesAtMs ?? null,
    gates: gates.map(gateView),
    admittedKbps: efKbps(gates),
  });
}

/** Runs a FleetActions call on a device the caller can see; another domain's device is E_NOT_FOUND before the action runs. */
async function onDevice(c: Call, act: (id: string) => Promise<Result<FleetDeviceView>>): Promise<Result<FleetDeviceView>> {
  const id = byId(c.params);
  if (!(await c.scope.deviceVisible(id))) return notFound('device');
  return act(id);
}

async function listSessions(d: HandlerDeps, c: Call<unknown, SessionsQuery>): Promise<Result<Rows<SessionView>>> {
  const limit = c.query.limit ?? 50;
  const sessions = await d.store.listSessions({ state: c.query.state, callId: c.query.callId });
  sessions.sort((a, b) => b.updatedAtMs - a.updatedAtMs || a.callId.localeCompare(b.callId) || a.line - b.line);
  const gatesOf = new Map<string, GateRecord[]>();
  const rows: SessionView[] = [];
  for (const s of sessions) {
    if (rows.length >= limit) break;
    let gates = gatesOf.get(s.callId);
    if (gates === undefined) {
      gates = await d.store.listGates({ callId: s.callId });
      gatesOf.set(s.callId, gates);
    }
    const mine = gates.filter((g) => g.line === s.line);
    if (!c.scope.all && (await c.scope.filter(mine, (g) => [g.device])).length === 0) continue;
    rows.push({
      callId: s.callId, line: s.line, client: s.client, state: s.state, spec: s.spec, reason: s.reason,
      createdAtMs: s.createdAtMs, updatedAtMs: s.updatedAtMs, activeAtMs: s.activeAtMs, endedAtMs: s.endedAtMs, gates: mine.map(gateView),
    });
  }
  return ok({ rows });
}

async function listUsage(d: HandlerDeps, c: Call<unknown, UsageQuery>): Promise<Result<Rows<UsageView>>> {
  const rows = await c.scope.filter(await d.store.listUsage({ callId: c.query.callId, device: c.query.device }), (u) => [u.device]);
  rows.sort((a, b) => b.receivedAtMs - a.receivedAtMs);
  return ok({ rows: rows.slice(0, c.query.limit ?? 100).map(usageView) });
}

async function listAudit(d: HandlerDeps, c: Call<unknown, AuditQuery>): Promise<Result<AuditPage>> {
  // The log spans every domain and names other domains' devices and operators.
  if (!c.scope.all) return fail({ code: 'E_FORBIDDEN', message: 'the audit log is for operators not scoped to a domain' });
  const limit = c.query.limit ?? 50;
  const rows = await d.fleet.listAudit({ beforeSeq: c.query.beforeSeq, limit });
  return ok({ rows: rows.map(auditView), nextBeforeSeq: rows.length === limit ? (rows[rows.length - 1]?.seq ?? null) : null });
}

function operatorVisible(c: Call, o: Operator): boolean {
  return c.scope.all || o.domain === c.scope.domain;
}

async function createOperator(d: HandlerDeps, c: Call<OperatorBody>): Promise<Result<CreatedOperator>> {
  const b = c.body;
  if (!c.scope.all && b.domain !== c.scope.domain) return fail({ code: 'E_FORBIDDEN', message: `an admin of domain ${c.scope.domain} creates operators of that domain only`, path: 'body.domain' });
  if ((await d.fleet.getOperatorByUsername(b.username)) !== null) return fail({ code: 'E_CONFLICT', message: 'that username is taken', path: 'body.username' });
  const password = b.password ?? generateOperatorPassword();
  const operator: Operator = { id: randomUUID(), username: b.username, passwordHash: await hashOperatorPassword(password), role: b.role, domain: b.domain, createdAtMs: d.now(), disabledAtMs: null };
  await d.fleet.createOperator(operator);
  const view = operatorView(operator);
  await d.fleet.appendAudit({ atMs: d.now(), actor: c.actor.name, action: 'operator.create', target: `operator:${operator.username}`, before: null, after: { ...view } });
  return ok({ operator: view, password: b.password === undefined ? password : null });
}

async function patchOperator(d: HandlerDeps, c: Call<OperatorPatchBody>): Promise<Result<OperatorView>> {
  const id = byId(c.params);
  const target = await d.fleet.getOperator(id);
  if (target === null || !operatorVisible(c, target)) return notFound('operator');
  const b = c.body;
  if (!c.scope.all && b.domain !== undefined && b.domain !== c.scope.domain) return fail({ code: 'E_FORBIDDEN', message: `an admin of domain ${c.scope.domain} keeps operators in that domain`, path: 'body.domain' });
  // An admin who disabled or demoted itself could leave nobody to undo it.
  if (id === c.who.operator.id && (b.disabled === true || (b.role !== undefined && b.role !== 'admin'))) {
    return fail({ code: 'E_STATE', message: 'you cannot disable or demote your own account', path: b.disabled === true ? 'body.disabled' : 'body.role' });
  }
  const patch: { -readonly [K in keyof OperatorPatch]: OperatorPatch[K] } = {};
  if (b.role !== undefined) patch.role = b.role;
  if (b.domain !== undefined) patch.domain = b.domain;
  if (b.disabled !== undefined) patch.disabledAtMs = b.disabled ? (target.disabledAtMs ?? d.now()) : null;
  if (b.password !== undefined) patch.passwordHash = await hashOperatorPassword(b.password);
  const updated = await d.fleet.updateOperator(id, patch);
  if (updated === null) return notFound('operator');
  // A disabled account or a changed password ends every session of the account.
  if (b.disabled === true || b.password !== undefined) await d.fleet.deleteOperatorSessions(id);
  const view = operatorView(updated);
  await d.fleet.appendAudit({
    atMs: d.now(), actor: c.actor.name, action: 'operator.update', target: `operator:${updated.username}`,
    before: { ...operatorView(target) }, after: { ...view, passwordChanged: b.password !== undefined },
  });
  return ok(view);
}

async function createKey(d: HandlerDeps, c: Call<KeyBody>): Promise<Result<CreatedKey>> {
  const r = await d.actions.createKey(c.actor, c.body);
  if (!r.ok) return r;
  const { key, secret } = r.value;
  return ok({ enrolmentKey: keyView(key), key: secret.startsWith(`${key.id}.`) ? secret : `${key.id}.${secret}` });
}

async function listKeys(d: HandlerDeps, c: Call): Promise<Result<Rows<EnrolmentKeyView>>> {
  const keys = await d.fleet.listKeys();
  const rows: EnrolmentKeyView[] = [];
  for (const k of keys) if (await c.scope.groupVisible(k.group)) rows.push(keyView(k));
  return ok({ rows });
}

async function listGroups(d: HandlerDeps, c: Call): Promise<Result<Rows<GroupView>>> {
  return ok({ rows: (await d.fleet.listGroups()).filter((g) => c.scope.domainVisible(g.domain)).map(groupView) });
}

async function listOperators(d: HandlerDeps, c: Call): Promise<Result<Rows<OperatorView>>> {
  return ok({ rows: (await d.fleet.listOperators()).filter((o) => operatorVisible(c, o)).map(operatorView) });
}

const mapped = async <T, V>(r: Promise<Result<T>>, view: (v: T) => V): Promise<Result<V>> => {
  const x = await r;
  return x.ok ? ok(view(x.value)) : x;
};

/** The routes whose work is the same for every caller; auth routes and the event stream are in app.ts. */
export const HANDLERS: Partial<Record<RouteName, Handler>> = {
  overview: (d, c: Call): Promise<Result<Overview>> => overview(d.store, d.fleet, c.scope, d.now()).then(ok),
  listDevices,
  getDevice,
  patchDevice: (d, c: Call<DevicePatchBody>) => onDevice(c, (id) => mapped(d.actions.patchDevice(c.actor, id, c.body), fleetDeviceView)),
  approveDevice: (d, c: Call) => onDevice(c, (id) => mapped(d.actions.approve(c.actor, id), fleetDeviceView)),
  rejectDevice: (d, c: Call<ReasonBody>) => onDevice(c, (id) => mapped(d.actions.reject(c.actor, id, c.body.reason), fleetDeviceView)),
  revokeDevice: (d, c: Call<ReasonBody>) => onDevice(c, (id) => mapped(d.actions.revoke(c.actor, id, c.body.reason), fleetDeviceView)),
  listGroups,
  createGroup: (d, c: Call<GroupBody>) => mapped(d.actions.createGroup(c.actor, c.body), groupView),
  listKeys,
  createKey,
  revokeKey: (d, c: Call) => mapped(d.actions.revokeKey(c.actor, byId(c.params)), keyView),
  listOperators,
  createOperator,
  patchOperator,
  listSessions,
  listUsage,
  listAudit,
  ...CALL_HANDLERS,
  ...CONFIG_HANDLERS,
  ...COMMAND_HANDLERS,
};
