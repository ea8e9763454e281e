/**
 * The fleet store on PostgreSQL, on the pool of the server's PostgresStore (the same database, so
 * the inventory joins its `devices` table). Several server instances share it: each change is one
 * statement (a state change is a conditional UPDATE: compare-and-set), uniqueness is the
 * database's (a UNIQUE violation becomes E_CONFLICT), and migrations take an advisory lock.
 * Statements take parameters only: nothing from a request is ever part of SQL text.
 */
import type pg from 'pg';
import { num, storeError } from '../../store/rows.ts';
import { countByStateStatements, escapeLike, inventoryRows, inventoryRowStatements, inventoryStatements, pageIds } from './inventory.ts';
import type { InventoryDialect } from './inventory.ts';
import { configMigration, numberPlaceholders, SqlConfigStore } from './config-sql.ts';
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
     created_at_ms BIGINT NOT NULL
   );
   CREATE INDEX device_groups_domain ON device_groups (domain);
   CREATE TABLE enrolment_keys (
     id TEXT PRIMARY KEY,
     group_id TEXT NOT NULL,
     label TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     created_at_ms BIGINT NOT NULL,
     created_by TEXT NOT NULL,
     expires_at_ms BIGINT,
     revoked_at_ms BIGINT,
     uses INTEGER NOT NULL DEFAULT 0,
     last_used_at_ms BIGINT
   );
   CREATE INDEX enrolment_keys_group ON enrolment_keys (group_id);
   -- Ids compare byte-wise (COLLATE "C"), as the inventory orders them and SQLite compares: its
   -- indexes then give that order.
   CREATE TABLE fleet_devices (
     device_id TEXT COLLATE "C" PRIMARY KEY,
     hardware_id TEXT NOT NULL UNIQUE,
     group_id TEXT COLLATE "C" NOT NULL,
     name TEXT NOT NULL,
     tags JSONB NOT NULL,
     site TEXT,
     state TEXT NOT NULL,
     state_reason TEXT,
     key_id TEXT NOT NULL,
     hostname TEXT,
     hardware JSONB NOT NULL,
     versions JSONB NOT NULL,
     agent_version TEXT NOT NULL,
     features JSONB NOT NULL,
     source_address TEXT,
     requested_at_ms BIGINT NOT NULL,
     enrolled_at_ms BIGINT,
     updated_at_ms BIGINT NOT NULL,
     enrolments INTEGER NOT NULL
   );
   CREATE INDEX fleet_devices_group ON fleet_devices (group_id, device_id);
   CREATE INDEX fleet_devices_state ON fleet_devices (state, device_id);
   -- The inventory sorts names without regard to case, ids byte-wise.
   CREATE INDEX fleet_devices_name ON fleet_devices (lower(name) COLLATE "C", device_id);
   CREATE INDEX fleet_devices_version ON fleet_devices (agent_version);
   CREATE INDEX fleet_devices_tags ON fleet_devices USING gin (tags jsonb_path_ops);
   -- The search is a case-insensitive prefix: lower(column) LIKE 'prefix%' uses these whatever the collation.
   CREATE INDEX fleet_devices_search_id ON fleet_devices (lower(device_id) text_pattern_ops);
   CREATE INDEX fleet_devices_search_name ON fleet_devices (lower(name) text_pattern_ops);
   CREATE INDEX fleet_devices_search_hardware ON fleet_devices (lower(hardware_id) text_pattern_ops);
   CREATE TABLE operators (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     domain TEXT,
     created_at_ms BIGINT NOT NULL,
     disabled_at_ms BIGINT
   );
   CREATE TABLE web_sessions (
     token_hash TEXT PRIMARY KEY,
     operator_id TEXT NOT NULL,
     csrf_token TEXT NOT NULL,
     created_at_ms BIGINT NOT NULL,
     expires_at_ms BIGINT NOT NULL
   );
   CREATE INDEX web_sessions_operator ON web_sessions (operator_id);
   CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_ms);
   CREATE TABLE audit_log (
     seq BIGSERIAL PRIMARY KEY,
     at_ms BIGINT NOT NULL,
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
  // migrates after the server). Ids and
  // statuses compare byte-wise (COLLATE "C"), as the inventory orders them.
  `CREATE INDEX fleet_inventory_devices_last_seen ON devices (last_seen_ms, id COLLATE "C");
   CREATE INDEX fleet_inventory_devices_status ON devices (status COLLATE "C", id COLLATE "C");
   CREATE INDEX fleet_inventory_devices_search ON devices (lower(id) text_pattern_ops);
   CREATE INDEX fleet_inventory_devices_id ON devices (id COLLATE "C");`,
  // Configuration: layers, versions, status, drafts, rollouts (config-sql.ts).
  configMigration('BIGINT'),
  // Remote commands to routers (commands-sql.ts).
  commandsMigration('BIGINT'),
];

