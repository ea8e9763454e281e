/**
 * Handlers of the configuration routes (src/core/fleet/api-config.ts), on the server's
 * ConfigService (src/cloud/fleet/config-service.ts), which checks the actor's domain scope itself:
 * another domain's group, device, draft or rollout answers 404 as one that does not exist.
 * Bodies arrive checked against the core schemas (app.ts); the service checks them again, since
 * it is also called from elsewhere.
 */
import type { ConfigLayerView, DeployView, DeviceConfigView, DraftView, RolloutView, VersionDiffView } from '../../core/fleet/api-config.ts';
import type { RouteName } from '../../core/fleet/api.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import type { ConfigLayerRecord } from '../fleet/store/config-types.ts';
import type { Call, HandlerDeps } from './handlers.ts';

const off: Result<never> = fail({ code: 'E_STATE', message: 'configuration needs the fleet part: start the server with --identities embedded or dynsec' });

const idOf = (c: Call): string => (c.params as { id: string }).id;

function layerView(l: ConfigLayerRecord): ConfigLayerView {
  return { scope: l.scope, id: l.id, sections: l.sections, variables: l.variables, driftPolicy: l.driftPolicy, updatedAtMs: l.updatedAtMs, updatedBy: l.updatedBy };
}

const asLayer = (r: Result<ConfigLayerRecord>): Result<ConfigLayerView> => (r.ok ? ok(layerView(r.value)) : r);

async function getGroupConfig(d: HandlerDeps, c: Call): Promise<Result<ConfigLayerView>> {
  return d.config ? asLayer(await d.config.getLayer(c.actor, 'group', idOf(c))) : off;
}

async function putGroupConfig(d: HandlerDeps, c: Call): Promise<Result<DeployView>> {
  return d.config ? d.config.putGroupLayer(c.actor, idOf(c), c.body) : off;
}

async function getDeviceOverrides(d: HandlerDeps, c: Call): Promise<Result<ConfigLayerView>> {
  return d.config ? asLayer(await d.config.getLayer(c.actor, 'device', idOf(c))) : off;
}

async function putDeviceOverrides(d: HandlerDeps, c: Call): Promise<Result<DeployView>> {
  return d.config ? d.config.putDeviceLayer(c.actor, idOf(c), c.body) : off;
}

async function createConfigDraft(d: HandlerDeps, c: Call): Promise<Result<DraftView>> {
  return d.config ? d.config.createDraft(c.actor, c.body) : off;
}

async function deployConfigDraft(d: HandlerDeps, c: Call): Promise<Result<DeployView>> {
  return d.config ? d.config.deployDraft(c.actor, idOf(c), c.body ?? {}) : off;
}

async function discardConfigDraft(d: HandlerDeps, c: Call): Promise<Result<Record<string, never>>> {
  if (!d.config) return off;
  const r = await d.config.discardDraft(c.actor, idOf(c));
  return r.ok ? ok({}) : r;
}

async function getDeviceConfig(d: HandlerDeps, c: Call): Promise<Result<DeviceConfigView>> {
  if (!d.config) return off;
  const r = await d.config.deviceConfig(c.actor, idOf(c));
  if (!r.ok) return r;
  const s = r.value.status;
  return ok({
    deviceId: r.value.deviceId,
    status: s === null ? null : { desired: s.desired, applied: s.applied, state: s.state, reason: s.reason, problems: s.problems, selfTest: s.selfTest, rollout: s.rollout, atMs: s.atMs },
    versions: r.value.versions.map((v) => ({ version: v.version, hash: v.hash, source: v.source, createdBy: v.createdBy, createdAtMs: v.createdAtMs })),
    sections: r.value.sections,
  });
}

async function diffDeviceConfig(d: HandlerDeps, c: Call): Promise<Result<VersionDiffView>> {
  if (!d.config) return off;
  const { id, a, b } = c.params as { id: string; a: number; b: number };
  return d.config.diffVersions(c.actor, id, a, b);
}

async function getRollout(d: HandlerDeps, c: Call): Promise<Result<RolloutView>> {
  return d.config ? d.config.getRollout(c.actor, idOf(c)) : off;
}

type Handler = (deps: HandlerDeps, call: Call<never, never, never>) => Promise<Result<unknown>>;

export const CONFIG_HANDLERS: Partial<Record<RouteName, Handler>> = {
  getGroupConfig, putGroupConfig, getDeviceOverrides, putDeviceOverrides, createConfigDraft, deployConfigDraft, discardConfigDraft, getDeviceConfig, diffDeviceConfig, getRollout,
};
