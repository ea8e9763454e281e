/**
 * The fleet store on SQLite, on the very connection of the server's SqliteStore (one file, or one
 * `:memory:` database, shared with its `devices` table). better-sqlite3 is synchronous, so each
 * method runs to its end before anything else on the connection; like the server store's own
 * methods, it refuses to run while that store has a transaction open (its statements would join
 * that transaction and be rolled back with it).
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { num, storeError } from '../../store/rows.ts';
import { countByStateStatements, escapeLike, inventoryRows, inventoryRowStatements, inventoryStatements, pageIds } from './inventory.ts';
import type { InventoryDialect } from './inventory.ts';
import { configMigration, SqlConfigStore } from './config-sql.ts';
import type { FleetConfigStore } from './config-types.ts';
import { commandsMigration, SqlCommandStore, type FleetCommandStore } from './commands-sql.ts';
import {
  auditOf, devicePatchSets, encodeJsonValue, FLEET_DEVICE_COLUMNS, fleetDeviceOf, fleetDeviceValues, groupOf, keyOf, operatorOf, operatorPatchSets,
  webSessionOf,
} from './rows.ts';
import type { Row } from './rows.ts';
import type {
  AuditEntry, AuditQuery, DeviceGroup, EnrolmentKey, FleetDevice, FleetDevicePatch, FleetState, FleetStateChange, FleetStore, InventoryPage, InventoryQuery,
  NewAuditEntry, Operator, OperatorPatch, WebSession,
} from './types.ts';
import { FLEET_STATES } from './types.ts';

/** Versioned in `fleet_migrations`, apart from the server's `migrations`: the two schemas evolve independently. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE device_groups (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     domain TEXT,
     enrol_policy TEXT NOT NULL,
     reenrol_policy TEXT NOT NULL,
     created_at_ms INTEGER NOT NULL
   );
   CREATE INDEX device_groups_domain ON device_groups (domain);
   CREATE TABLE enrolment_keys (
     id TEXT PRIMARY KEY,
     group_id TEXT NOT NULL,
     label TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     created_at_ms INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     expires_at_ms INTEGER,
     revoked_at_ms INTEGER,
     uses INTEGER NOT NULL DEFAULT 0,
     last_used_at_ms INTEGER
   );
   CREATE INDEX enrolment_keys_group ON enrolment_keys (group_id);
   CREATE TABLE fleet_devices (
     device_id TEXT PRIMARY KEY,
     hardware_id TEXT NOT NULL UNIQUE,
     group_id TEXT NOT NULL,
     name TEXT NOT NULL,
     tags TEXT NOT NULL,
     site TEXT,
     state TEXT NOT NULL,
     state_reason TEXT,
     key_id TEXT NOT NULL,
     hostname TEXT,
     hardware TEXT NOT NULL,
     versions TEXT NOT NULL,
     agent_version TEXT NOT NULL,
     features TEXT NOT NULL,
     source_address TEXT,
     requested_at_ms INTEGER NOT NULL,
     enrolled_at_ms INTEGER,
     updated_at_ms INTEGER NOT NULL,
     enrolments INTEGER NOT NULL
   );
   CREATE INDEX fleet_devices_group ON fleet_devices (group_id, device_id);
   CREATE INDEX fleet_devices_state ON fleet_devices (state, device_id);
   -- The inventory sorts names without regard to case.
   CREATE INDEX fleet_devices_name ON fleet_devices (lower(name), device_id);
   CREATE INDEX fleet_devices_version ON fleet_devices (agent_version);
   -- The search is a case-insensitive prefix (LIKE): SQLite serves it from NOCASE indexes.
   CREATE INDEX fleet_devices_search_id ON fleet_devices (device_id COLLATE NOCASE);
   CREATE INDEX fleet_devices_search_name ON fleet_devices (name COLLATE NOCASE);
   CREATE INDEX fleet_devices_search_hardware ON fleet_devices (hardware_id COLLATE NOCASE);
   CREATE TABLE operators (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     domain TEXT,
     created_at_ms INTEGER NOT NULL,
     disabled_at_ms INTEGER
   );
   CREATE TABLE web_sessions (
     token_hash TEXT PRIMARY KEY,
     operator_id TEXT NOT NULL,
     csrf_token TEXT NOT NULL,
     created_at_ms INTEGER NOT NULL,
     expires_at_ms INTEGER NOT NULL
   );
   CREATE INDEX web_sessions_operator ON web_sessions (operator_id);
   CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_ms);
   CREATE TABLE audit_log (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at_ms INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     before TEXT,
     after TEXT
   );
   CREATE INDEX audit_log_actor ON audit_log (actor, seq);
   CREATE INDEX audit_log_target ON audit_log (target, seq);`,
  // The inventory sorts by presence and last-seen, and searches ids, over the server's devices: these
  // give each arm its order or its matches without reading every router (the reason the fleet
  // migrates after the server).
  `CREATE INDEX fleet_inventory_devices_last_seen ON devices (last_seen_ms, id);
   CREATE INDEX fleet_inventory_devices_status ON devices (status, id);
   CREATE INDEX fleet_inventory_devices_search ON devices (id COLLATE NOCASE);`,
  // Configuration: layers, versions, status, drafts, rollouts (config-sql.ts).
  configMigration('INTEGER'),
  // Remote commands to routers (commands-sql.ts).
  commandsMigration('INTEGER'),
];

const SQLITE_INVENTORY: InventoryDialect = {
  // LIKE is case-insensitive (ASCII) in SQLite, and uses the NOCASE indexes for a prefix.
  prefix: (column) => `${column} LIKE ? ESCAPE '\\'`,
  prefixPattern: (search) => `${escapeLike(search)}%`,
  tagContains: 'EXISTS (SELECT 1 FROM json_each(f.tags) t WHERE t.value = ?)',
  tagParam: (tag) => tag,
  // json_extract gives 1 for a JSON true.
  featureTrue: 'json_extract(f.features, ?) = 1',
  featureParam: (feature) => `$.${feature}`,
  textOrder: (expr) => expr,
};

/** SQLite's extended result codes for a broken UNIQUE or PRIMARY KEY constraint. */
const isUniqueViolation = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
};

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export class SqliteFleetStore implements FleetStore {
  readonly backend = 'sqlite' as const;
  private readonly cache = new Map<string, Statement>();

  /** `db`: the server store's connection (SqliteStore.sharedConnection()). */
  constructor(private readonly db: Db) {
    const executor = {
      one: async (sql: string, params: readonly unknown[]) => (this.q(sql).get(...params) as Row | undefined) ?? null,
      all: async (sql: string, params: readonly unknown[]) => this.q(sql).all(...params) as Row[],
      run: async (sql: string, params: readonly unknown[]) => this.q(sql).run(...params).changes,
      isUniqueViolation,
    };
    this.config = new SqlConfigStore(executor);
    this.commands = new SqlCommandStore(executor);
  }

  readonly config: FleetConfigStore;
  readonly commands: FleetCommandStore;

  /** A cached prepared statement; refused inside the server store's open transaction. */
  private q(sql: string): Statement {
    if (this.db.inTransaction) throw storeError('E_STORE', 'the fleet store was used while the server store has a transaction open');
    let s = this.cache.get(sql);
    if (!s) this.cache.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /** Runs `fn` and turns a UNIQUE violation into E_CONFLICT. */
  private unique<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw storeError('E_CONFLICT', `${what}: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Run after the server store's migrate(): the inventory reads its `devices` table. */
  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS fleet_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)');
    const apply = this.db.transaction(() => {
      const done = new Set((this.db.prepare('SELECT version FROM fleet_migrations').all() as Row[]).map((r) => num(r.version)));
      MIGRATIONS.forEach((sql, i) => {
        if (done.has(i + 1)) return;
        this.db.exec(sql);
        this.db.prepare('INSERT INTO fleet_migrations VALUES (?, ?)').run(i + 1, Date.now());
      });
    });
    // IMMEDIATE: a second process migrating the same file waits for the write lock, then finds the work done.
    apply.immediate();
  }

  // ---- groups and keys ----------------------------------------------------------------------

  async putGroup(g: DeviceGroup): Promise<void> {
    this.q(
      `INSERT INTO device_groups VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, domain = excluded.domain, enrol_policy = excluded.enrol_policy, reenrol_policy = excluded.reenrol_policy`,
    ).run(g.id, g.name, g.domain, g.enrolPolicy, g.reenrolPolicy, g.createdAtMs);
  }

  async getGroup(id: string): Promise<DeviceGroup | null> {
    const r = this.q('SELECT * FROM device_groups WHERE id = ?').get(id) as Row | undefined;
    return r ? groupOf(r) : null;
  }

  async listGroups(): Promise<DeviceGroup[]> {
    return (this.q('SELECT * FROM device_groups ORDER BY id').all() as Row[]).map(groupOf);
  }

  async createKey(k: EnrolmentKey): Promise<void> {
    this.unique(`enrolment key ${k.id} exists`, () =>
      this.q('INSERT INTO enrolment_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        k.id, k.group, k.label, k.secretHash, k.createdAtMs, k.createdBy, k.expiresAtMs, k.revokedAtMs, k.uses, k.lastUsedAtMs,
      ),
    );
  }

  async getKey(id: string): Promise<EnrolmentKey | null> {
    const r = this.q('SELECT * FROM enrolment_keys WHERE id = ?').get(id) as Row | undefined;
    return r ? keyOf(r) : null;
  }

  async listKeys(group?: string): Promise<EnrolmentKey[]> {
    const rows = group === undefined
      ? this.q('SELECT * FROM enrolment_keys ORDER BY created_at_ms, id').all()
      : this.q('SELECT * FROM enrolment_keys WHERE group_id = ? ORDER BY created_at_ms, id').all(group);
    return (rows as Row[]).map(keyOf);
  }

  async revokeKey(id: string, atMs: number): Promise<boolean> {
    return this.q('UPDATE enrolment_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL').run(atMs, id).changes > 0;
  }

  async noteKeyUse(id: string, atMs: number): Promise<void> {
    this.q('UPDATE enrolment_keys SET uses = uses + 1, last_used_at_ms = MAX(COALESCE(last_used_at_ms, ?), ?) WHERE id = ?').run(atMs, atMs, id);
  }

  // ---- devices ------------------------------------------------------------------------------

  async getFleetDevice(deviceId: string): Promise<FleetDevice | null> {
    const r = this.q('SELECT * FROM fleet_devices WHERE device_id = ?').get(deviceId) as Row | undefined;
    return r ? fleetDeviceOf(r) : null;
  }

  async getByHardwareId(hardwareId: string): Promise<FleetDevice | null> {
    const r = this.q('SELECT * FROM fleet_devices WHERE hardware_id = ?').get(hardwareId) as Row | undefined;
    return r ? fleetDeviceOf(r) : null;
  }

  async putFleetDevice(d: FleetDevice): Promise<void> {
    const update = FLEET_DEVICE_COLUMNS.filter((c) => c !== 'device_id').map((c) => `${c} = excluded.${c}`).join(', ');
    this.unique(`hardware id ${d.hardwareId} belongs to another device`, () =>
      this.q(`INSERT INTO fleet_devices (${FLEET_DEVICE_COLUMNS.join(', ')}) VALUES (${marks(FLEET_DEVICE_COLUMNS.length)}) ON CONFLICT (device_id) DO UPDATE SET ${update}`).run(
        ...fleetDeviceValues(d),
      ),
    );
  }

  async setFleetState(deviceId: string, change: FleetStateChange): Promise<FleetDevice | null> {
    if (change.ifStateIn?.length === 0) return null;
    const states = change.ifStateIn ? ` AND state IN (${marks(change.ifStateIn.length)})` : '';
    const r = this.q(`UPDATE fleet_devices SET state = ?, state_reason = ?, updated_at_ms = ? WHERE device_id = ?${states} RETURNING *`).get(
      change.state, change.reason, change.atMs, deviceId, ...(change.ifStateIn ?? []),
    ) as Row | undefined;
    return r ? fleetDeviceOf(r) : null;
  }

  async patchFleetDevice(deviceId: string, patch: FleetDevicePatch): Promise<FleetDevice | null> {
    const sets = devicePatchSets(patch);
    const r = this.q(`UPDATE fleet_devices SET ${sets.map(([c]) => `${c} = ?`).join(', ')} WHERE device_id = ? RETURNING *`).get(...sets.map(([, v]) => v), deviceId) as
      | Row
      | undefined;
    return r ? fleetDeviceOf(r) : null;
  }

  async countByState(domains?: readonly string[]): Promise<Record<FleetState | 'unenrolled', number>> {
    const s = countByStateStatements(domains);
    const counts = Object.fromEntries([...FLEET_STATES, 'unenrolled'].map((k) => [k, 0])) as Record<FleetState | 'unenrolled', number>;
    for (const r of this.q(s.states.sql).all(...s.states.params) as Row[]) counts[r.state as FleetState] = num(r.n);
    if (s.unenrolled) counts.unenrolled = num((this.q(s.unenrolled.sql).get() as Row).n);
    return counts;
  }

  async queryInventory(query: InventoryQuery): Promise<InventoryPage> {
    const s = inventoryStatements(query, SQLITE_INVENTORY);
    // Synchronous, on one connection: the count and the page see the same data.
    const total = num((this.q(s.count.sql).get(...s.count.params) as Row).total);
    const order = this.q(s.page.sql).all(...s.page.params) as Row[];
    const ids = pageIds(order);
    const reads = inventoryRowStatements(ids.enrolled, ids.handmade);
    const rows = [reads.enrolled, reads.handmade].flatMap((st) => (st ? (this.q(st.sql).all(...st.params) as Row[]) : []));
    return { total, rows: inventoryRows(order, rows) };
  }

  // ---- operators and sessions ---------------------------------------------------------------

  async createOperator(o: Operator): Promise<void> {
    this.unique(`operator ${o.id} or username ${o.username} exists`, () =>
      this.q('INSERT INTO operators VALUES (?, ?, ?, ?, ?, ?, ?)').run(o.id, o.username, o.passwordHash, o.role, o.domain, o.createdAtMs, o.disabledAtMs),
    );
  }

  async getOperator(id: string): Promise<Operator | null> {
    const r = this.q('SELECT * FROM operators WHERE id = ?').get(id) as Row | undefined;
    return r ? operatorOf(r) : null;
  }

  async getOperatorByUsername(username: string): Promise<Operator | null> {
    const r = this.q('SELECT * FROM operators WHERE username = ?').get(username) as Row | undefined;
    return r ? operatorOf(r) : null;
  }

  async listOperators(): Promise<Operator[]> {
    return (this.q('SELECT * FROM operators ORDER BY username').all() as Row[]).map(operatorOf);
  }

  async updateOperator(id: string, patch: OperatorPatch): Promise<Operator | null> {
    const sets = operatorPatchSets(patch);
    if (sets.length === 0) return this.getOperator(id);
    const r = this.q(`UPDATE operators SET ${sets.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ? RETURNING *`).get(...sets.map(([, v]) => v), id) as Row | undefined;
    return r ? operatorOf(r) : null;
  }

  async countOperators(): Promise<number> {
    return num((this.q('SELECT COUNT(*) AS n FROM operators').get() as Row).n);
  }

  async createWebSession(s: WebSession): Promise<void> {
    this.unique('web session exists', () => this.q('INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)').run(s.tokenHash, s.operatorId, s.csrfToken, s.createdAtMs, s.expiresAtMs));
  }

  async getWebSession(tokenHash: string, nowMs: number): Promise<WebSession | null> {
    const r = this.q('SELECT * FROM web_sessions WHERE token_hash = ? AND expires_at_ms > ?').get(tokenHash, nowMs) as Row | undefined;
    return r ? webSessionOf(r) : null;
  }

  async deleteWebSession(tokenHash: string): Promise<void> {
    this.q('DELETE FROM web_sessions WHERE token_hash = ?').run(tokenHash);
  }

  async deleteOperatorSessions(operatorId: string): Promise<void> {
    this.q('DELETE FROM web_sessions WHERE operator_id = ?').run(operatorId);
  }

  async deleteExpiredSessions(nowMs: number): Promise<number> {
    return this.q('DELETE FROM web_sessions WHERE expires_at_ms <= ?').run(nowMs).changes;
  }

  // ---- audit --------------------------------------------------------------------------------

  async appendAudit(e: NewAuditEntry): Promise<AuditEntry> {
    const r = this.q('INSERT INTO audit_log (at_ms, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?) RETURNING *').get(
      e.atMs, e.actor, e.action, e.target, encodeJsonValue(e.before), encodeJsonValue(e.after),
    ) as Row;
    return auditOf(r);
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.actor !== undefined) (where.push('actor = ?'), args.push(query.actor));
    if (query.target !== undefined) (where.push('target = ?'), args.push(query.target));
    if (query.beforeSeq !== undefined) (where.push('seq < ?'), args.push(query.beforeSeq));
    const sql = `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.q(sql).all(...args, query.limit) as Row[]).map(auditOf);
  }
}
