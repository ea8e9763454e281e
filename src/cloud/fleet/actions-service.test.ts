import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { ENROLMENT_KEY } from '../../core/protocol/messages/enrol.ts';
import type { Actor, NewGroup } from './actions.ts';
import { FleetActionsService, type GateEndReason } from './actions-service.ts';
import { secretMatches, splitEnrolmentKey } from './keys.ts';
import { MemoryFleetStore, MemoryIdentities } from './memory-fleet.test-support.ts';
import type { FleetDevice, FleetState } from './store/types.ts';

const admin: Actor = { name: 'operator:root', domain: null };
const adminA: Actor = { name: 'operator:alice', domain: 'dom-a' };
const adminB: Actor = { name: 'operator:bob', domain: 'dom-b' };
const NOW = 5_000_000;

function groupOf(id: string, domain: string | null, over: Partial<NewGroup> = {}): NewGroup {
  return { id, name: `Group ${id}`, domain, enrolPolicy: 'approve', reenrolPolicy: 'replace', ...over };
}

function device(deviceId: string, group: string, state: FleetState, enrolments = state === 'accepted' ? 1 : 0): FleetDevice {
  return {
    deviceId, hardwareId: deviceId, group, name: deviceId, tags: [], site: null, state, stateReason: null, keyId: 'key1', hostname: null,
    hardware: { model: 'm', boardName: 'b', release: 'r', target: 't', kernel: 'k' },
    versions: { agent: '0.1.0', quickjs: 'q' },
    features: { cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '' },
    sourceAddress: null, requestedAtMs: 1, enrolledAtMs: null, updatedAtMs: 1, enrolments,
  };
}

