/**
 * The fleet's configuration on the server (issue 15 section 3): layers in, versions out, and what
 * each router made of them.
 *
 * - A deploy (a one-edit PUT, or an operator's draft of several edits) lays defaults, the group's
 *   template and the device's overrides with their variables for every device it touches, and
 *   refuses the whole deploy when any device's result has a problem (E_CONFIG, the paths named),
 *   before anything is stored or sent.
 * - A new immutable version is stored only when the content hash changed; it becomes the device's
 *   desired version and goes out as `config.apply` to an online router, or at its next `open`.
 * - Only a `config.report` moves a device to applied (never a heartbeat or a guess).
 * - Drift: the group's policy says who wins. `cloud-wins` sends the desired sections again as a
 *   new version (source `resend`: a router takes a version it has applied as done already);
 *   `router-wins` stores the router's sections as a new version and sends it, so that the router
 *   reports it applied under its new number.
 * - A staged rollout sends the canary, then each wave when the one before has settled, and stops
 *   by itself past the failure threshold (src/core/fleet/rollout.ts).
 *
 * Every change is in the audit log with before and after. All changes run one at a time (one
 * queue), so that a report never races a deploy over a device's status.
 */
import { diffConfig, type DiffEntry } from '../../core/fleet/config-diff.ts';
import { deployBody, deviceLayerBody, draftBody, groupLayerBody, rolloutBody } from '../../core/fleet/api-config.ts';
import { fleetDefaults, layerConfig, type ConfigLayer, type Variables } from '../../core/fleet/config-layers.ts';
import { configError, configHashOf, normaliseSections, validateConfig } from '../../core/fleet/config-version.ts';
import {
  desire, expireWave, isSettled, NO_CONFIG, onReport, onRolloutResult, rolloutCounts, startRollout, type DeviceConfigStatus, type RolloutCounts, type RolloutPlan,
  type RolloutStep,
} from '../../core/fleet/rollout.ts';
import type { Logger } from '../../core/log.ts';
import type { ConfigReportMessage } from '../../core/protocol/envelope.ts';
import type { ConfigProblem, ConfigSection } from '../../core/protocol/messages/config.ts';
import { validate, type Infer } from '../../core/protocol/schema.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import type { Store } from '../store/types.ts';
import type { JsonValue } from '../store/types.ts';
import { KeyedQueue } from '../server/keyed-queue.ts';
import type { Outbox } from '../server/outbox.ts';
import type { Actor } from './actions.ts';
import {
  type ConfigLayerRecord, type ConfigStatusRecord, type ConfigVersionRecord, type DraftChanges, type DriftPolicy, type LayerScope, type RolloutRecord,
} from './store/config-types.ts';
import type { FleetDevice, FleetStore } from './store/types.ts';

/** How long a router waits for its cloud link after applying before it rolls back. */
export const DEFAULT_LINK_CHECK_S = 60;
/** Versions listed on a device's page. */
export const VERSIONS_SHOWN = 50;
/** How long a rollout's wave waits for its routers by default. */
export const DEFAULT_WAVE_TIMEOUT_S = 600;

export { deployBody, deviceLayerBody, draftBody, groupLayerBody, rolloutBody };
export type GroupLayerInput = Infer<typeof groupLayerBody>;
export type DeviceLayerInput = Infer<typeof deviceLayerBody>;

export interface DevicePreview {
  readonly deviceId: string;
  /** The device's latest version now (0: none). */
  readonly fromVersion: number;
  readonly changed: boolean;
  readonly hash: string;
  readonly diff: DiffEntry[];
  readonly problems: ConfigProblem[];
}

export interface DeployOutcome {
  readonly devices: { readonly deviceId: string; readonly version: number; readonly created: boolean; readonly sent: boolean }[];
  readonly rollout: string | null;
}

