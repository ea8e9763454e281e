/**
 * FleetActions (actions.ts) on the fleet store, the broker identities and an audit writer.
 *
 * Each action checks its input against the API's own schemas (src/core/fleet/api.ts: one source
 * for each shape; errors name the field), checks the actor's domain scope, changes the broker and
 * the store, and writes one audit entry. An actor scoped to a domain sees only groups of that
 * domain: a group, key or device of another domain is E_NOT_FOUND, exactly as one that does not
 * exist, so nothing about it leaks.
 *
 * Revocation disables the broker login first (the broker kicks the live connection), then records
 * the state, then ends the router's live gates through `endDeviceGates` (the server's session
 * manager: the calls fail with E_REVOKED and their other routers remove their gates).
 */
import { devicePatchBody, groupBody, keyBody, reasonBody } from '../../core/fleet/api.ts';
import type { Logger } from '../../core/log.ts';
import { validate } from '../../core/protocol/schema.ts';
import { coreError, fail, hasCode, ok, type Result } from '../../core/result.ts';
import type { JsonObject } from '../store/types.ts';
import type { Actor, FleetActions, NewGroup, NewKey } from './actions.ts';
import type { BrokerIdentities } from './identities.ts';
import { makeEnrolmentKey } from './keys.ts';
import type { DeviceGroup, EnrolmentKey, FleetDevice, FleetDevicePatch, FleetState, FleetStore, NewAuditEntry } from './store/types.ts';

/** Why a device's gates end, as the session manager records it (a reason code and a detail). */
export interface GateEndReason {
  readonly code: 'E_REVOKED';
  readonly detail: string;
}

export interface FleetActionsDeps {
  readonly store: FleetStore;
  readonly identities: BrokerIdentities;
  /** Where audit entries go; default: the store's audit log. */
  readonly audit?: (entry: NewAuditEntry) => Promise<unknown>;
  /** Ends every live gate the device holds, failing its calls with the reason; returns how many call lines ended. */
  readonly endDeviceGates: (deviceId: string, reason: GateEndReason) => Promise<number>;
  readonly log: Logger;
  readonly now?: () => number;
}

const notFound = (what: string, path: string): Result<never> => fail(coreError('E_NOT_FOUND', `no such ${what}`, path));
const badState = (message: string): Result<never> => fail(coreError('E_STATE', message, 'state'));

function groupView(g: DeviceGroup): JsonObject {
  return { id: g.id, name: g.name, domain: g.domain, enrolPolicy: g.enrolPolicy, reenrolPolicy: g.reenrolPolicy };
}

/** A key as the audit log shows it: never the secret, not even its hash. */
function keyView(k: EnrolmentKey): JsonObject {
  return { id: k.id, group: k.group, label: k.label, expiresAtMs: k.expiresAtMs, revokedAtMs: k.revokedAtMs };
}

function deviceView(d: FleetDevice): JsonObject {
  return { state: d.state, stateReason: d.stateReason, group: d.group, name: d.name, tags: [...d.tags], site: d.site };
}

/** The store's E_CONFLICT (a unique id taken) as a result; anything else is thrown on. */
async function orConflict(work: Promise<void>, message: string, path: string): Promise<Result<void>> {
  try {
    await work;
    return ok(undefined);
  } catch (error) {
    if (hasCode(error, 'E_CONFLICT')) return fail(coreError('E_CONFLICT', message, path));
    throw error;
  }
}

export class FleetActionsService implements FleetActions {
  private readonly now: () => number;
  private readonly audit: (entry: NewAuditEntry) => Promise<unknown>;

  constructor(private readonly deps: FleetActionsDeps) {
    this.now = deps.now ?? Date.now;
    this.audit = deps.audit ?? ((entry) => deps.store.appendAudit(entry));
  }

