/**
 * The configuration tables of the fleet store, one implementation for SQLite and PostgreSQL: the
 * statements use only what both speak (`?` placeholders, numbered for PostgreSQL by the
 * executor; `INSERT … ON CONFLICT … DO UPDATE`), and JSON is stored as text in both, so that a
 * version's sections come back exactly as they were written. Statements take parameters only.
 */
import { num, storeError, type Row } from '../../store/rows.ts';
import type {
  ConfigDraft, ConfigLayerRecord, ConfigStatusRecord, ConfigVersionRecord, FleetConfigStore, LayerScope, RolloutRecord,
} from './config-types.ts';
import type { RolloutState } from '../../../core/fleet/rollout.ts';

/** The migration (one numbered entry of the fleet's migrations); `big` is the 64-bit integer type. */
export function configMigration(big: 'INTEGER' | 'BIGINT'): string {
  return `CREATE TABLE config_layers (
     scope TEXT NOT NULL,
     id TEXT NOT NULL,
     sections TEXT NOT NULL,
     variables TEXT NOT NULL,
     drift_policy TEXT,
     updated_at_ms ${big} NOT NULL,
     updated_by TEXT NOT NULL,
     PRIMARY KEY (scope, id)
   );
   CREATE TABLE config_versions (
     device_id TEXT NOT NULL,
     version ${big} NOT NULL,
     hash TEXT NOT NULL,
     sections TEXT NOT NULL,
     source TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at_ms ${big} NOT NULL,
     PRIMARY KEY (device_id, version)
   );
   CREATE TABLE config_status (
     device_id TEXT PRIMARY KEY,
     desired ${big} NOT NULL,
     applied ${big} NOT NULL,
     state TEXT NOT NULL,
     reason TEXT,
     problems TEXT NOT NULL,
     self_test TEXT,
     rollout TEXT,
     at_ms ${big} NOT NULL
   );
   CREATE TABLE config_drafts (
     id TEXT PRIMARY KEY,
     created_by TEXT NOT NULL,
     created_at_ms ${big} NOT NULL,
     changes TEXT NOT NULL
   );
   CREATE TABLE config_rollouts (
     id TEXT PRIMARY KEY,
     group_id TEXT NOT NULL,
     state TEXT NOT NULL,
     rollout TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at_ms ${big} NOT NULL,
     updated_at_ms ${big} NOT NULL
   );
   CREATE INDEX config_rollouts_state ON config_rollouts (state, created_at_ms);`;
}

/** How the backend runs one statement (`?` placeholders). */
export interface SqlExecutor {
  one(sql: string, params: readonly unknown[]): Promise<Row | null>;
  all(sql: string, params: readonly unknown[]): Promise<Row[]>;
  /** Rows changed. */
  run(sql: string, params: readonly unknown[]): Promise<number>;
  isUniqueViolation(err: unknown): boolean;
}

const parse = <T>(v: unknown): T => JSON.parse(String(v)) as T;

const layerOf = (r: Row): ConfigLayerRecord => ({
  scope: r.scope as LayerScope, id: String(r.id), sections: parse(r.sections), variables: parse(r.variables),
  driftPolicy: (r.drift_policy as ConfigLayerRecord['driftPolicy']) ?? null, updatedAtMs: num(r.updated_at_ms), updatedBy: String(r.updated_by),
});

const versionOf = (r: Row): ConfigVersionRecord => ({
  deviceId: String(r.device_id), version: num(r.version), hash: String(r.hash), sections: parse(r.sections),
  source: r.source as ConfigVersionRecord['source'], createdBy: String(r.created_by), createdAtMs: num(r.created_at_ms),
});

const statusOf = (r: Row): ConfigStatusRecord => ({
  deviceId: String(r.device_id), desired: num(r.desired), applied: num(r.applied), state: r.state as ConfigStatusRecord['state'],
  reason: (r.reason as string | null) ?? null, problems: parse(r.problems), selfTest: r.self_test === null ? null : parse(r.self_test),
  rollout: (r.rollout as string | null) ?? null, atMs: num(r.at_ms),
});

const draftOf = (r: Row): ConfigDraft => ({ id: String(r.id), createdBy: String(r.created_by), createdAtMs: num(r.created_at_ms), changes: parse(r.changes) });

const rolloutOf = (r: Row): RolloutRecord => ({
  id: String(r.id), group: String(r.group_id), state: r.state as RolloutState, rollout: parse(r.rollout),
  createdBy: String(r.created_by), createdAtMs: num(r.created_at_ms), updatedAtMs: num(r.updated_at_ms),
});

export class SqlConfigStore implements FleetConfigStore {
  constructor(private readonly db: SqlExecutor) {}