export interface RolloutView {
  readonly id: string;
  readonly group: string;
  readonly state: RolloutRecord['state'];
  readonly reason: string | null;
  readonly wave: number;
  readonly waves: number;
  readonly counts: RolloutCounts;
  readonly devices: RolloutRecord['rollout']['devices'];
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export interface DeviceConfigView {
  readonly deviceId: string;
  readonly status: ConfigStatusRecord | null;
  readonly versions: Omit<ConfigVersionRecord, 'sections'>[];
  /** The desired version's sections. */
  readonly sections: ConfigSection[];
}

export interface ConfigServiceDeps {
  readonly fleet: FleetStore;
  /** The server's store: which routers are online now. */
  readonly store: Pick<Store, 'getDevice'>;
  readonly outbox: Pick<Outbox, 'toDevice'>;
  readonly log: Logger;
  readonly now?: () => number;
  readonly newId?: () => string;
  readonly linkCheckS?: number;
}

interface Computed {
  readonly device: FleetDevice;
  readonly sections: ConfigSection[];
  readonly hash: string;
  readonly problems: ConfigProblem[];
  readonly latest: ConfigVersionRecord | null;
}

const notFound = (what: string, path: string): Result<never> => fail(coreError('E_NOT_FOUND', `no such ${what}`, path));
/** Devices a configuration is made for: enrolled ones. */
const CONFIGURED_STATES = new Set(['approved', 'accepted']);

function statusJson(s: ConfigStatusRecord | null): JsonValue {
  return s === null ? null : { desired: s.desired, applied: s.applied, state: s.state, reason: s.reason };
}

function layerJson(l: ConfigLayerRecord | null): JsonValue {
  return l === null ? null : (JSON.parse(JSON.stringify({ sections: l.sections, variables: l.variables, driftPolicy: l.driftPolicy })) as JsonValue);
}

export class ConfigService {
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly queue = new KeyedQueue();
  private readonly linkCheckS: number;
  /** Report ids handled lately: a redelivered report is not counted twice. */
  private readonly seenReports = new Map<string, true>();

  constructor(private readonly deps: ConfigServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? (() => `${this.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`);
    this.linkCheckS = deps.linkCheckS ?? DEFAULT_LINK_CHECK_S;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.run('config', work);
  }

  private get cfg(): FleetStore['config'] {
    return this.deps.fleet.config;
  }

  // ---- scope ---------------------------------------------------------------------------------

  private async scopedGroup(actor: Actor, groupId: string): Promise<boolean> {
    const g = await this.deps.fleet.getGroup(groupId);
    return g !== null && (actor.domain === null || g.domain === actor.domain);
  }

  private async scopedDevice(actor: Actor, deviceId: string): Promise<FleetDevice | null> {
    const d = await this.deps.fleet.getFleetDevice(deviceId);
    return d !== null && (await this.scopedGroup(actor, d.group)) ? d : null;
  }

  private async groupDevices(groupId: string): Promise<FleetDevice[]> {
    const out: FleetDevice[] = [];
    for (let offset = 0; ; offset += 200) {
      const page = await this.deps.fleet.queryInventory({ group: groupId, sort: 'id', descending: false, offset, limit: 200 });
      for (const r of page.rows) if (r.fleet !== null && CONFIGURED_STATES.has(r.fleet.state)) out.push(r.fleet);
      if (page.rows.length < 200) return out;
    }
  }

  // ---- layers --------------------------------------------------------------------------------

  async getLayer(actor: Actor, scope: LayerScope, targetId: string): Promise<Result<ConfigLayerRecord>> {
    const found = scope === 'group' ? await this.scopedGroup(actor, targetId) : (await this.scopedDevice(actor, targetId)) !== null;
    if (!found) return notFound(scope, 'id');
    const l = await this.cfg.getLayer(scope, targetId);
    return ok(l ?? { scope, id: targetId, sections: [], variables: {}, driftPolicy: scope === 'group' ? 'cloud-wins' : null, updatedAtMs: 0, updatedBy: '' });
  }

  /** Sets a group's template and variables and deploys at once (a draft of one edit). */
  async putGroupLayer(actor: Actor, groupId: string, input: unknown): Promise<Result<DeployOutcome>> {
    const checked = validate(groupLayerBody, input);
    if (!checked.ok) return checked;
    const { template, variables, driftPolicy } = checked.value;
    return this.deployChanges(actor, { groups: [{ group: groupId, template, variables, ...(driftPolicy ? { driftPolicy } : {}) }], devices: [] }, null, 'group');
  }

  /** Sets a device's overrides and variables and deploys at once. */
  async putDeviceLayer(actor: Actor, deviceId: string, input: unknown): Promise<Result<DeployOutcome>> {
    const checked = validate(deviceLayerBody, input);
    if (!checked.ok) return checked;
    return this.deployChanges(actor, { groups: [], devices: [{ device: deviceId, overrides: checked.value.overrides, variables: checked.value.variables }] }, null, 'device');
  }