describe('FleetActionsService', () => {
  let store: MemoryFleetStore;
  let identities: MemoryIdentities;
  let ended: { deviceId: string; reason: GateEndReason }[];
  let actions: FleetActionsService;

  beforeEach(async () => {
    store = new MemoryFleetStore();
    identities = new MemoryIdentities();
    ended = [];
    actions = new FleetActionsService({
      store,
      identities,
      endDeviceGates: (deviceId, reason) => {
        ended.push({ deviceId, reason });
        return Promise.resolve(1);
      },
      log: createLogger(() => {}),
      now: () => NOW,
    });
    expect((await actions.createGroup(admin, groupOf('ga', 'dom-a'))).ok).toBe(true);
    expect((await actions.createGroup(admin, groupOf('gb', 'dom-b'))).ok).toBe(true);
    store.audit.length = 0;
  });

  it('creates a group once, with an audit entry; input errors name the field', async () => {
    const made = await actions.createGroup(admin, groupOf('gc', null, { enrolPolicy: 'auto' }));
    expect(made).toEqual({ ok: true, value: { ...groupOf('gc', null, { enrolPolicy: 'auto' }), createdAtMs: NOW } });
    expect(store.audit).toMatchObject([{ actor: 'operator:root', action: 'group.create', target: 'gc', before: null }]);
    expect(await actions.createGroup(admin, groupOf('gc', null))).toMatchObject({ ok: false, error: { code: 'E_CONFLICT', path: 'id' } });
    expect(await actions.createGroup(admin, groupOf('bad/id', null))).toMatchObject({ ok: false, error: { path: 'id' } });
    expect(await actions.createGroup(admin, { ...groupOf('gd', null), enrolPolicy: 'sometimes' as never })).toMatchObject({ ok: false, error: { path: 'enrolPolicy' } });
    expect(await actions.createGroup(admin, { ...groupOf('gd', null), name: '' })).toMatchObject({ ok: false, error: { path: 'name' } });
  });

  it('lets a domain operator create groups of its own domain only', async () => {
    expect((await actions.createGroup(adminA, groupOf('ga2', 'dom-a'))).ok).toBe(true);
    expect(await actions.createGroup(adminA, groupOf('gx', 'dom-b'))).toMatchObject({ ok: false, error: { code: 'E_INPUT', path: 'domain' } });
    expect(await actions.createGroup(adminA, groupOf('gy', null))).toMatchObject({ ok: false, error: { code: 'E_INPUT', path: 'domain' } });
  });

  it('creates a key, returns the whole key once, stores only its hash, and audits no secret', async () => {
    const made = await actions.createKey(adminA, { group: 'ga', label: 'shop', expiresAtMs: null });
    if (!made.ok) throw new Error(made.error.message);
    expect(made.value.secret).toMatch(ENROLMENT_KEY);
    const parts = splitEnrolmentKey(made.value.secret)!;
    expect(parts.id).toBe(made.value.key.id);
    const stored = store.keys.get(parts.id)!;
    expect(secretMatches(parts.secret, stored.secretHash)).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(parts.secret);
    expect(store.audit).toMatchObject([{ action: 'enrolment-key.create', target: parts.id, actor: 'operator:alice' }]);
    expect(JSON.stringify(store.audit)).not.toContain(parts.secret);
    expect(JSON.stringify(store.audit)).not.toContain(stored.secretHash);
    expect(stored).toMatchObject({ group: 'ga', label: 'shop', createdBy: 'operator:alice', uses: 0, revokedAtMs: null });
  });

  it('refuses a key for a group out of scope or missing, and an expiry in the past', async () => {
    expect(await actions.createKey(adminA, { group: 'gb', label: '', expiresAtMs: null })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND', path: 'group' } });
    expect(await actions.createKey(admin, { group: 'nope', label: '', expiresAtMs: null })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND', path: 'group' } });
    expect(await actions.createKey(admin, { group: 'ga', label: '', expiresAtMs: NOW })).toMatchObject({ ok: false, error: { code: 'E_INPUT', path: 'expiresAtMs' } });
    expect(await actions.createKey(admin, { group: 'ga', label: 'x'.repeat(65), expiresAtMs: null })).toMatchObject({ ok: false, error: { path: 'label' } });
    expect(store.keys.size).toBe(0);
  });

  it('revokes a key once, in scope only', async () => {
    const made = await actions.createKey(admin, { group: 'ga', label: '', expiresAtMs: NOW + 1000 });
    if (!made.ok) throw new Error('no key');
    const id = made.value.key.id;
    expect(await actions.revokeKey(adminB, id)).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
    expect(await actions.revokeKey(adminA, id)).toMatchObject({ ok: true, value: { id, revokedAtMs: NOW } });
    expect(await actions.revokeKey(adminA, id)).toMatchObject({ ok: false, error: { code: 'E_STATE' } });
    expect(await actions.revokeKey(admin, 'zz')).toMatchObject({ ok: false, error: { code: 'E_INPUT', path: 'id' } });
    expect(store.audit.map((e) => e.action)).toEqual(['enrolment-key.create', 'enrolment-key.revoke']);
  });

  it('approves and rejects pending routers only, in scope only', async () => {
    await store.putFleetDevice(device('r1', 'ga', 'pending'));
    await store.putFleetDevice(device('r2', 'ga', 'pending'));
    expect(await actions.approve(adminB, 'r1')).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND', path: 'id' } });
    expect(await actions.approve(adminA, 'r1')).toMatchObject({ ok: true, value: { state: 'approved' } });
    expect(await actions.approve(adminA, 'r1')).toMatchObject({ ok: false, error: { code: 'E_STATE' } });
    expect(await actions.reject(adminA, 'r2', '')).toMatchObject({ ok: false, error: { path: 'reason' } });
    expect(await actions.reject(adminA, 'r2', 'not ours')).toMatchObject({ ok: true, value: { state: 'rejected', stateReason: 'E_REJECTED: not ours' } });
    // A router without a login: nothing to disable.
    expect(identities.calls).toEqual([]);
    expect(await actions.approve(admin, 'nobody')).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
    expect(store.audit.map((e) => [e.action, e.target])).toEqual([['device.approve', 'r1'], ['device.reject', 'r2']]);
  });

  it('rejecting a held re-enrolment cuts the login the router had', async () => {
    await store.putFleetDevice(device('r1', 'ga', 'pending', 1));
    expect((await actions.reject(admin, 'r1', 'imposter')).ok).toBe(true);
    expect(identities.calls).toEqual(['disable r1']);
  });

  it('revokes: login disabled first, state revoked, the gates end with E_REVOKED', async () => {
    await store.putFleetDevice(device('r1', 'ga', 'accepted'));
    expect((await identities.upsertDevice('r1', 'p'.repeat(24))).ok).toBe(true);
    const revoked = await actions.revoke(adminA, 'r1', 'stolen');
    expect(revoked).toMatchObject({ ok: true, value: { state: 'revoked', stateReason: 'E_REVOKED: stolen' } });
    expect(identities.logins.get('r1')?.enabled).toBe(false);
    expect(ended).toEqual([{ deviceId: 'r1', reason: { code: 'E_REVOKED', detail: 'router r1 was revoked: stolen' } }]);
    expect(store.audit.at(-1)).toMatchObject({ action: 'device.revoke', before: { state: 'accepted' }, after: { state: 'revoked' } });
    expect(await actions.revoke(adminA, 'r1', 'again')).toMatchObject({ ok: false, error: { code: 'E_STATE' } });
  });

  it('does not record a revocation the broker did not carry out', async () => {
    await store.putFleetDevice(device('r1', 'ga', 'accepted'));
    identities.failCode = 'E_DYNSEC';
    expect(await actions.revoke(admin, 'r1', 'stolen')).toMatchObject({ ok: false, error: { code: 'E_DYNSEC' } });
    expect(store.devices.get('r1')?.state).toBe('accepted');
    expect(ended).toEqual([]);
  });

  it('a revoke in another domain finds nothing and changes nothing', async () => {
    await store.putFleetDevice(device('r1', 'gb', 'accepted'));
    expect(await actions.revoke(adminA, 'r1', 'x')).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
    expect(identities.calls).toEqual([]);
    expect(store.devices.get('r1')?.state).toBe('accepted');
  });

  it('patches name, group, tags and site, with checks naming the field', async () => {
    await store.putFleetDevice(device('r1', 'ga', 'accepted'));
    expect((await actions.createGroup(admin, groupOf('ga2', 'dom-a'))).ok).toBe(true);
    const patched = await actions.patchDevice(adminA, 'r1', { name: 'Front desk', group: 'ga2', tags: ['lab', 'floor:2'], site: 'Berlin' });
    expect(patched).toMatchObject({ ok: true, value: { name: 'Front desk', group: 'ga2', tags: ['lab', 'floor:2'], site: 'Berlin', updatedAtMs: NOW } });
    expect(store.audit.at(-1)).toMatchObject({ action: 'device.patch', before: { name: 'r1', group: 'ga' }, after: { name: 'Front desk', group: 'ga2' } });
    expect(await actions.patchDevice(adminA, 'r1', { group: 'gb' })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND', path: 'group' } });
    expect(await actions.patchDevice(adminA, 'r1', { tags: ['bad tag'] })).toMatchObject({ ok: false, error: { path: 'tags[0]' } });
    expect(await actions.patchDevice(adminA, 'r1', { name: '' })).toMatchObject({ ok: false, error: { path: 'name' } });
    expect(await actions.patchDevice(adminA, 'r1', {})).toMatchObject({ ok: false, error: { code: 'E_INPUT' } });
    expect(await actions.patchDevice(adminB, 'r1', { name: 'x' })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
    expect(store.devices.get('r1')?.name).toBe('Front desk');
  });
});
