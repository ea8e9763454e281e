/**
 * The configuration part of the operators' API (issue 15 section 3): request schemas, response
 * types and routes, joined into `ROUTES` in ./api.ts. Reads are for viewers; every change needs
 * an operator. A change to a group's template or a device's overrides deploys at once (a draft of
 * one edit); a draft gathers several edits, shows the diff per device, and deploys them together,
 * optionally as a staged rollout.
 *
 * This module imports only types from ./api.ts: api.ts imports CONFIG_ROUTES from here.
 */
import { DEVICE_ID } from '../protocol/fields.ts';
import type { ConfigProblem, ConfigSection, SelfTest } from '../protocol/messages/config.ts';
import { arr, Code, failAt, int, obj, oneOf, optional, str, typeName, type Infer, type JsonSchema, type Schema } from '../protocol/schema.ts';
import { configLayer, variables } from './config-layers.ts';
import type { DiffEntry } from './config-diff.ts';
import type { DeviceConfigState, RolloutDeviceState, RolloutState } from './rollout.ts';
import type { RouteSpec } from './api.ts';

export const DRIFT_POLICIES = ['cloud-wins', 'router-wins'] as const;
export type DriftPolicy = (typeof DRIFT_POLICIES)[number];

const id = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'id' });
const draftId = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]{1,64}$/, format: 'draft id' });

/** A version number in a path: decimal text, 1 and up. */
function versionParam(): Schema<number> & { readonly jsonSchema: JsonSchema } {
  const inner = int({ min: 1, max: Number.MAX_SAFE_INTEGER });
  return {
    jsonSchema: { type: 'integer', minimum: 1 },
    check(input, path) {
      if (typeof input === 'number') return inner.check(input, path);
      if (typeof input !== 'string' || !/^[0-9]{1,15}$/.test(input)) return failAt(Code.TYPE, `expected a version number, got ${typeof input === 'string' ? 'text' : typeName(input)}`, path);
      return inner.check(Number(input), path);
    },
  };
}

export const groupLayerBody = obj({ template: configLayer, variables, driftPolicy: optional(oneOf(DRIFT_POLICIES)) });
export const deviceLayerBody = obj({ overrides: configLayer, variables });
export const draftBody = obj({
  groups: optional(arr(obj({ group: id, template: optional(configLayer), variables: optional(variables), driftPolicy: optional(oneOf(DRIFT_POLICIES)) }), { max: 64 })),
  devices: optional(arr(obj({ device: id, overrides: optional(configLayer), variables: optional(variables) }), { max: 1000 })),
});
export const rolloutBody = obj({
  /** Share of the group's devices in the first wave (at least one device). */
  canaryPercent: int({ min: 1, max: 100 }),
  /** Devices per later wave. */
  waveSize: int({ min: 1, max: 10_000 }),
  /** The rollout stops when failed / sent passes this percentage. */
  stopPercent: int({ min: 0, max: 100 }),
  /** How long each wave waits for its routers' answers (default 600 s); the silent ones count as failed. */
  waveTimeoutS: optional(int({ min: 1, max: 86_400 })),
});
export const deployBody = obj({ rollout: optional(rolloutBody) });

export const configIdParams = obj({ id });
export const draftParams = obj({ id: draftId });
export const diffParams = obj({ id, a: versionParam(), b: versionParam() });

export type GroupLayerBody = Infer<typeof groupLayerBody>;
export type DeviceLayerBody = Infer<typeof deviceLayerBody>;
export type DraftBody = Infer<typeof draftBody>;
export type DeployBody = Infer<typeof deployBody>;

// ---- responses ------------------------------------------------------------------------------

export interface ConfigLayerView {
  readonly scope: 'group' | 'device';
  readonly id: string;
  readonly sections: Infer<typeof configLayer>;
  readonly variables: Readonly<Record<string, string>>;
  readonly driftPolicy: DriftPolicy | null;
  readonly updatedAtMs: number;
  readonly updatedBy: string;
}

export interface DeployView {
  readonly devices: readonly { readonly deviceId: string; readonly version: number; readonly created: boolean; readonly sent: boolean }[];
  readonly rollout: string | null;
}

export interface DevicePreviewView {
  readonly deviceId: string;
  readonly fromVersion: number;
  readonly changed: boolean;
  readonly hash: string;
  readonly diff: readonly DiffEntry[];
  readonly problems: readonly ConfigProblem[];
}