  // ---- drafts --------------------------------------------------------------------------------

  async createDraft(actor: Actor, input: unknown): Promise<Result<{ id: string; devices: DevicePreview[] }>> {
    const checked = validate(draftBody, input);
    if (!checked.ok) return checked;
    const changes: DraftChanges = { groups: checked.value.groups ?? [], devices: checked.value.devices ?? [] };
    if (changes.groups.length === 0 && changes.devices.length === 0) return fail(coreError('E_INPUT', 'a draft changes at least one group or device', 'groups'));
    const computed = await this.computeChanges(actor, changes);
    if (!computed.ok) return computed;
    const draft = { id: this.newId(), createdBy: actor.name, createdAtMs: this.now(), changes };
    await this.cfg.createDraft(draft);
    await this.audit(actor, 'config.draft.create', `draft:${draft.id}`, null, JSON.parse(JSON.stringify(changes)) as JsonValue);
    return ok({ id: draft.id, devices: computed.value.map(preview) });
  }

  async discardDraft(actor: Actor, draftId: string): Promise<Result<{ id: string }>> {
    const draft = await this.cfg.getDraft(draftId);
    if (draft === null) return (await this.finished(draftId, 'config.draft.discard')) === null ? notFound('draft', 'id') : ok({ id: draftId });
    if (!(await this.draftInScope(actor, draft.changes))) return notFound('draft', 'id');
    await this.cfg.deleteDraft(draftId);
    await this.audit(actor, 'config.draft.discard', `draft:${draftId}`, JSON.parse(JSON.stringify(draft.changes)) as JsonValue, null);
    return ok({ id: draftId });
  }

  async deployDraft(actor: Actor, draftId: string, input: unknown): Promise<Result<DeployOutcome>> {
    const checked = validate(deployBody, input ?? {});
    if (!checked.ok) return checked;
    const draft = await this.cfg.getDraft(draftId);
    if (draft === null) {
      // Deployed already (a retried request): the same answer again, nothing redone.
      const done = await this.finished(draftId, 'config.draft.deploy');
      return done === null ? notFound('draft', 'id') : ok(done.after as unknown as DeployOutcome);
    }
    if (!(await this.draftInScope(actor, draft.changes))) return notFound('draft', 'id');
    const asked = checked.value.rollout;
    const plan = asked === undefined ? null : { ...asked, waveTimeoutS: asked.waveTimeoutS ?? DEFAULT_WAVE_TIMEOUT_S };
    if (plan !== null && draft.changes.groups.length !== 1) {
      return fail(coreError('E_INPUT', 'a staged rollout deploys a draft that changes exactly one group', 'rollout'));
    }
    const r = await this.deployChanges(actor, draft.changes, plan, 'draft');
    if (r.ok) {
      await this.cfg.deleteDraft(draftId);
      await this.audit(actor, 'config.draft.deploy', `draft:${draftId}`, JSON.parse(JSON.stringify(draft.changes)) as JsonValue, JSON.parse(JSON.stringify(r.value)) as JsonValue);
    }
    return r;
  }

  /** The audit entry of a draft's deploy or discard, if it had one. */
  private async finished(draftId: string, action: string): Promise<{ after: JsonValue | null } | null> {
    const entries = await this.deps.fleet.listAudit({ target: `draft:${draftId}`, limit: 10 });
    return entries.find((e) => e.action === action) ?? null;
  }

  private async draftInScope(actor: Actor, changes: DraftChanges): Promise<boolean> {
    for (const g of changes.groups) if (!(await this.scopedGroup(actor, g.group))) return false;
    for (const d of changes.devices) if ((await this.scopedDevice(actor, d.device)) === null) return false;
    return true;
  }

