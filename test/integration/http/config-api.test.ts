/**
 * The configuration routes over HTTP on the fleet API rig (real SQLite stores, the server's
 * ConfigService; no router connected, so config.apply messages are only counted): bad input is
 * refused naming the field and changes nothing, a draft previews the diff per router and deploys
 * once (a retried deploy gets the same answer), a router's page lists its versions and diffs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployView, DeviceConfigView, DraftView, VersionDiffView } from '../../../src/core/fleet/api-config.ts';
import { Client, startRig, type Answer, type Rig } from './fleet-rig.ts';

let rig: Rig;
let operator: Client;

const errorOf = (a: Answer) => (a.body as { error: { code: string; path?: string; message: string } }).error;

beforeAll(async () => {
  rig = await startRig();
  operator = new Client(rig.base);
  expect((await operator.login('operator')).status).toBe(200);
});
afterAll(() => rig.close());

describe('configuration API', () => {
  it('refuses bad input naming the field, and changes nothing', async () => {
    const before = await operator.send('GET', '/api/v1/devices/rt-a1/config');
    const rate = await operator.send('PUT', '/api/v1/devices/rt-a1/config/overrides', { body: { overrides: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '10' } }], variables: {} } });
    expect(rate.status).toBe(400);
    expect(errorOf(rate)).toMatchObject({ code: 'E_CONFIG', path: 'qos.uplink_kbit' });
    const variable = await operator.send('PUT', '/api/v1/groups/g-a/config', { body: { template: [{ type: 'qos', name: 'qos', options: { uplink_kbit: '${nope}', downlink_kbit: '1000' } }], variables: {} } });
    expect(errorOf(variable)).toMatchObject({ code: 'E_CONFIG', path: 'qos.uplink_kbit' });
    expect(errorOf(variable).message).toContain('${nope}');
    const name = await operator.send('PUT', '/api/v1/groups/g-a/config', { body: { template: [{ type: 'qos', name: 'not a name' }], variables: {} } });
    expect(name.status).toBe(400);
    expect(errorOf(name).path).toBe('body.template[0].name');
    const policy = await operator.send('PUT', '/api/v1/groups/g-a/config', { body: { template: [], variables: {}, driftPolicy: 'nobody-wins' } });
    expect(errorOf(policy).path).toBe('body.driftPolicy');
    const version = await operator.send('GET', '/api/v1/devices/rt-a1/config/versions/first/diff/2');
    expect(version.status).toBe(400);
    expect(errorOf(version).path).toBe('params.a');
    const missing = await operator.send('GET', '/api/v1/devices/rt-a1/config/versions/1/diff/99');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).path).toBe('params.b');
    expect((await operator.send('GET', '/api/v1/devices/rt-a1/config')).body).toEqual(before.body);
    const empty = await operator.send('POST', '/api/v1/config/drafts', { body: {} });
    expect(errorOf(empty)).toMatchObject({ code: 'E_INPUT', path: 'body.groups' });
    const canary = await operator.send('POST', '/api/v1/config/drafts/draft-a/deploy', { body: { rollout: { canaryPercent: 0, waveSize: 1, stopPercent: 10 } } });
    expect(errorOf(canary).path).toBe('body.rollout.canaryPercent');
  });

  it('shows a router\'s status and versions, and the diff between two of them', async () => {
    const view = (await operator.send('GET', '/api/v1/devices/rt-a1/config')).body as DeviceConfigView;
    expect(view.status).toMatchObject({ desired: 2, applied: 0, state: 'pending' });
    expect(view.versions.map((v) => [v.version, v.source, v.createdBy])).toEqual([[2, 'deploy', 'operator:seed'], [1, 'deploy', 'operator:seed']]);
    expect(view.sections.find((s) => s.type === 'qos')?.options).toMatchObject({ uplink_kbit: '8000', queue_backend: 'htb' });
    const diff = (await operator.send('GET', '/api/v1/devices/rt-a1/config/versions/1/diff/2')).body as VersionDiffView;
    expect(diff.diff).toEqual([
      { kind: 'changed', path: 'qos.queue_backend', before: 'auto', after: 'htb' },
      { kind: 'changed', path: 'qos.uplink_kbit', before: '10000', after: '8000' },
    ]);
  });

  it('resolves the built-in variables (device id, group) below the group\'s own', async () => {
    // The defaults already name the router by its id (`${device_id}`); an override builds on it.
    const draft = await operator.send('POST', '/api/v1/config/drafts', { body: { devices: [{ device: 'rt-open', overrides: [{ type: 'agent', name: 'agent', options: { device_id: '${device_id}.lab', log_level: 'debug' } }] }] } });
    expect(draft.status, JSON.stringify(draft.body)).toBe(200);
    const [preview] = (draft.body as DraftView).devices;
    expect(preview?.problems).toEqual([]);
    expect(preview?.diff.filter((e) => e.path.startsWith('agent.'))).toEqual(expect.arrayContaining([{ kind: 'changed', path: 'agent.device_id', before: 'rt-open', after: 'rt-open.lab' }]));
  });

  it('previews a draft per router, deploys it once, and answers a retried deploy the same', async () => {
    const draft = await operator.send('POST', '/api/v1/config/drafts', { body: { groups: [{ group: 'g-a', variables: { up: '20000' } }], devices: [{ device: 'rt-a-rev', overrides: [{ type: 'qos', name: 'qos', options: { ef_budget_percent: '40' } }] }] } });
    expect(draft.status, JSON.stringify(draft.body)).toBe(200);
    const d = draft.body as DraftView;
    // rt-a1's own variable (8000) still wins over the group's.
    expect(d.devices.map((x) => [x.deviceId, x.changed, x.diff.map((e) => `${e.path}=${String(e.after)}`)])).toEqual([
      ['rt-a-rev', true, ['qos.ef_budget_percent=40', 'qos.uplink_kbit=20000']],
      ['rt-a1', false, []],
    ]);
    const first = await operator.send('POST', `/api/v1/config/drafts/${d.id}/deploy`, { body: {} });
    expect(first.status).toBe(200);
    expect((first.body as DeployView).devices).toEqual([
      { deviceId: 'rt-a-rev', version: 2, created: true, sent: false },
      { deviceId: 'rt-a1', version: 2, created: false, sent: false },
    ]);
    const again = await operator.send('POST', `/api/v1/config/drafts/${d.id}/deploy`, { body: {} });
    expect(again.body).toEqual(first.body);
    expect(((await operator.send('GET', '/api/v1/devices/rt-a-rev/config')).body as DeviceConfigView).versions).toHaveLength(2);
    const gone = await operator.send('DELETE', '/api/v1/config/drafts/no-such-draft');
    expect(gone.status).toBe(404);
    const audit = await rig.fleet.listAudit({ target: `draft:${d.id}`, limit: 10 });
    expect(audit.map((e) => [e.actor, e.action])).toEqual([['operator:operator', 'config.draft.deploy'], ['operator:operator', 'config.draft.create']]);
  });
});
