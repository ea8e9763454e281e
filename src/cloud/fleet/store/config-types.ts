/**
 * The fleet store's part for configuration (issue 15 section 3): group templates and device
 * overrides with their variables, every version made for a device (immutable, kept), each
 * device's configuration status, operators' drafts, and staged rollouts. Both backends run one
 * implementation (config-sql.ts) and pass the same contract cases.
 */
import type { ConfigLayer, Variables } from '../../../core/fleet/config-layers.ts';
import type { DeviceConfigState, Rollout, RolloutState } from '../../../core/fleet/rollout.ts';
import type { ConfigProblem, ConfigSection, SelfTest } from '../../../core/protocol/messages/config.ts';

export { DRIFT_POLICIES, type DriftPolicy } from '../../../core/fleet/api-config.ts';
import type { DriftPolicy } from '../../../core/fleet/api-config.ts';
export const LAYER_SCOPES = ['group', 'device'] as const;
export type LayerScope = (typeof LAYER_SCOPES)[number];

/** A group's template or a device's overrides, with the variables of that scope. */
export interface ConfigLayerRecord {
  readonly scope: LayerScope;
  /** The group's or the device's id. */
  readonly id: string;
  readonly sections: ConfigLayer;
  readonly variables: Variables;
  /** A group's answer to drift (null on a device: its group's counts). */
  readonly driftPolicy: DriftPolicy | null;
  readonly updatedAtMs: number;
  readonly updatedBy: string;
}

export const VERSION_SOURCES = ['deploy', 'drift', 'resend'] as const;
export type VersionSource = (typeof VERSION_SOURCES)[number];

/** One immutable version of one device's configuration. */
export interface ConfigVersionRecord {
  readonly deviceId: string;
  /** Monotonic per device, from 1. */
  readonly version: number;
  readonly hash: string;
  readonly sections: ConfigSection[];
  /** How it came to be: an operator's deploy, or the router's own sections adopted after drift. */
  readonly source: VersionSource;
  readonly createdBy: string;
  readonly createdAtMs: number;
}

export interface ConfigStatusRecord {
  readonly deviceId: string;
  readonly desired: number;
  readonly applied: number;
  readonly state: DeviceConfigState;
  readonly reason: string | null;
  readonly problems: ConfigProblem[];
  readonly selfTest: SelfTest | null;
  /** The rollout that holds this device's desired version back or waits for it; null: none. */
  readonly rollout: string | null;
  readonly atMs: number;
}

/** An operator's pending edits, deployed together or discarded. */
export interface DraftChanges {
  readonly groups: readonly { readonly group: string; readonly template?: ConfigLayer; readonly variables?: Variables; readonly driftPolicy?: DriftPolicy }[];
  readonly devices: readonly { readonly device: string; readonly overrides?: ConfigLayer; readonly variables?: Variables }[];
}

export interface ConfigDraft {
  readonly id: string;
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly changes: DraftChanges;
}

export interface RolloutRecord {
  readonly id: string;
  readonly group: string;
  readonly state: RolloutState;
  /** The machine's data (src/core/fleet/rollout.ts). */
  readonly rollout: Rollout;
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export interface FleetConfigStore {
  getLayer(scope: LayerScope, id: string): Promise<ConfigLayerRecord | null>;
  putLayer(layer: ConfigLayerRecord): Promise<void>;

  /** E_CONFLICT when the device already has this version number. */
  addVersion(version: ConfigVersionRecord): Promise<void>;
  getVersion(deviceId: string, version: number): Promise<ConfigVersionRecord | null>;
  latestVersion(deviceId: string): Promise<ConfigVersionRecord | null>;
  /** Newest first. */
  listVersions(deviceId: string, limit: number): Promise<ConfigVersionRecord[]>;

  getStatus(deviceId: string): Promise<ConfigStatusRecord | null>;
  putStatus(status: ConfigStatusRecord): Promise<void>;

  /** E_CONFLICT when the id exists. */
  createDraft(draft: ConfigDraft): Promise<void>;
  getDraft(id: string): Promise<ConfigDraft | null>;
  /** False when there was none. */
  deleteDraft(id: string): Promise<boolean>;

  putRollout(rollout: RolloutRecord): Promise<void>;
  getRollout(id: string): Promise<RolloutRecord | null>;
  /** Rollouts in this state, oldest first. */
  listRollouts(state: RolloutState): Promise<RolloutRecord[]>;
}