  /** The layers as they would be with the changes, and each touched device's result. */
  private async computeChanges(actor: Actor, changes: DraftChanges): Promise<Result<Computed[]>> {
    const groupLayers = new Map<string, ConfigLayerRecord>();
    const deviceLayers = new Map<string, ConfigLayerRecord>();
    const touched = new Map<string, FleetDevice>();
    for (const [i, g] of changes.groups.entries()) {
      if (!(await this.scopedGroup(actor, g.group))) return notFound('group', `groups[${i}].group`);
      const base = (await this.getLayer(actor, 'group', g.group)) as { value: ConfigLayerRecord };
      groupLayers.set(g.group, {
        ...base.value, sections: g.template ?? base.value.sections, variables: g.variables ?? base.value.variables, driftPolicy: g.driftPolicy ?? base.value.driftPolicy,
      });
      for (const d of await this.groupDevices(g.group)) touched.set(d.deviceId, d);
    }
    for (const [i, c] of changes.devices.entries()) {
      const d = await this.scopedDevice(actor, c.device);
      if (d === null) return notFound('device', `devices[${i}].device`);
      const base = (await this.getLayer(actor, 'device', c.device)) as { value: ConfigLayerRecord };
      deviceLayers.set(c.device, { ...base.value, sections: c.overrides ?? base.value.sections, variables: c.variables ?? base.value.variables });
      touched.set(d.deviceId, d);
    }
    const out: Computed[] = [];
    for (const device of [...touched.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1))) {
      const group = groupLayers.get(device.group) ?? (await this.cfg.getLayer('group', device.group));
      const own = deviceLayers.get(device.deviceId) ?? (await this.cfg.getLayer('device', device.deviceId));
      out.push(await this.compute(device, group?.sections ?? [], group?.variables ?? {}, own?.sections ?? [], own?.variables ?? {}));
    }
    return ok(out);
  }

  private async compute(device: FleetDevice, template: ConfigLayer, groupVariables: Variables, overrides: ConfigLayer, deviceVariables: Variables): Promise<Computed> {
    // Built in, below the group's own: the device's id and group (e.g. `username ${device_id}` in a cloud section).
    const builtIn = { device_id: device.deviceId, group: device.group };
    const layered = layerConfig({ defaults: fleetDefaults(), template, overrides, groupVariables: { ...builtIn, ...groupVariables }, deviceVariables });
    const sections = normaliseSections(layered.sections);
    // Both kinds at once: an unknown variable (its text left in place) and what the spec refuses elsewhere.
    const unresolved = new Set(layered.problems.map((p) => p.path.replace(/\[\d+\]$/, '')));
    const problems = [...layered.problems, ...validateConfig(sections).filter((p) => !unresolved.has(p.path))];
    return { device, sections, hash: configHashOf(sections), problems, latest: await this.cfg.latestVersion(device.deviceId) };
  }

  /** Checks every device, then writes the layers, makes the versions and sends them (or starts a rollout). */
  private deployChanges(actor: Actor, changes: DraftChanges, plan: RolloutPlan | null, how: string): Promise<Result<DeployOutcome>> {
    return this.serial(async () => {
      const computed = await this.computeChanges(actor, changes);
      if (!computed.ok) return computed;
      const bad = computed.value.filter((c) => c.problems.length > 0);
      if (bad.length > 0) {
        const first = bad[0] as Computed;
        const e = configError(first.problems, `device ${first.device.deviceId}'s configuration`);
        const others = bad.length > 1 ? ` (and ${bad.length - 1} more devices: ${bad.slice(1, 6).map((b) => b.device.deviceId).join(', ')})` : '';
        return fail({ ...e, message: `${e.message}${others}; nothing was deployed` });
      }
      const at = this.now();
      for (const g of changes.groups) {
        const before = await this.cfg.getLayer('group', g.group);
        const base = before ?? { scope: 'group' as const, id: g.group, sections: [], variables: {}, driftPolicy: 'cloud-wins' as const, updatedAtMs: 0, updatedBy: '' };
        const after: ConfigLayerRecord = {
          ...base, sections: g.template ?? base.sections, variables: g.variables ?? base.variables, driftPolicy: g.driftPolicy ?? base.driftPolicy, updatedAtMs: at, updatedBy: actor.name,
        };
        await this.cfg.putLayer(after);
        await this.audit(actor, 'config.group.set', `group:${g.group}`, layerJson(before), layerJson(after));
      }
      for (const d of changes.devices) {
        const before = await this.cfg.getLayer('device', d.device);
        const base = before ?? { scope: 'device' as const, id: d.device, sections: [], variables: {}, driftPolicy: null, updatedAtMs: 0, updatedBy: '' };
        const after: ConfigLayerRecord = { ...base, sections: d.overrides ?? base.sections, variables: d.variables ?? base.variables, updatedAtMs: at, updatedBy: actor.name };
        await this.cfg.putLayer(after);
        await this.audit(actor, 'config.device.set', `device:${d.device}`, layerJson(before), layerJson(after));
      }
      const results: { deviceId: string; version: number; created: boolean; sent: boolean }[] = [];
      const versions = new Map<string, number>();
      for (const c of computed.value) {
        const created = c.latest === null || c.latest.hash !== c.hash;
        const version = created ? await this.newVersion(c.device.deviceId, c.sections, c.hash, 'deploy', actor.name) : (c.latest as ConfigVersionRecord).version;
        versions.set(c.device.deviceId, version);
        results.push({ deviceId: c.device.deviceId, version, created, sent: false });
      }
      this.deps.log.info('configuration deployed', { by: actor.name, how, devices: results.length, created: results.filter((r) => r.created).length });
      if (plan !== null) {
        const group = (changes.groups[0] as { group: string }).group;
        // Only devices whose desired version changes take part; the rest have it already.
        const moving: string[] = [];
        for (const r of results) if ((await this.statusOf(r.deviceId)).desired !== r.version) moving.push(r.deviceId);
        const rolloutId = await this.startRollout(actor, group, moving, plan);
        for (const r of results) if (moving.includes(r.deviceId)) r.sent = (await this.statusOf(r.deviceId)).desired === r.version;
        return ok({ devices: results, rollout: rolloutId });
      }
      for (const r of results) r.sent = await this.setDesired(r.deviceId, r.version, actor.name, null);
      return ok({ devices: results, rollout: null });
    });
  }