  private async unique(what: string, sql: string, params: readonly unknown[]): Promise<void> {
    try {
      await this.db.run(sql, params);
    } catch (err) {
      if (this.db.isUniqueViolation(err)) throw storeError('E_CONFLICT', what);
      throw err;
    }
  }

  async getLayer(scope: LayerScope, id: string): Promise<ConfigLayerRecord | null> {
    const r = await this.db.one('SELECT * FROM config_layers WHERE scope = ? AND id = ?', [scope, id]);
    return r ? layerOf(r) : null;
  }

  async putLayer(l: ConfigLayerRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO config_layers (scope, id, sections, variables, drift_policy, updated_at_ms, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, id) DO UPDATE SET sections = excluded.sections, variables = excluded.variables, drift_policy = excluded.drift_policy,
         updated_at_ms = excluded.updated_at_ms, updated_by = excluded.updated_by`,
      [l.scope, l.id, JSON.stringify(l.sections), JSON.stringify(l.variables), l.driftPolicy, l.updatedAtMs, l.updatedBy],
    );
  }

  async addVersion(v: ConfigVersionRecord): Promise<void> {
    await this.unique(`device ${v.deviceId} already has version ${v.version}`,
      'INSERT INTO config_versions (device_id, version, hash, sections, source, created_by, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [v.deviceId, v.version, v.hash, JSON.stringify(v.sections), v.source, v.createdBy, v.createdAtMs]);
  }

  async getVersion(deviceId: string, version: number): Promise<ConfigVersionRecord | null> {
    const r = await this.db.one('SELECT * FROM config_versions WHERE device_id = ? AND version = ?', [deviceId, version]);
    return r ? versionOf(r) : null;
  }

  async latestVersion(deviceId: string): Promise<ConfigVersionRecord | null> {
    const r = await this.db.one('SELECT * FROM config_versions WHERE device_id = ? ORDER BY version DESC LIMIT 1', [deviceId]);
    return r ? versionOf(r) : null;
  }

  async listVersions(deviceId: string, limit: number): Promise<ConfigVersionRecord[]> {
    return (await this.db.all('SELECT * FROM config_versions WHERE device_id = ? ORDER BY version DESC LIMIT ?', [deviceId, limit])).map(versionOf);
  }

  async getStatus(deviceId: string): Promise<ConfigStatusRecord | null> {
    const r = await this.db.one('SELECT * FROM config_status WHERE device_id = ?', [deviceId]);
    return r ? statusOf(r) : null;
  }

  async putStatus(s: ConfigStatusRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO config_status (device_id, desired, applied, state, reason, problems, self_test, rollout, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET desired = excluded.desired, applied = excluded.applied, state = excluded.state, reason = excluded.reason,
         problems = excluded.problems, self_test = excluded.self_test, rollout = excluded.rollout, at_ms = excluded.at_ms`,
      [s.deviceId, s.desired, s.applied, s.state, s.reason, JSON.stringify(s.problems), s.selfTest === null ? null : JSON.stringify(s.selfTest), s.rollout, s.atMs],
    );
  }

  async createDraft(d: ConfigDraft): Promise<void> {
    await this.unique(`draft ${d.id} exists`, 'INSERT INTO config_drafts (id, created_by, created_at_ms, changes) VALUES (?, ?, ?, ?)',
      [d.id, d.createdBy, d.createdAtMs, JSON.stringify(d.changes)]);
  }

  async getDraft(id: string): Promise<ConfigDraft | null> {
    const r = await this.db.one('SELECT * FROM config_drafts WHERE id = ?', [id]);
    return r ? draftOf(r) : null;
  }

  async deleteDraft(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM config_drafts WHERE id = ?', [id])) > 0;
  }

  async putRollout(r: RolloutRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO config_rollouts (id, group_id, state, rollout, created_by, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, rollout = excluded.rollout, updated_at_ms = excluded.updated_at_ms`,
      [r.id, r.group, r.state, JSON.stringify(r.rollout), r.createdBy, r.createdAtMs, r.updatedAtMs],
    );
  }

  async getRollout(id: string): Promise<RolloutRecord | null> {
    const r = await this.db.one('SELECT * FROM config_rollouts WHERE id = ?', [id]);
    return r ? rolloutOf(r) : null;
  }

  async listRollouts(state: RolloutState): Promise<RolloutRecord[]> {
    return (await this.db.all('SELECT * FROM config_rollouts WHERE state = ? ORDER BY created_at_ms, id', [state])).map(rolloutOf);
  }
}

/** `?` to `$1`, `$2`, … (the statements above hold no `?` inside a string literal). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${(n += 1)}`);
}