export interface DraftView {
  readonly id: string;
  readonly devices: readonly DevicePreviewView[];
}

export interface ConfigStatusView {
  readonly desired: number;
  readonly applied: number;
  readonly state: DeviceConfigState;
  readonly reason: string | null;
  readonly problems: readonly ConfigProblem[];
  readonly selfTest: SelfTest | null;
  readonly rollout: string | null;
  readonly atMs: number;
}

export interface ConfigVersionView {
  readonly version: number;
  readonly hash: string;
  readonly source: 'deploy' | 'drift' | 'resend';
  readonly createdBy: string;
  readonly createdAtMs: number;
}

export interface DeviceConfigView {
  readonly deviceId: string;
  readonly status: ConfigStatusView | null;
  /** Newest first. */
  readonly versions: readonly ConfigVersionView[];
  /** The desired version's sections; empty when there is none. */
  readonly sections: readonly ConfigSection[];
}

export interface VersionDiffView {
  readonly a: number;
  readonly b: number;
  readonly diff: readonly DiffEntry[];
}

export interface RolloutView {
  readonly id: string;
  readonly group: string;
  readonly state: RolloutState;
  readonly reason: string | null;
  /** The wave sent last (0: the canary) and how many there are. */
  readonly wave: number;
  readonly waves: number;
  readonly counts: { readonly total: number; readonly waiting: number; readonly sent: number; readonly applied: number; readonly failed: number; readonly 'timed-out': number };
  readonly devices: Readonly<Record<string, RolloutDeviceState>>;
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

const p = '/api/v1';

export const CONFIG_ROUTES = [
  { name: 'getGroupConfig', method: 'GET', path: `${p}/groups/:id/config`, access: 'viewer', params: configIdParams, scoped: true, response: 'ConfigLayerView', summary: 'A group\'s configuration template, its variables and its drift policy' },
  { name: 'putGroupConfig', method: 'PUT', path: `${p}/groups/:id/config`, access: 'operator', params: configIdParams, body: groupLayerBody, scoped: true, response: 'DeployView', summary: 'Set a group\'s template and variables and deploy to its routers (refused whole, with field paths, when any router\'s result is invalid)' },
  { name: 'getDeviceOverrides', method: 'GET', path: `${p}/devices/:id/config/overrides`, access: 'viewer', params: configIdParams, scoped: true, response: 'ConfigLayerView', summary: 'A router\'s own overrides and variables' },
  { name: 'putDeviceOverrides', method: 'PUT', path: `${p}/devices/:id/config/overrides`, access: 'operator', params: configIdParams, body: deviceLayerBody, scoped: true, response: 'DeployView', summary: 'Set a router\'s overrides and variables and deploy' },
  { name: 'createConfigDraft', method: 'POST', path: `${p}/config/drafts`, access: 'operator', body: draftBody, response: 'DraftView', summary: 'Draft edits of templates and overrides: the resulting diff and problems per router' },
  { name: 'deployConfigDraft', method: 'POST', path: `${p}/config/drafts/:id/deploy`, access: 'operator', params: draftParams, body: deployBody, scoped: true, response: 'DeployView', summary: 'Deploy a draft at once, or as a staged rollout (canary share, wave size, stop threshold); a draft deployed before answers its deploy again' },
  { name: 'discardConfigDraft', method: 'DELETE', path: `${p}/config/drafts/:id`, access: 'operator', params: draftParams, scoped: true, response: 'Empty', summary: 'Discard a draft' },
  { name: 'getDeviceConfig', method: 'GET', path: `${p}/devices/:id/config`, access: 'viewer', params: configIdParams, scoped: true, response: 'DeviceConfigView', summary: 'A router\'s configuration status (desired, applied, state, reason, problems, self-test) and versions' },
  { name: 'diffDeviceConfig', method: 'GET', path: `${p}/devices/:id/config/versions/:a/diff/:b`, access: 'viewer', params: diffParams, scoped: true, response: 'VersionDiffView', summary: 'What changes from version a to version b, option by option' },
  { name: 'getRollout', method: 'GET', path: `${p}/rollouts/:id`, access: 'viewer', params: configIdParams, scoped: true, response: 'RolloutView', summary: 'A staged rollout: its state, waves and counts' },
] as const satisfies readonly RouteSpec[];