  private async newVersion(deviceId: string, sections: ConfigSection[], hash: string, source: ConfigVersionRecord['source'], by: string): Promise<number> {
    const latest = await this.cfg.latestVersion(deviceId);
    const version = (latest?.version ?? 0) + 1;
    await this.cfg.addVersion({ deviceId, version, hash, sections, source, createdBy: by, createdAtMs: this.now() });
    await this.audit({ name: by, domain: null }, 'config.version.create', `device:${deviceId}`, latest === null ? null : { version: latest.version, hash: latest.hash }, { version, hash, source });
    return version;
  }

  private async statusOf(deviceId: string): Promise<ConfigStatusRecord> {
    return (await this.cfg.getStatus(deviceId)) ?? { deviceId, ...NO_CONFIG, problems: [], selfTest: null, rollout: null, atMs: 0 };
  }

  private async saveStatus(before: ConfigStatusRecord, next: DeviceConfigStatus, extra: Partial<ConfigStatusRecord>, actor: string): Promise<ConfigStatusRecord> {
    const after: ConfigStatusRecord = { ...before, ...next, ...extra, atMs: this.now() };
    await this.cfg.putStatus(after);
    if (before.desired !== after.desired || before.applied !== after.applied || before.state !== after.state || before.reason !== after.reason) {
      await this.audit({ name: actor, domain: null }, 'config.status', `device:${before.deviceId}`, statusJson(before.atMs === 0 ? null : before), statusJson(after));
    }
    return after;
  }

  /** Makes `version` the device's desired one and sends it if the router is online; true when sent. */
  private async setDesired(deviceId: string, version: number, by: string, rollout: string | null): Promise<boolean> {
    const before = await this.statusOf(deviceId);
    if (before.desired === version && before.state !== 'drift') return false;
    await this.saveStatus(before, desire(before, version), { problems: [], selfTest: null, rollout }, by);
    if (version === before.applied) return false;
    return this.sendIfOnline(deviceId, version);
  }

  private async sendIfOnline(deviceId: string, version: number): Promise<boolean> {
    const presence = await this.deps.store.getDevice(deviceId);
    if (presence?.status !== 'online') return false;
    return this.send(deviceId, version);
  }

  private async send(deviceId: string, version: number): Promise<boolean> {
    const v = await this.cfg.getVersion(deviceId, version);
    if (v === null) return false;
    const sent = this.deps.outbox.toDevice(deviceId, 'config.apply', { version: v.version, hash: v.hash, sections: v.sections, linkCheckS: this.linkCheckS });
    if (!sent.ok) this.deps.log.error('config.apply could not be built', { device: deviceId, version, code: sent.error.code, path: sent.error.path ?? '' });
    return sent.ok;
  }

  // ---- rollouts ------------------------------------------------------------------------------