  async createGroup(actor: Actor, input: NewGroup): Promise<Result<DeviceGroup>> {
    const checked = validate(groupBody, input);
    if (!checked.ok) return checked;
    const g = checked.value;
    if (actor.domain !== null && g.domain !== actor.domain) {
      return fail(coreError('E_INPUT', `an operator of domain ${actor.domain} creates groups of that domain only`, 'domain'));
    }
    const group: DeviceGroup = { ...g, createdAtMs: this.now() };
    if ((await this.deps.store.getGroup(group.id)) !== null) return fail(coreError('E_CONFLICT', `group ${group.id} exists`, 'id'));
    await this.deps.store.putGroup(group);
    await this.audit({ atMs: group.createdAtMs, actor: actor.name, action: 'group.create', target: group.id, before: null, after: groupView(group) });
    return ok(group);
  }

  async createKey(actor: Actor, input: NewKey): Promise<Result<{ readonly key: EnrolmentKey; readonly secret: string }>> {
    const checked = validate(keyBody, input);
    if (!checked.ok) return checked;
    const { group: groupId, label, expiresAtMs } = checked.value;
    const now = this.now();
    if (expiresAtMs !== null && expiresAtMs <= now) return fail(coreError('E_INPUT', 'the expiry must be in the future', 'expiresAtMs'));
    const group = await this.scopedGroup(actor, groupId);
    if (!group) return notFound('group', 'group');
    // A clash of random 12-letter ids is all but impossible; one more try covers it.
    for (let attempt = 0; ; attempt += 1) {
      const made = makeEnrolmentKey();
      const key: EnrolmentKey = { id: made.id, group: group.id, label, secretHash: made.secretHash, createdAtMs: now, createdBy: actor.name, expiresAtMs, revokedAtMs: null, uses: 0, lastUsedAtMs: null };
      const created = await orConflict(this.deps.store.createKey(key), `key id ${key.id} exists`, 'id');
      if (!created.ok) {
        if (attempt < 2) continue;
        return created;
      }
      await this.audit({ atMs: now, actor: actor.name, action: 'enrolment-key.create', target: key.id, before: null, after: keyView(key) });
      return ok({ key, secret: made.key });
    }
  }

  async revokeKey(actor: Actor, id: string): Promise<Result<EnrolmentKey>> {
    if (typeof id !== 'string' || !/^[A-Za-z0-9]{4,32}$/.test(id)) return fail(coreError('E_INPUT', 'not a key id', 'id'));
    const key = await this.deps.store.getKey(id);
    if (!key || !(await this.scopedGroup(actor, key.group))) return notFound('enrolment key', 'id');
    if (key.revokedAtMs !== null) return badState(`key ${id} was revoked already`);
    const now = this.now();
    if (!(await this.deps.store.revokeKey(id, now))) return badState(`key ${id} was revoked already`);
    const revoked = (await this.deps.store.getKey(id)) ?? { ...key, revokedAtMs: now };
    await this.audit({ atMs: now, actor: actor.name, action: 'enrolment-key.revoke', target: id, before: keyView(key), after: keyView(revoked) });
    return ok(revoked);
  }

  async approve(actor: Actor, deviceId: string): Promise<Result<FleetDevice>> {
    const found = await this.scopedDevice(actor, deviceId);
    if (!found.ok) return found;
    return this.move(actor, found.value, 'approved', null, ['pending'], 'device.approve');
  }

  async reject(actor: Actor, deviceId: string, reason: string): Promise<Result<FleetDevice>> {
    const why = validate(reasonBody, { reason });
    if (!why.ok) return why;
    const found = await this.scopedDevice(actor, deviceId);
    if (!found.ok) return found;
    const device = found.value;
    if (device.state !== 'pending' && device.state !== 'approved') return badState(`device ${deviceId} is ${device.state}; only a pending or approved router can be rejected`);
    // A known router held at re-enrolment has a login from before: rejecting it cuts that too.
    if (device.enrolments > 0) {
      const cut = await this.cutLogin(deviceId);
      if (!cut.ok) return cut;
    }
    return this.move(actor, device, 'rejected', `E_REJECTED: ${why.value.reason}`, ['pending', 'approved'], 'device.reject');
  }

