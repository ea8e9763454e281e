/**
 * The configuration part of the fleet API rig: the server's ConfigService on the rig's stores (its
 * config.apply messages kept in a list: no router is connected in these tests), seeded through it
 * with templates for dom-a's group and the open group, two versions of rt-a1, drafts and rollouts
 * of each domain, for the route × role cases (route-cases.ts).
 */
import { ConfigService } from '../../../src/cloud/fleet/config-service.ts';
import type { FleetStore } from '../../../src/cloud/fleet/store/types.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import type { Logger } from '../../../src/core/log.ts';
import { startRollout } from '../../../src/core/fleet/rollout.ts';
import { ok } from '../../../src/core/result.ts';

const seeder = { name: 'operator:seed', domain: null };
const RATES = { type: 'qos', name: 'qos', options: { uplink_kbit: '${up}', downlink_kbit: '50000' } };

export async function configRig(store: Store, fleet: FleetStore, log: Logger, seed: boolean): Promise<{ config: ConfigService; applied: unknown[] }> {
  const applied: unknown[] = [];
  const config = new ConfigService({ fleet, store, log, outbox: { toDevice: (device, type, body) => (applied.push({ device, type, body }), ok({} as never)) } });
  if (!seed) return { config, applied };
  const must = (r: { ok: boolean }, what: string) => {
    if (!r.ok) throw new Error(`seeding ${what} failed: ${JSON.stringify(r)}`);
  };
  for (const group of ['g-a', 'g-b', 'g-open']) must(await config.putGroupLayer(seeder, group, { template: [RATES], variables: { up: '10000' } }), group);
  must(await config.putDeviceLayer(seeder, 'rt-a1', { overrides: [{ type: 'qos', name: 'qos', options: { queue_backend: 'htb' } }], variables: { up: '8000' } }), 'rt-a1');
  must(await config.putDeviceLayer(seeder, 'rt-b1', { overrides: [{ type: 'qos', name: 'qos', options: { queue_backend: 'htb' } }], variables: {} }), 'rt-b1');
  const at = Date.now();
  for (const [id, device] of [['draft-a', 'rt-a1'], ['draft-a2', 'rt-a1'], ['draft-b', 'rt-b1'], ['draft-b2', 'rt-b1']] as const) {
    await fleet.config.createDraft({ id, createdBy: 'operator:seed', createdAtMs: at, changes: { groups: [], devices: [{ device, variables: { up: '9000' } }] } });
  }
  for (const [id, group, devices] of [['ro-a', 'g-a', ['rt-a1', 'rt-a-rev']], ['ro-b', 'g-b', ['rt-b1']]] as const) {
    const step = startRollout(devices, { canaryPercent: 50, waveSize: 1, stopPercent: 50, waveTimeoutS: 600 }, at);
    await fleet.config.putRollout({ id, group, state: step.rollout.state, rollout: step.rollout, createdBy: 'operator:seed', createdAtMs: at, updatedAtMs: at });
  }
  return { config, applied };
}
