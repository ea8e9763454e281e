/**
 * The store for several server instances: PostgreSQL through `pg`. Every instance reads and
 * writes the same database, so nothing an instance needs is held only in its memory:
 *
 *   - compare-and-set changes (a session's or gate's state) are one conditional UPDATE each;
 *   - admission locks the routers' rows (SELECT … FOR UPDATE, in id order) for the length of its
 *     transaction, so two instances admitting calls on one router see each other's gates;
 *   - the interface change counter is a sequence, advanced under a transaction-scoped advisory
 *     lock, so that changes commit in counter order and a reader's cursor never skips one;
 *   - a usage report is merged under the usage row's lock, so a retry never counts twice.
 *
 * Statements take parameters only: nothing from a message is ever part of SQL text.
 */
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { authorizationOf, authorizationTables, deviceOf, gateOf, mergeUsage, num, patchColumns, SESSION_COLUMNS, sessionOf, sessionValue, storeError, usageOf } from './rows.ts';
import type { Row } from './rows.ts';
import type {
  AdmittedKbps, CallAuthorization, CallRecords, CallRelease, JsonObject, DesiredHashes, DesiredState, DeviceFilter, DeviceOpen, DeviceRecord, DeviceStatus, Gate, GateFilter, GateRecord, GateStateChange,
  InterfaceChanges, InterfaceEntry, SessionFilter, SessionPatch, SessionRecord, SessionState, Store, StoreOps, StoreTx, UsageFilter,
  UsageOutcome, UsageRecord,
} from './types.ts';
import { DESIRED_GATE_STATES, HELD_GATE_STATES, STORE_OPS, STORE_TX_OPS } from './types.ts';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     status_at_ms BIGINT NOT NULL,
     boot_session BIGINT,
     agent_version TEXT,
     board JSONB,
     capabilities JSONB,
     link JSONB,
     keepalive_s INTEGER,
     last_seen_ms BIGINT NOT NULL,
     desired_version BIGINT NOT NULL DEFAULT 0,
     reported_version BIGINT,
     interfaces_version BIGINT,
     interfaces JSONB NOT NULL DEFAULT '[]',
     interfaces_at_ms BIGINT,
     interfaces_change BIGINT NOT NULL DEFAULT 0
   );
   CREATE INDEX devices_interfaces_change ON devices (interfaces_change);
   CREATE SEQUENCE interfaces_change_seq;
   CREATE TABLE sessions (
     call_id TEXT NOT NULL,
     line INTEGER NOT NULL,
     client TEXT NOT NULL,
     state TEXT NOT NULL,
     spec JSONB NOT NULL,
     reason TEXT,
     gate_ids JSONB NOT NULL,
     created_at_ms BIGINT NOT NULL,
     updated_at_ms BIGINT NOT NULL,
     deadline_ms BIGINT,
     active_at_ms BIGINT,
     ended_at_ms BIGINT,
     PRIMARY KEY (call_id, line)
   );
   CREATE INDEX sessions_state ON sessions (state);
   CREATE TABLE gates (
     id TEXT PRIMARY KEY,
     device TEXT NOT NULL,
     call_id TEXT NOT NULL,
     line INTEGER NOT NULL,
     gate JSONB NOT NULL,
     hash TEXT NOT NULL,
     direction TEXT NOT NULL,
     rate_kbps INTEGER NOT NULL,
     state TEXT NOT NULL,
     updated_at_ms BIGINT NOT NULL,
     error TEXT
   );
   CREATE INDEX gates_device_state ON gates (device, state);
   CREATE INDEX gates_call ON gates (call_id);
   CREATE TABLE usage (
     device TEXT NOT NULL,
     gate_id TEXT NOT NULL,
     call_id TEXT,
     up_packets BIGINT NOT NULL,
     up_bytes BIGINT NOT NULL,
     down_packets BIGINT NOT NULL,
     down_bytes BIGINT NOT NULL,
     first_seen BIGINT,
     last_seen BIGINT,
     ended TEXT,
     received_at_ms BIGINT NOT NULL,
     PRIMARY KEY (device, gate_id)
   );
   CREATE INDEX usage_call ON usage (call_id);`,
  authorizationTables('JSONB', 'BIGINT'),
];

/** Advisory lock keys (any two fixed numbers; they only have to differ from each other). */
const MIGRATION_LOCK = 0x63716f73; // "cqos"
const INTERFACES_LOCK = 0x63716f74;

/** Where statements run: the pool (each statement on its own) or one transaction's client. */
interface Runner {
  query<R extends QueryResultRow = Row>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Statement names by SQL text, shared by every connection of the process. */
const statementNames = new Map<string, string>();

/**
 * Runs each statement as a named prepared statement: PostgreSQL parses and plans a statement
 * once per connection instead of at every call, which is most of its work for these short
 * statements. The statements are a fixed set (filters only choose among a few shapes).
 */
function prepared(runner: Runner): Runner {
  return {
    query<R extends QueryResultRow = Row>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
      let name = statementNames.get(sql);
      if (name === undefined) statementNames.set(sql, (name = `callqos_${statementNames.size + 1}`));
      return (runner as unknown as pg.ClientBase).query<R>({ name, text: sql, values: params ?? [] });
    },
  };
}

/** A WHERE clause from optional equality filters, with numbered parameters. */
function where(conditions: [string, unknown][]): { sql: string; params: unknown[] } {
  const used = conditions.filter(([, v]) => v !== undefined);
  const params = used.map(([, v]) => v);
  const sql = used.map(([column], i) => `${column} $${i + 1}`).join(' AND ');
  return { sql: sql ? ` WHERE ${sql}` : '', params };
}

/** Every operation on one runner: the pool for the store, a client for a transaction. */
class PgOps {
  private readonly db: Runner;
  private readonly atomic: <T>(fn: (db: Runner) => Promise<T>) => Promise<T>;

  constructor(
    db: Runner,
    /** Runs `fn` atomically: in its own transaction on the pool, as is inside one. */
    atomic: <T>(fn: (db: Runner) => Promise<T>) => Promise<T>,
  ) {
    this.db = prepared(db);
    this.atomic = (fn) => atomic((inner) => fn(prepared(inner)));
  }

  private async one(sql: string, params: unknown[]): Promise<Row | null> {
    return (await this.db.query(sql, params)).rows[0] ?? null;
  }

  async getDevice(id: string): Promise<DeviceRecord | null> {
    const r = await this.one('SELECT * FROM devices WHERE id = $1', [id]);
    return r ? deviceOf(r) : null;
  }

  async listDevices(filter: DeviceFilter = {}): Promise<DeviceRecord[]> {
    const w = where([['status =', filter.status]]);
    return (await this.db.query(`SELECT * FROM devices${w.sql} ORDER BY id`, w.params)).rows.map(deviceOf);
  }

  async upsertDeviceOpen(o: DeviceOpen): Promise<DeviceRecord> {
    // A new boot session starts its interface reports from scratch.
    const r = await this.one(
      `INSERT INTO devices (id, status, status_at_ms, boot_session, agent_version, board, capabilities, link, keepalive_s, last_seen_ms)
       VALUES ($1, 'online', $2, $3, $4, $5, $6, $7, $8, $2)
       ON CONFLICT (id) DO UPDATE SET status = 'online', status_at_ms = EXCLUDED.status_at_ms, boot_session = EXCLUDED.boot_session,
         agent_version = EXCLUDED.agent_version, board = EXCLUDED.board, capabilities = EXCLUDED.capabilities, link = EXCLUDED.link,
         keepalive_s = EXCLUDED.keepalive_s, last_seen_ms = GREATEST(devices.last_seen_ms, EXCLUDED.last_seen_ms),
         interfaces_version = CASE WHEN devices.boot_session IS DISTINCT FROM EXCLUDED.boot_session THEN NULL ELSE devices.interfaces_version END
       RETURNING *`,
      [o.id, o.atMs, o.bootSession, o.agentVersion, JSON.stringify(o.board), JSON.stringify(o.capabilities), JSON.stringify(o.link), o.keepaliveS],
    );
    return deviceOf(r!);
  }

  async setDeviceStatus(id: string, status: DeviceStatus, atMs: number): Promise<void> {
    await this.db.query(
      `INSERT INTO devices (id, status, status_at_ms, last_seen_ms) VALUES ($1, $2, $3, $3)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, status_at_ms = EXCLUDED.status_at_ms`,
      [id, status, atMs],
    );
  }

  async touchDevice(id: string, atMs: number): Promise<boolean> {
    return ((await this.db.query('UPDATE devices SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE id = $1', [id, atMs])).rowCount ?? 0) > 0;
  }

  async setReportedVersion(id: string, version: number): Promise<boolean> {
    return ((await this.db.query('UPDATE devices SET reported_version = $2 WHERE id = $1', [id, version])).rowCount ?? 0) > 0;
  }

  putInterfaces(id: string, version: number, interfaces: readonly InterfaceEntry[], atMs: number): Promise<boolean> {
    return this.atomic(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [INTERFACES_LOCK]);
      const taken = await db.query(
        `UPDATE devices SET interfaces_version = $2, interfaces = $3, interfaces_at_ms = $4, interfaces_change = nextval('interfaces_change_seq')
         WHERE id = $1 AND (interfaces_version IS NULL OR interfaces_version < $2)`,
        [id, version, JSON.stringify(interfaces), atMs],
      );
      return (taken.rowCount ?? 0) > 0;
    });
  }

  async interfacesChangedSince(cursor: number, limit = 1000): Promise<InterfaceChanges> {
    const rows = (await this.db.query('SELECT * FROM devices WHERE interfaces_change > $1 ORDER BY interfaces_change LIMIT $2', [cursor, limit])).rows;
    const last = rows.at(-1);
    return { cursor: last ? num(last.interfaces_change) : cursor, devices: rows.map(deviceOf) };
  }

  async getSession(callId: string, line: number): Promise<SessionRecord | null> {
    const r = await this.one('SELECT * FROM sessions WHERE call_id = $1 AND line = $2', [callId, line]);
    return r ? sessionOf(r) : null;
  }

  async listSessions(filter: SessionFilter = {}): Promise<SessionRecord[]> {
    const w = where([['call_id =', filter.callId], ['state =', filter.state], ['client =', filter.client]]);
    return (await this.db.query(`SELECT * FROM sessions${w.sql} ORDER BY call_id, line`, w.params)).rows.map(sessionOf);
  }

  async updateSession(callId: string, line: number, patch: SessionPatch, ifStateIn?: readonly SessionState[]): Promise<SessionRecord | null> {
    // One conditional statement: another instance that moved the session first wins.
    const columns = patchColumns(patch);
    const set = columns.map((k, i) => `${SESSION_COLUMNS[k]} = $${i + 3}`).join(', ');
    const params: unknown[] = [callId, line, ...columns.map((k) => sessionValue(k, patch[k]))];
    const states = ifStateIn ? ` AND state = ANY($${params.push([...ifStateIn])})` : '';
    const r = await this.one(`UPDATE sessions SET ${set} WHERE call_id = $1 AND line = $2${states} RETURNING *`, params);
    return r ? sessionOf(r) : null;
  }

  async getGate(id: string): Promise<GateRecord | null> {
    const r = await this.one('SELECT * FROM gates WHERE id = $1', [id]);
    return r ? gateOf(r) : null;
  }

  async listGates(filter: GateFilter = {}): Promise<GateRecord[]> {
    const w = where([['device =', filter.device], ['state =', filter.state], ['call_id =', filter.callId], ['updated_at_ms <', filter.updatedBeforeMs]]);
    return (await this.db.query(`SELECT * FROM gates${w.sql} ORDER BY id`, w.params)).rows.map(gateOf);
  }

  /** One statement (one snapshot, one round trip): each row as JSON, tagged with its table. */
  async readCall(callId: string): Promise<CallRecords> {
    const rows = (
      await this.db.query(
        `SELECT 's' AS kind, s.line, NULL::text AS id, to_jsonb(s) AS row FROM sessions s WHERE s.call_id = $1
         UNION ALL
         SELECT 'g', NULL, g.id, to_jsonb(g) FROM gates g WHERE g.call_id = $1
         ORDER BY kind DESC, line, id`,
        [callId],
      )
    ).rows;
    const lines: SessionRecord[] = [];
    const gates: GateRecord[] = [];
    for (const r of rows) {
      if (r.kind === 's') lines.push(sessionOf(r.row as Row));
      else gates.push(gateOf(r.row as Row));
    }
    return { lines, gates };
  }

  async updateGateState(id: string, change: GateStateChange): Promise<GateRecord | null> {
    const r = await this.one(
      `UPDATE gates SET state = $2, error = CASE WHEN $3 THEN $4 ELSE error END, updated_at_ms = $5
       WHERE id = $1 AND ($6::text[] IS NULL OR state = ANY($6)) RETURNING *`,
      [id, change.state, change.error !== undefined, change.error ?? null, change.atMs, change.ifStateIn ? [...change.ifStateIn] : null],
    );
    return r ? gateOf(r) : null;
  }

  async confirmGates(device: string, ids: readonly string[], atMs: number): Promise<GateRecord[]> {
    if (ids.length === 0) return [];
    const r = await this.db.query(
      `UPDATE gates SET state = CASE state WHEN 'installing' THEN 'installed' ELSE 'removed' END, updated_at_ms = $1
       WHERE device = $2 AND state IN ('installing', 'removing') AND id = ANY($3) RETURNING *`,
      [atMs, device, [...ids]],
    );
    return r.rows.map(gateOf);
  }

  async desiredGates(deviceId: string): Promise<Gate[]> {
    return (await this.desiredState(deviceId))?.gates ?? [];
  }

  /** One statement, so version and gates come from one snapshot. */
  async desiredState(deviceId: string): Promise<DesiredState | null> {
    const rows = (
      await this.db.query(
        `SELECT d.desired_version, g.gate FROM devices d LEFT JOIN gates g ON g.device = d.id AND g.state = ANY($2) WHERE d.id = $1 ORDER BY g.id`,
        [deviceId, [...DESIRED_GATE_STATES]],
      )
    ).rows;
    if (rows.length === 0) return null;
    return { version: num(rows[0]!.desired_version), gates: rows.filter((r) => r.gate !== null).map((r) => r.gate as Gate) };
  }

  async desiredHashes(deviceId: string): Promise<DesiredHashes | null> {
    const rows = (
      await this.db.query(
        `SELECT d.desired_version, g.id, g.hash FROM devices d LEFT JOIN gates g ON g.device = d.id AND g.state = ANY($2) WHERE d.id = $1`,
        [deviceId, [...DESIRED_GATE_STATES]],
      )
    ).rows;
    if (rows.length === 0) return null;
    return { version: num(rows[0]!.desired_version), gates: rows.filter((r) => r.id !== null).map((r) => ({ id: String(r.id), hash: String(r.hash) })) };
  }

  async recordUsage(u: UsageRecord): Promise<UsageOutcome> {
    // The first report of a gate is one statement on its own (atomic by itself); only a later one
    // needs the transaction that merges it.
    const values = [u.device, u.gateId, u.callId, u.up.packets, u.up.bytes, u.down.packets, u.down.bytes, u.firstSeen, u.lastSeen, u.ended, u.receivedAtMs];
    const inserted = await this.db.query('INSERT INTO usage VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING', values);
    if ((inserted.rowCount ?? 0) > 0) return { recorded: true };
    return this.atomic(async (db) => {
      // There is one already: merge under its row lock, so that a concurrent retry waits and then sees this one.
      const stored = (await db.query('SELECT * FROM usage WHERE device = $1 AND gate_id = $2 FOR UPDATE', [u.device, u.gateId])).rows[0]!;
      const merged = mergeUsage(usageOf(stored), u);
      if (merged === null) return { recorded: false };
      await db.query(
        `UPDATE usage SET call_id = $3, up_packets = $4, up_bytes = $5, down_packets = $6, down_bytes = $7, first_seen = $8, last_seen = $9, ended = $10, received_at_ms = $11
         WHERE device = $1 AND gate_id = $2`,
        [u.device, u.gateId, merged.callId, merged.up.packets, merged.up.bytes, merged.down.packets, merged.down.bytes, merged.firstSeen, merged.lastSeen, merged.ended, merged.receivedAtMs],
      );
      return { recorded: true };
    });
  }

  async listUsage(filter: UsageFilter = {}): Promise<UsageRecord[]> {
    const w = where([['call_id =', filter.callId], ['device =', filter.device], ['gate_id =', filter.gateId]]);
    return (await this.db.query(`SELECT * FROM usage${w.sql} ORDER BY device, gate_id`, w.params)).rows.map(usageOf);
  }

  async useToken(jti: string, callId: string, atMs: number): Promise<boolean> {
    // One statement: the row as inserted now, or as another call left it.
    const r = await this.one(
      `WITH taken AS (INSERT INTO token_uses VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING call_id)
       SELECT call_id FROM taken UNION ALL SELECT call_id FROM token_uses WHERE jti = $1 LIMIT 1`,
      [jti, callId, atMs],
    );
    return r !== null && r.call_id === callId;
  }

  async putAuthorization(a: CallAuthorization): Promise<CallAuthorization> {
    await this.db.query('INSERT INTO call_authorizations VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING', [
      a.callId, a.transactionId, a.source, a.token, a.maxDurationS, a.authorizedAtMs, a.release && JSON.stringify(a.release), a.usage && JSON.stringify(a.usage), a.usageConfirmedAtMs,
    ]);
    return (await this.getAuthorization(a.callId))!;
  }

  async getAuthorization(callId: string): Promise<CallAuthorization | null> {
    const r = await this.one('SELECT * FROM call_authorizations WHERE call_id = $1', [callId]);
    return r ? authorizationOf(r) : null;
  }

  async noteRelease(callId: string, release: CallRelease): Promise<void> {
    await this.db.query('UPDATE call_authorizations SET release = $2 WHERE call_id = $1 AND release IS NULL', [callId, JSON.stringify(release)]);
  }

  async setAuthorizationUsage(callId: string, usage: JsonObject): Promise<boolean> {
    const r = await this.db.query('UPDATE call_authorizations SET usage = $2 WHERE call_id = $1 AND usage IS NULL', [callId, JSON.stringify(usage)]);
    return (r.rowCount ?? 0) > 0;
  }

  async confirmAuthorizationUsage(callId: string, atMs: number): Promise<void> {
    await this.db.query('UPDATE call_authorizations SET usage_confirmed_at_ms = $2 WHERE call_id = $1 AND usage IS NOT NULL AND usage_confirmed_at_ms IS NULL', [callId, atMs]);
  }

  async listUnconfirmedUsage(limit = 100): Promise<CallAuthorization[]> {
    const r = await this.db.query('SELECT * FROM call_authorizations WHERE usage IS NOT NULL AND usage_confirmed_at_ms IS NULL ORDER BY authorized_at_ms, call_id LIMIT $1', [limit]);
    return r.rows.map(authorizationOf);
  }

  // ---- transaction-only ----------------------------------------------------------------------

  async lockDevices(ids: readonly string[]): Promise<DeviceRecord[]> {
    const sorted = [...new Set(ids)].sort();
    return (await this.db.query('SELECT * FROM devices WHERE id = ANY($1) ORDER BY id FOR UPDATE', [sorted])).rows.map(deviceOf);
  }

  async insertSession(s: SessionRecord): Promise<void> {
    // ON CONFLICT rather than a caught unique violation: an error would abort the whole transaction.
    const r = await this.db.query(
      'INSERT INTO sessions VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING',
      [s.callId, s.line, s.client, s.state, JSON.stringify(s.spec), s.reason, JSON.stringify(s.gateIds), s.createdAtMs, s.updatedAtMs, s.deadlineMs, s.activeAtMs, s.endedAtMs],
    );
    if ((r.rowCount ?? 0) === 0) throw storeError('E_CONFLICT', `session ${s.callId} line ${s.line} exists`);
  }

  async insertGates(gates: readonly GateRecord[]): Promise<void> {
    for (const g of gates) {
      const r = await this.db.query(
        'INSERT INTO gates VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING',
        [g.id, g.device, g.callId, g.line, JSON.stringify(g.gate), g.hash, g.direction, g.rateKbps, g.state, g.updatedAtMs, g.error],
      );
      if ((r.rowCount ?? 0) === 0) throw storeError('E_CONFLICT', `gate ${g.id} exists`);
    }
  }

  async deleteGates(ids: readonly string[]): Promise<number> {
    return (await this.db.query('DELETE FROM gates WHERE id = ANY($1)', [[...ids]])).rowCount ?? 0;
  }

  async bumpDesiredVersion(deviceId: string): Promise<number> {
    const r = await this.one('UPDATE devices SET desired_version = desired_version + 1 WHERE id = $1 RETURNING desired_version', [deviceId]);
    if (!r) throw storeError('E_NOT_FOUND', `no device ${deviceId}`);
    return num(r.desired_version);
  }

  async admittedKbps(deviceId: string): Promise<AdmittedKbps> {
    const r = await this.one(
      `SELECT COALESCE(SUM(CASE WHEN direction != 'down' THEN rate_kbps ELSE 0 END), 0) AS up,
              COALESCE(SUM(CASE WHEN direction != 'up' THEN rate_kbps ELSE 0 END), 0) AS down
       FROM gates WHERE device = $1 AND state = ANY($2)`,
      [deviceId, [...HELD_GATE_STATES]],
    );
    return { up: num(r!.up), down: num(r!.down) };
  }
}

/** BEGIN … COMMIT on one pooled client, ROLLBACK when `fn` throws. */
async function inTransaction<T>(pool: pg.Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
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

export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly ops: PgOps;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle client that loses its server must not take the process down.
    this.pool.on('error', () => undefined);
    this.ops = new PgOps(this.pool, (fn) => inTransaction(this.pool, fn));
  }

  async migrate(): Promise<void> {
    await inTransaction(this.pool, async (db) => {
      // Several instances may start at once: one migrates, the others wait and then find it done.
      await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await db.query('CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)');
      const done = new Set((await db.query('SELECT version FROM migrations')).rows.map((r) => num(r.version)));
      for (const [i, sql] of MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await db.query(sql);
        await db.query('INSERT INTO migrations VALUES ($1, $2)', [i + 1, Date.now()]);
      }
    });
  }

  /** The pool itself, for the fleet store (src/cloud/fleet/store/) on the same database; this store closes it. */
  sharedConnection(): pg.Pool {
    return this.pool;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      let open = true;
      const ops = new PgOps(client, (inner) => inner(client));
      const tx = guarded(ops, () => {
        if (!open) throw storeError('E_STORE', 'transaction already ended');
      }) as unknown as StoreTx;
      try {
        return await fn(tx);
      } finally {
        open = false;
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}


/** The operations of `ops`, each first calling `check` (which throws when they may not run). */
function guarded(ops: PgOps, check: () => void): Record<string, (...args: unknown[]) => Promise<unknown>> {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of STORE_TX_OPS) {
    const fn = (ops as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!.bind(ops);
    out[name] = async (...args) => {
      check();
      return fn(...args);
    };
  }
  return out;
}

// The store's own operations run on the pool, each statement (or atomic group) on its own.
export interface PostgresStore extends StoreOps {}
for (const name of STORE_OPS) {
  Object.defineProperty(PostgresStore.prototype, name, {
    value(this: PostgresStore, ...args: unknown[]) {
      const ops = (this as unknown as { ops: Record<string, (...a: unknown[]) => Promise<unknown>> }).ops;
      return ops[name]!(...args);
    },
  });
}