  async revoke(actor: Actor, deviceId: string, reason: string): Promise<Result<FleetDevice>> {
    const why = validate(reasonBody, { reason });
    if (!why.ok) return why;
    const found = await this.scopedDevice(actor, deviceId);
    if (!found.ok) return found;
    const device = found.value;
    if (device.state === 'revoked') return badState(`device ${deviceId} is revoked already`);
    // The login first: from here on the router can neither publish nor subscribe.
    const cut = await this.cutLogin(deviceId);
    if (!cut.ok) return cut;
    const moved = await this.move(actor, device, 'revoked', `E_REVOKED: ${why.value.reason}`, ['pending', 'approved', 'accepted', 'rejected'], 'device.revoke');
    if (!moved.ok) return moved;
    try {
      const ended = await this.deps.endDeviceGates(deviceId, { code: 'E_REVOKED', detail: `router ${deviceId} was revoked: ${why.value.reason}` });
      this.deps.log.info('router revoked', { device: deviceId, by: actor.name, lines_ended: ended });
    } catch (error) {
      // The router is cut off and recorded revoked; its gates also end at their deadline or lifetime.
      this.deps.log.error('ending a revoked router\'s gates failed', { device: deviceId, error: String(error) });
    }
    return moved;
  }

  async patchDevice(actor: Actor, deviceId: string, patch: Omit<FleetDevicePatch, 'updatedAtMs'>): Promise<Result<FleetDevice>> {
    const checked = validate(devicePatchBody, patch);
    if (!checked.ok) return checked;
    const p = checked.value;
    if (p.name === undefined && p.group === undefined && p.tags === undefined && p.site === undefined) {
      return fail(coreError('E_INPUT', 'nothing to change: give name, group, tags or site', ''));
    }
    const found = await this.scopedDevice(actor, deviceId);
    if (!found.ok) return found;
    if (p.group !== undefined && !(await this.scopedGroup(actor, p.group))) return notFound('group', 'group');
    const now = this.now();
    const changed = await this.deps.store.patchFleetDevice(deviceId, { ...p, updatedAtMs: now });
    if (!changed) return notFound('device', 'id');
    await this.audit({ atMs: now, actor: actor.name, action: 'device.patch', target: deviceId, before: deviceView(found.value), after: deviceView(changed) });
    return ok(changed);
  }

  /** The group, when it exists and the actor may see it. */
  private async scopedGroup(actor: Actor, id: string): Promise<DeviceGroup | null> {
    const group = await this.deps.store.getGroup(id);
    return group !== null && (actor.domain === null || group.domain === actor.domain) ? group : null;
  }

  private async scopedDevice(actor: Actor, deviceId: string): Promise<Result<FleetDevice>> {
    if (typeof deviceId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(deviceId)) return fail(coreError('E_INPUT', 'not a device id', 'id'));
    const device = await this.deps.store.getFleetDevice(deviceId);
    if (!device) return notFound('device', 'id');
    if (actor.domain !== null && !(await this.scopedGroup(actor, device.group))) return notFound('device', 'id');
    return ok(device);
  }

  /** Disables the router's broker login (and kicks its connection); none to disable is fine. */
  private async cutLogin(deviceId: string): Promise<Result<void>> {
    const done = await this.deps.identities.disableDevice(deviceId);
    if (done.ok || done.error.code === 'E_NOT_FOUND') return ok(undefined);
    this.deps.log.error('broker login could not be disabled', { device: deviceId, code: done.error.code, reason: done.error.message });
    return fail(coreError(done.error.code, `the broker login could not be disabled: ${done.error.message}`));
  }

  private async move(actor: Actor, device: FleetDevice, state: FleetState, reason: string | null, from: readonly FleetState[], action: string): Promise<Result<FleetDevice>> {
    if (!from.includes(device.state)) return badState(`device ${device.deviceId} is ${device.state}; ${action} needs ${from.join(' or ')}`);
    const now = this.now();
    const changed = await this.deps.store.setFleetState(device.deviceId, { state, reason, atMs: now, ifStateIn: from });
    // Another operator or instance moved it meanwhile.
    if (!changed) return badState(`device ${device.deviceId} changed meanwhile; read it again`);
    await this.audit({ atMs: now, actor: actor.name, action, target: device.deviceId, before: deviceView(device), after: deviceView(changed) });
    return ok(changed);
  }
}
