/**
 * The contract cases of the fleet store's configuration tables (config-types.ts), run inside the
 * fleet store contract for each backend.
 */
import { expect, it } from 'vitest';
import { startRollout } from '../../../src/core/fleet/rollout.ts';
import type { FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import type { ConfigStatusRecord, ConfigVersionRecord } from '../../../src/cloud/fleet/store/config-types.ts';

const T0 = 1_800_000_000_000;

const version = (deviceId: string, n: number, over: Partial<ConfigVersionRecord> = {}): ConfigVersionRecord => ({
  deviceId, version: n, hash: n.toString(16).padStart(16, '0'),
  sections: [{ type: 'qos', name: 'qos', options: { uplink_kbit: String(1000 + n), 'z': 'ü "quoted"' }, lists: { l: ['b', 'a'] } }, { type: 'gate', name: null, options: {}, lists: {} }],
  source: 'deploy', createdBy: 'operator:alice', createdAtMs: T0 + n, ...over,
});

export function configStoreCases(fresh: () => Promise<{ fleet: FleetStore }>): void {
  it('config: keeps group templates and device overrides with their variables, replaced whole', async () => {
    const { fleet } = await fresh();
    expect(await fleet.config.getLayer('group', 'gA')).toBeNull();
    const group = {
      scope: 'group' as const, id: 'gA', sections: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '${up}', queue_backend: null } }],
      variables: { up: '5000' }, driftPolicy: 'router-wins' as const, updatedAtMs: T0, updatedBy: 'operator:alice',
    };
    await fleet.config.putLayer(group);
    const device = { scope: 'device' as const, id: 'gA', sections: [{ type: 'gate', name: null, delete: true }], variables: {}, driftPolicy: null, updatedAtMs: T0, updatedBy: 'cli' };
    await fleet.config.putLayer(device);
    expect(await fleet.config.getLayer('group', 'gA')).toEqual(group);
    expect(await fleet.config.getLayer('device', 'gA')).toEqual(device);
    const changed = { ...group, sections: [], variables: { up: '1' }, driftPolicy: 'cloud-wins' as const, updatedAtMs: T0 + 1 };
    await fleet.config.putLayer(changed);
    expect(await fleet.config.getLayer('group', 'gA')).toEqual(changed);
  });

  it('config: versions are immutable per device and number, listed newest first', async () => {
    const { fleet } = await fresh();
    expect(await fleet.config.latestVersion('rt-1')).toBeNull();
    for (const n of [1, 2, 3]) await fleet.config.addVersion(version('rt-1', n));
    await fleet.config.addVersion(version('rt-2', 1, { source: 'drift' }));
    await expect(fleet.config.addVersion(version('rt-1', 2, { hash: 'ffffffffffffffff' }))).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(await fleet.config.getVersion('rt-1', 2)).toEqual(version('rt-1', 2));
    expect(await fleet.config.getVersion('rt-1', 9)).toBeNull();
    expect(await fleet.config.latestVersion('rt-1')).toEqual(version('rt-1', 3));
    expect((await fleet.config.listVersions('rt-1', 2)).map((v) => v.version)).toEqual([3, 2]);
    expect(await fleet.config.listVersions('rt-2', 10)).toEqual([version('rt-2', 1, { source: 'drift' })]);
  });

  it('config: one status per device, replaced whole', async () => {
    const { fleet } = await fresh();
    expect(await fleet.config.getStatus('rt-1')).toBeNull();
    const s: ConfigStatusRecord = {
      deviceId: 'rt-1', desired: 2, applied: 1, state: 'rejected', reason: 'E_CONFIG: bad', problems: [{ path: 'qos.uplink_kbit', message: 'too low' }],
      selfTest: null, rollout: 'r1', atMs: T0,
    };
    await fleet.config.putStatus(s);
    expect(await fleet.config.getStatus('rt-1')).toEqual(s);
    const applied = { ...s, applied: 2, state: 'applied' as const, reason: null, problems: [], selfTest: { table: 'ok', queues: 'ok', counters: 'skipped' } as const, rollout: null, atMs: T0 + 5 };
    await fleet.config.putStatus(applied);
    expect(await fleet.config.getStatus('rt-1')).toEqual(applied);
  });

  it('config: drafts are created once, read and deleted', async () => {
    const { fleet } = await fresh();
    const draft = { id: 'd1', createdBy: 'operator:alice', createdAtMs: T0, changes: { groups: [{ group: 'gA', variables: { up: '1' } }], devices: [{ device: 'rt-1', overrides: [] }] } };
    await fleet.config.createDraft(draft);
    await expect(fleet.config.createDraft(draft)).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(await fleet.config.getDraft('d1')).toEqual(draft);
    expect(await fleet.config.deleteDraft('d1')).toBe(true);
    expect(await fleet.config.deleteDraft('d1')).toBe(false);
    expect(await fleet.config.getDraft('d1')).toBeNull();
  });

  it('config: rollouts are kept with their machine, listed by state', async () => {
    const { fleet } = await fresh();
    const step = startRollout(['a', 'b', 'c'], { canaryPercent: 34, waveSize: 1, stopPercent: 50, waveTimeoutS: 600 }, T0);
    const r1 = { id: 'r1', group: 'gA', state: step.rollout.state, rollout: step.rollout, createdBy: 'operator:alice', createdAtMs: T0, updatedAtMs: T0 };
    await fleet.config.putRollout(r1);
    await fleet.config.putRollout({ ...r1, id: 'r2', createdAtMs: T0 + 1 });
    expect(await fleet.config.getRollout('r1')).toEqual(r1);
    const stopped = { ...r1, state: 'stopped' as const, rollout: { ...r1.rollout, state: 'stopped' as const, reason: 'x' }, updatedAtMs: T0 + 9 };
    await fleet.config.putRollout(stopped);
    expect(await fleet.config.getRollout('r1')).toEqual(stopped);
    expect((await fleet.config.listRollouts('running')).map((r) => r.id)).toEqual(['r2']);
    expect(await fleet.config.getRollout('nope')).toBeNull();
  });
}