  private async startRollout(actor: Actor, group: string, devices: string[], plan: RolloutPlan): Promise<string> {
    const id = this.newId();
    const step = startRollout(devices, plan, this.now());
    const at = this.now();
    const record: RolloutRecord = { id, group, state: step.rollout.state, rollout: step.rollout, createdBy: actor.name, createdAtMs: at, updatedAtMs: at };
    await this.cfg.putRollout(record);
    await this.audit(actor, 'config.rollout.start', `rollout:${id}`, null, { group, devices: devices.length, ...plan });
    await this.sendWave(id, step.send, actor.name);
    return id;
  }

  private async sendWave(rolloutId: string, devices: readonly string[], by: string): Promise<void> {
    for (const d of devices) {
      const latest = await this.cfg.latestVersion(d);
      if (latest !== null) await this.setDesired(d, latest.version, by, rolloutId);
    }
  }

  private async rolloutResult(rolloutId: string, deviceId: string, outcome: 'applied' | 'failed'): Promise<void> {
    const record = await this.cfg.getRollout(rolloutId);
    if (record === null) return;
    await this.rolloutStep(record, onRolloutResult(record.rollout, deviceId, outcome, this.now()));
  }

  /** Rollouts whose wave's time is up: the silent routers count as failed (the server runs this every second). */
  expireWaves(): Promise<void> {
    return this.serial(async () => {
      for (const record of await this.cfg.listRollouts('running')) await this.rolloutStep(record, expireWave(record.rollout, this.now()));
    });
  }

  private async rolloutStep(record: RolloutRecord, step: RolloutStep): Promise<void> {
    const rolloutId = record.id;
    if (step.rollout === record.rollout) return;
    await this.cfg.putRollout({ ...record, state: step.rollout.state, rollout: step.rollout, updatedAtMs: this.now() });
    if (step.rollout.state !== record.state) {
      await this.audit({ name: 'system', domain: null }, `config.rollout.${step.rollout.state}`, `rollout:${rolloutId}`, { state: record.state }, { state: step.rollout.state, reason: step.rollout.reason });
      this.deps.log.info('rollout ' + step.rollout.state, { rollout: rolloutId, reason: step.rollout.reason ?? '' });
    }
    await this.sendWave(rolloutId, step.send, 'system');
  }

  async getRollout(actor: Actor, rolloutId: string): Promise<Result<RolloutView>> {
    const r = await this.cfg.getRollout(rolloutId);
    if (r === null || !(await this.scopedGroup(actor, r.group))) return notFound('rollout', 'id');
    return ok({
      id: r.id, group: r.group, state: r.state, reason: r.rollout.reason, wave: r.rollout.wave, waves: r.rollout.waves.length, counts: rolloutCounts(r.rollout),
      devices: r.rollout.devices, createdBy: r.createdBy, createdAtMs: r.createdAtMs, updatedAtMs: r.updatedAtMs,
    });
  }

  // ---- reads ---------------------------------------------------------------------------------

  async deviceConfig(actor: Actor, deviceId: string): Promise<Result<DeviceConfigView>> {
    if ((await this.scopedDevice(actor, deviceId)) === null) return notFound('device', 'id');
    const versions = await this.cfg.listVersions(deviceId, VERSIONS_SHOWN);
    const status = await this.cfg.getStatus(deviceId);
    const desired = status === null || status.desired === 0 ? null : await this.cfg.getVersion(deviceId, status.desired);
    return ok({ deviceId, status, versions: versions.map(({ sections: _s, ...v }) => v), sections: desired?.sections ?? [] });
  }

  async diffVersions(actor: Actor, deviceId: string, a: number, b: number): Promise<Result<{ a: number; b: number; diff: DiffEntry[] }>> {
    if ((await this.scopedDevice(actor, deviceId)) === null) return notFound('device', 'id');
    const va = await this.cfg.getVersion(deviceId, a);
    if (va === null) return notFound('version', 'a');
    const vb = await this.cfg.getVersion(deviceId, b);
    if (vb === null) return notFound('version', 'b');
    return ok({ a, b, diff: diffConfig(va.sections, vb.sections) });
  }

  // ---- the routers ---------------------------------------------------------------------------

  /** A router opened (after its `accept`): it gets its desired version if it does not run it. */
  onOpen(deviceId: string): Promise<void> {
    return this.serial(async () => {
      const s = await this.cfg.getStatus(deviceId);
      if (s === null || s.desired === 0 || (s.desired === s.applied && s.state === 'applied')) return;
      if (s.state === 'rejected' || s.state === 'rolled-back') return; // the router said no to it; a new deploy asks again
      // Drift the policy could not answer (no desired version, no sections): sending the applied
      // version would only be answered `applied` and hide the local edit.
      if (s.state === 'drift' && s.desired === s.applied) return;
      await this.send(deviceId, s.desired);
    });
  }