/** Advisory lock key of the fleet's migrations (differs from the server store's keys). */
const FLEET_MIGRATION_LOCK = 0x6371666d; // "cqfm"

const PG_INVENTORY: InventoryDialect = {
  prefix: (column) => `lower(${column}) LIKE ? ESCAPE '\\'`,
  prefixPattern: (search) => `${escapeLike(search.toLowerCase())}%`,
  tagContains: 'f.tags @> ?::jsonb',
  tagParam: (tag) => JSON.stringify([tag]),
  featureTrue: 'f.features @> ?::jsonb',
  featureParam: (feature) => JSON.stringify({ [feature]: true }),
  // Byte order, as SQLite compares: the same page on both backends whatever the database's collation.
  textOrder: (expr) => `${expr} COLLATE "C"`,
};

/** `?` placeholders (the shared inventory statements) numbered as PostgreSQL wants them. */
const numbered = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${(n += 1)}`);
};

const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown }).code === '23505';
const marks = (n: number, from = 1): string => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

export class PostgresFleetStore implements FleetStore {
  readonly backend = 'postgres' as const;

  /** `pool`: the server store's pool (PostgresStore.sharedConnection()); that store closes it. */
  constructor(private readonly pool: pg.Pool) {
    const executor = {
      one: (sql: string, params: readonly unknown[]) => this.one(numberPlaceholders(sql), [...params]),
      all: (sql: string, params: readonly unknown[]) => this.all(numberPlaceholders(sql), [...params]),
      run: async (sql: string, params: readonly unknown[]) => (await this.pool.query(numberPlaceholders(sql), [...params])).rowCount ?? 0,
      isUniqueViolation,
    };
    this.config = new SqlConfigStore(executor);
    this.commands = new SqlCommandStore(executor);
  }

  readonly config: FleetConfigStore;
  readonly commands: FleetCommandStore;

  private async one(sql: string, params: unknown[]): Promise<Row | null> {
    return ((await this.pool.query(sql, params)).rows[0] as Row | undefined) ?? null;
  }

  private async all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  private async unique<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw storeError('E_CONFLICT', `${what}: ${(err as Error).message}`);
      throw err;
    }
  }

  /** BEGIN … COMMIT on one client, ROLLBACK when `fn` throws. */
  private async transaction<T>(begin: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(begin);
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Run after the server store's migrate(): the inventory reads its `devices` table. */
  async migrate(): Promise<void> {
    await this.transaction('BEGIN', async (db) => {
      // Several instances may start at once: one migrates, the others wait and then find it done.
      await db.query('SELECT pg_advisory_xact_lock($1)', [FLEET_MIGRATION_LOCK]);
      await db.query('CREATE TABLE IF NOT EXISTS fleet_migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)');
      const done = new Set((await db.query('SELECT version FROM fleet_migrations')).rows.map((r: Row) => num(r.version)));
      for (const [i, sql] of MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await db.query(sql);
        await db.query('INSERT INTO fleet_migrations VALUES ($1, $2)', [i + 1, Date.now()]);
      }
    });
  }

  // ---- groups and keys ----------------------------------------------------------------------

  async putGroup(g: DeviceGroup): Promise<void> {
    await this.pool.query(
      `INSERT INTO device_groups VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, domain = EXCLUDED.domain, enrol_policy = EXCLUDED.enrol_policy, reenrol_policy = EXCLUDED.reenrol_policy`,
      [g.id, g.name, g.domain, g.enrolPolicy, g.reenrolPolicy, g.createdAtMs],
    );
  }

  async getGroup(id: string): Promise<DeviceGroup | null> {
    const r = await this.one('SELECT * FROM device_groups WHERE id = $1', [id]);
    return r ? groupOf(r) : null;
  }

  async listGroups(): Promise<DeviceGroup[]> {
    return (await this.all('SELECT * FROM device_groups ORDER BY id COLLATE "C"')).map(groupOf);
  }

  async createKey(k: EnrolmentKey): Promise<void> {
    await this.unique(`enrolment key ${k.id} exists`, () =>
      this.pool.query('INSERT INTO enrolment_keys VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
        k.id, k.group, k.label, k.secretHash, k.createdAtMs, k.createdBy, k.expiresAtMs, k.revokedAtMs, k.uses, k.lastUsedAtMs,
      ]),
    );
  }

  async getKey(id: string): Promise<EnrolmentKey | null> {
    const r = await this.one('SELECT * FROM enrolment_keys WHERE id = $1', [id]);
    return r ? keyOf(r) : null;
  }

  async listKeys(group?: string): Promise<EnrolmentKey[]> {
    const rows = group === undefined
      ? await this.all('SELECT * FROM enrolment_keys ORDER BY created_at_ms, id COLLATE "C"')
      : await this.all('SELECT * FROM enrolment_keys WHERE group_id = $1 ORDER BY created_at_ms, id COLLATE "C"', [group]);
    return rows.map(keyOf);
  }

  async revokeKey(id: string, atMs: number): Promise<boolean> {
    return ((await this.pool.query('UPDATE enrolment_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL', [id, atMs])).rowCount ?? 0) > 0;
  }

  async noteKeyUse(id: string, atMs: number): Promise<void> {
    await this.pool.query('UPDATE enrolment_keys SET uses = uses + 1, last_used_at_ms = GREATEST(last_used_at_ms, $2) WHERE id = $1', [id, atMs]);
  }

  // ---- devices ------------------------------------------------------------------------------

  async getFleetDevice(deviceId: string): Promise<FleetDevice | null> {
    const r = await this.one('SELECT * FROM fleet_devices WHERE device_id = $1', [deviceId]);
    return r ? fleetDeviceOf(r) : null;
  }

  async getByHardwareId(hardwareId: string): Promise<FleetDevice | null> {
    const r = await this.one('SELECT * FROM fleet_devices WHERE hardware_id = $1', [hardwareId]);
    return r ? fleetDeviceOf(r) : null;
  }

  async putFleetDevice(d: FleetDevice): Promise<void> {
    const update = FLEET_DEVICE_COLUMNS.filter((c) => c !== 'device_id').map((c) => `${c} = EXCLUDED.${c}`).join(', ');
    await this.unique(`hardware id ${d.hardwareId} belongs to another device`, () =>
      this.pool.query(
        `INSERT INTO fleet_devices (${FLEET_DEVICE_COLUMNS.join(', ')}) VALUES (${marks(FLEET_DEVICE_COLUMNS.length)}) ON CONFLICT (device_id) DO UPDATE SET ${update}`,
        fleetDeviceValues(d),
      ),
    );
  }

  async setFleetState(deviceId: string, change: FleetStateChange): Promise<FleetDevice | null> {
    if (change.ifStateIn?.length === 0) return null;
    const states = change.ifStateIn ? ' AND state = ANY($5)' : '';
    const params: unknown[] = [deviceId, change.state, change.reason, change.atMs];
    if (change.ifStateIn) params.push([...change.ifStateIn]);
    const r = await this.one(`UPDATE fleet_devices SET state = $2, state_reason = $3, updated_at_ms = $4 WHERE device_id = $1${states} RETURNING *`, params);
    return r ? fleetDeviceOf(r) : null;
  }

  async patchFleetDevice(deviceId: string, patch: FleetDevicePatch): Promise<FleetDevice | null> {
    const sets = devicePatchSets(patch);
    const r = await this.one(
      `UPDATE fleet_devices SET ${sets.map(([c], i) => `${c} = $${i + 2}`).join(', ')} WHERE device_id = $1 RETURNING *`,
      [deviceId, ...sets.map(([, v]) => v)],
    );
    return r ? fleetDeviceOf(r) : null;
  }

  async countByState(domains?: readonly string[]): Promise<Record<FleetState | 'unenrolled', number>> {
    const s = countByStateStatements(domains);
    const counts = Object.fromEntries([...FLEET_STATES, 'unenrolled'].map((k) => [k, 0])) as Record<FleetState | 'unenrolled', number>;
    for (const r of await this.all(numbered(s.states.sql), s.states.params)) counts[r.state as FleetState] = num(r.n);
    if (s.unenrolled) counts.unenrolled = num((await this.one(s.unenrolled.sql, []))!.n);
    return counts;
  }

  async queryInventory(query: InventoryQuery): Promise<InventoryPage> {
    const s = inventoryStatements(query, PG_INVENTORY);
    // One snapshot for the count and the page, so that they agree.
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (db) => {
      const total = num(((await db.query(numbered(s.count.sql), s.count.params)).rows[0] as Row).total);
      const order = (await db.query(numbered(s.page.sql), s.page.params)).rows as Row[];
      const ids = pageIds(order);
      const reads = inventoryRowStatements(ids.enrolled, ids.handmade);
      const rows: Row[] = [];
      for (const st of [reads.enrolled, reads.handmade]) if (st) rows.push(...((await db.query(numbered(st.sql), st.params)).rows as Row[]));
      return { total, rows: inventoryRows(order, rows) };
    });
  }

  // ---- operators and sessions ---------------------------------------------------------------

  async createOperator(o: Operator): Promise<void> {
    await this.unique(`operator ${o.id} or username ${o.username} exists`, () =>
      this.pool.query('INSERT INTO operators VALUES ($1, $2, $3, $4, $5, $6, $7)', [o.id, o.username, o.passwordHash, o.role, o.domain, o.createdAtMs, o.disabledAtMs]),
    );
  }

  async getOperator(id: string): Promise<Operator | null> {
    const r = await this.one('SELECT * FROM operators WHERE id = $1', [id]);
    return r ? operatorOf(r) : null;
  }

  async getOperatorByUsername(username: string): Promise<Operator | null> {
    const r = await this.one('SELECT * FROM operators WHERE username = $1', [username]);
    return r ? operatorOf(r) : null;
  }

  async listOperators(): Promise<Operator[]> {
    return (await this.all('SELECT * FROM operators ORDER BY username COLLATE "C"')).map(operatorOf);
  }

  async updateOperator(id: string, patch: OperatorPatch): Promise<Operator | null> {
    const sets = operatorPatchSets(patch);
    if (sets.length === 0) return this.getOperator(id);
    const r = await this.one(`UPDATE operators SET ${sets.map(([c], i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [id, ...sets.map(([, v]) => v)]);
    return r ? operatorOf(r) : null;
  }

  async countOperators(): Promise<number> {
    return num((await this.one('SELECT COUNT(*) AS n FROM operators', []))!.n);
  }

  async createWebSession(s: WebSession): Promise<void> {
    await this.unique('web session exists', () =>
      this.pool.query('INSERT INTO web_sessions VALUES ($1, $2, $3, $4, $5)', [s.tokenHash, s.operatorId, s.csrfToken, s.createdAtMs, s.expiresAtMs]),
    );
  }

  async getWebSession(tokenHash: string, nowMs: number): Promise<WebSession | null> {
    const r = await this.one('SELECT * FROM web_sessions WHERE token_hash = $1 AND expires_at_ms > $2', [tokenHash, nowMs]);
    return r ? webSessionOf(r) : null;
  }

  async deleteWebSession(tokenHash: string): Promise<void> {
    await this.pool.query('DELETE FROM web_sessions WHERE token_hash = $1', [tokenHash]);
  }

  async deleteOperatorSessions(operatorId: string): Promise<void> {
    await this.pool.query('DELETE FROM web_sessions WHERE operator_id = $1', [operatorId]);
  }

  async deleteExpiredSessions(nowMs: number): Promise<number> {
    return (await this.pool.query('DELETE FROM web_sessions WHERE expires_at_ms <= $1', [nowMs])).rowCount ?? 0;
  }

  // ---- audit --------------------------------------------------------------------------------

  async appendAudit(e: NewAuditEntry): Promise<AuditEntry> {
    const r = await this.one('INSERT INTO audit_log (at_ms, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *', [
      e.atMs, e.actor, e.action, e.target, encodeJsonValue(e.before), encodeJsonValue(e.after),
    ]);
    return auditOf(r!);
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.actor !== undefined) (args.push(query.actor), where.push(`actor = $${args.length}`));
    if (query.target !== undefined) (args.push(query.target), where.push(`target = $${args.length}`));
    if (query.beforeSeq !== undefined) (args.push(query.beforeSeq), where.push(`seq < $${args.length}`));
    args.push(query.limit);
    const sql = `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${args.length}`;
    return (await this.all(sql, args)).map(auditOf);
  }
}