  /** A `config.report` from a router's uplink. */
  handleReport(deviceId: string, message: ConfigReportMessage): Promise<void> {
    return this.serial(async () => {
      if (message.device !== deviceId) {
        this.deps.log.warn('config report names another sender than its topic; dropped', { device: deviceId, sender: message.device });
        return;
      }
      const key = `${deviceId} ${message.id}`;
      if (this.seenReports.has(key)) return;
      this.seenReports.set(key, true);
      if (this.seenReports.size > 10_000) this.seenReports.delete(this.seenReports.keys().next().value as string);
      await this.report(deviceId, message.body);
    });
  }

  private async report(deviceId: string, body: ConfigReportMessage['body']): Promise<void> {
    const actor = `device:${deviceId}`;
    const before = await this.statusOf(deviceId);
    if (body.state === 'drift') {
      await this.drift(deviceId, before, body);
      return;
    }
    const v = await this.cfg.getVersion(deviceId, body.version);
    if (v === null || v.hash !== body.hash) {
      this.deps.log.warn('config report on a version the server did not make, or with another hash; ignored', { device: deviceId, version: body.version, hash: body.hash });
      return;
    }
    const next = onReport(before, { version: body.version, state: body.state, ...(body.reason === undefined ? {} : { reason: body.reason }) });
    if (next === null) {
      this.deps.log.debug('stale config report ignored', { device: deviceId, version: body.version, state: body.state });
      return;
    }
    const after = await this.saveStatus(before, next, { problems: body.problems ?? [], selfTest: body.selfTest ?? before.selfTest }, actor);
    if (after.rollout !== null && body.version === after.desired && isSettled(after.state)) {
      await this.rolloutResult(after.rollout, deviceId, after.state === 'applied' ? 'applied' : 'failed');
    }
  }

  private async drift(deviceId: string, before: ConfigStatusRecord, body: ConfigReportMessage['body']): Promise<void> {
    const device = await this.deps.fleet.getFleetDevice(deviceId);
    const group = device === null ? null : await this.cfg.getLayer('group', device.group);
    const policy: DriftPolicy = group?.driftPolicy ?? 'cloud-wins';
    const next = onReport(before, { version: body.version, state: 'drift', reason: body.reason ?? 'changed on the router' });
    const drifted = await this.saveStatus(before, next ?? before, { problems: body.problems ?? [] }, `device:${deviceId}`);
    this.deps.log.info('configuration drift', { device: deviceId, policy });
    if (policy === 'cloud-wins') {
      const desired = drifted.desired === 0 ? null : await this.cfg.getVersion(deviceId, drifted.desired);
      if (desired === null) return;
      // The desired content again under a new number: a router answers a version it has applied
      // already with `applied` and changes nothing, which would leave the local edit in place.
      const version = await this.newVersion(deviceId, desired.sections, desired.hash, 'resend', 'system');
      await this.saveStatus(drifted, { ...desire(drifted, version), reason: 'drift: the desired configuration sent again (cloud wins)' }, {}, 'system');
      await this.send(deviceId, version);
      return;
    }
    if (body.sections === undefined) {
      this.deps.log.warn('drift reported without the sections; the router cannot win', { device: deviceId });
      return;
    }
    const sections = normaliseSections(body.sections);
    const version = await this.newVersion(deviceId, sections, configHashOf(sections), 'drift', `device:${deviceId}`);
    await this.saveStatus(drifted, desire(drifted, version), {}, 'system');
    await this.send(deviceId, version);
  }

  private async audit(actor: Actor, action: string, target: string, before: JsonValue, after: JsonValue): Promise<void> {
    await this.deps.fleet.appendAudit({ atMs: this.now(), actor: actor.name, action, target, before, after });
  }
}

function preview(c: Computed): DevicePreview {
  return {
    deviceId: c.device.deviceId, fromVersion: c.latest?.version ?? 0, changed: c.latest?.hash !== c.hash, hash: c.hash,
    diff: diffConfig(c.latest?.sections ?? [], c.sections), problems: c.problems,
  };
}
