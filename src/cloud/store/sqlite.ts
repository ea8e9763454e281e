/**
 * The embedded store: SQLite through better-sqlite3 (one file, WAL, prepared statements). It is
 * synchronous underneath; the async interface lets the same server code run on PostgreSQL.
 * Transactions are BEGIN IMMEDIATE and run one at a time in this process, so a transaction's
 * reads and writes see no other writer; a second process on the same file waits on SQLite's lock.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type {
  AdmittedKbps, CallAuthorization, CallRecords, CallRelease, JsonObject, DesiredHashes, DesiredState, DeviceFilter, DeviceOpen, DeviceRecord, DeviceStatus, Gate, GateFilter, GateRecord, GateStateChange,
  InterfaceChanges, InterfaceEntry, SessionFilter, SessionPatch, SessionRecord, SessionState, Store, StoreOps, StoreTx, UsageFilter,
  UsageOutcome, UsageRecord,
} from './types.ts';
import { DESIRED_GATE_STATES, HELD_GATE_STATES, STORE_OPS, STORE_TX_OPS } from './types.ts';
import { authorizationOf, authorizationTables, deviceOf, gateOf, json, mergeUsage, num, patchColumns, SESSION_COLUMNS, sessionOf, sessionValue, storeError, usageOf } from './rows.ts';
import type { Row } from './rows.ts';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     status_at_ms INTEGER NOT NULL,
     boot_session INTEGER,
     agent_version TEXT,
     board TEXT,
     capabilities TEXT,
     link TEXT,
     keepalive_s INTEGER,
     last_seen_ms INTEGER NOT NULL,
     desired_version INTEGER NOT NULL DEFAULT 0,
     reported_version INTEGER,
     interfaces_version INTEGER,
     interfaces TEXT NOT NULL DEFAULT '[]',
     interfaces_at_ms INTEGER,
     interfaces_change INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX devices_interfaces_change ON devices (interfaces_change);
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
   INSERT INTO counters VALUES ('interfaces_change', 0);
   CREATE TABLE sessions (
     call_id TEXT NOT NULL,
     line INTEGER NOT NULL,
     client TEXT NOT NULL,
     state TEXT NOT NULL,
     spec TEXT NOT NULL,
     reason TEXT,
     gate_ids TEXT NOT NULL,
     created_at_ms INTEGER NOT NULL,
     updated_at_ms INTEGER NOT NULL,
     deadline_ms INTEGER,
     active_at_ms INTEGER,
     ended_at_ms INTEGER,
     PRIMARY KEY (call_id, line)
   );
   CREATE INDEX sessions_state ON sessions (state);
   CREATE TABLE gates (
     id TEXT PRIMARY KEY,
     device TEXT NOT NULL,
     call_id TEXT NOT NULL,
     line INTEGER NOT NULL,
     gate TEXT NOT NULL,
     hash TEXT NOT NULL,
     direction TEXT NOT NULL,
     rate_kbps INTEGER NOT NULL,
     state TEXT NOT NULL,
     updated_at_ms INTEGER NOT NULL,
     error TEXT
   );
   CREATE INDEX gates_device_state ON gates (device, state);
   CREATE INDEX gates_call ON gates (call_id);
   CREATE TABLE usage (
     device TEXT NOT NULL,
     gate_id TEXT NOT NULL,
     call_id TEXT,
     up_packets INTEGER NOT NULL,
     up_bytes INTEGER NOT NULL,
     down_packets INTEGER NOT NULL,
     down_bytes INTEGER NOT NULL,
     first_seen INTEGER,
     last_seen INTEGER,
     ended TEXT,
     received_at_ms INTEGER NOT NULL,
     PRIMARY KEY (device, gate_id)
   );
   CREATE INDEX usage_call ON usage (call_id);`,
  authorizationTables('TEXT', 'INTEGER'),
];

/** Every operation, synchronous, on one connection: shared by the store and its transactions. */
class SqliteOps {
  private readonly cache = new Map<string, Statement>();
  constructor(readonly db: Db) {}

  protected q(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) this.cache.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  getDevice(id: string): DeviceRecord | null {
    const r = this.q('SELECT * FROM devices WHERE id = ?').get(id) as Row | undefined;
    return r ? deviceOf(r) : null;
  }

  listDevices(filter: DeviceFilter = {}): DeviceRecord[] {
    const rows = filter.status ? this.q('SELECT * FROM devices WHERE status = ? ORDER BY id').all(filter.status) : this.q('SELECT * FROM devices ORDER BY id').all();
    return (rows as Row[]).map(deviceOf);
  }

  upsertDeviceOpen(o: DeviceOpen): DeviceRecord {
    const existing = this.getDevice(o.id);
    const params = [o.bootSession, o.agentVersion, JSON.stringify(o.board), JSON.stringify(o.capabilities), JSON.stringify(o.link), o.keepaliveS, o.atMs];
    if (!existing) {
      this.q(
        `INSERT INTO devices (id, status, status_at_ms, boot_session, agent_version, board, capabilities, link, keepalive_s, last_seen_ms)
         VALUES (?, 'online', ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(o.id, o.atMs, ...params);
    } else {
      // A new boot session starts its interface reports from scratch.
      const forget = existing.bootSession !== o.bootSession;
      this.q(
        `UPDATE devices SET status = 'online', status_at_ms = ?, boot_session = ?, agent_version = ?, board = ?, capabilities = ?, link = ?,
           keepalive_s = ?, last_seen_ms = MAX(last_seen_ms, ?), interfaces_version = CASE WHEN ? THEN NULL ELSE interfaces_version END WHERE id = ?`,
      ).run(o.atMs, ...params, forget ? 1 : 0, o.id);
    }
    return this.getDevice(o.id)!;
  }

  setDeviceStatus(id: string, status: DeviceStatus, atMs: number): void {
    const changed = this.q('UPDATE devices SET status = ?, status_at_ms = ? WHERE id = ?').run(status, atMs, id).changes;
    if (changed === 0) this.q(`INSERT INTO devices (id, status, status_at_ms, last_seen_ms) VALUES (?, ?, ?, ?)`).run(id, status, atMs, atMs);
  }

  touchDevice(id: string, atMs: number): boolean {
    return this.q('UPDATE devices SET last_seen_ms = MAX(last_seen_ms, ?) WHERE id = ?').run(atMs, id).changes > 0;
  }

  setReportedVersion(id: string, version: number): boolean {
    return this.q('UPDATE devices SET reported_version = ? WHERE id = ?').run(version, id).changes > 0;
  }

  putInterfaces(id: string, version: number, interfaces: readonly InterfaceEntry[], atMs: number): boolean {
    const change = num((this.q(`UPDATE counters SET value = value + 1 WHERE name = 'interfaces_change' RETURNING value`).get() as Row).value);
    const taken = this.q(
      `UPDATE devices SET interfaces_version = ?, interfaces = ?, interfaces_at_ms = ?, interfaces_change = ?
       WHERE id = ? AND (interfaces_version IS NULL OR interfaces_version < ?)`,
    ).run(version, JSON.stringify(interfaces), atMs, change, id, version).changes;
    return taken > 0;
  }

  interfacesChangedSince(cursor: number, limit = 1000): InterfaceChanges {
    const rows = this.q('SELECT * FROM devices WHERE interfaces_change > ? ORDER BY interfaces_change LIMIT ?').all(cursor, limit) as Row[];
    const last = rows.at(-1);
    return { cursor: last ? num(last.interfaces_change) : cursor, devices: rows.map(deviceOf) };
  }

  getSession(callId: string, line: number): SessionRecord | null {
    const r = this.q('SELECT * FROM sessions WHERE call_id = ? AND line = ?').get(callId, line) as Row | undefined;
    return r ? sessionOf(r) : null;
  }

  listSessions(filter: SessionFilter = {}): SessionRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.callId !== undefined) (where.push('call_id = ?'), args.push(filter.callId));
    if (filter.state !== undefined) (where.push('state = ?'), args.push(filter.state));
    if (filter.client !== undefined) (where.push('client = ?'), args.push(filter.client));
    const sql = `SELECT * FROM sessions${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY call_id, line`;
    return (this.q(sql).all(...args) as Row[]).map(sessionOf);
  }

  updateSession(callId: string, line: number, patch: SessionPatch, ifStateIn?: readonly SessionState[]): SessionRecord | null {
    // One statement: the columns the patch names, on the condition the caller set.
    const columns = patchColumns(patch);
    const set = columns.map((k) => `${SESSION_COLUMNS[k]} = ?`).join(', ');
    const values = columns.map((k) => sessionValue(k, patch[k]));
    const states = ifStateIn ? ` AND state IN (${ifStateIn.map(() => '?').join(', ')})` : '';
    const r = this.q(`UPDATE sessions SET ${set} WHERE call_id = ? AND line = ?${states} RETURNING *`).get(...values, callId, line, ...(ifStateIn ?? [])) as Row | undefined;
    return r ? sessionOf(r) : null;
  }

  getGate(id: string): GateRecord | null {
    const r = this.q('SELECT * FROM gates WHERE id = ?').get(id) as Row | undefined;
    return r ? gateOf(r) : null;
  }

  listGates(filter: GateFilter = {}): GateRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.device !== undefined) (where.push('device = ?'), args.push(filter.device));
    if (filter.state !== undefined) (where.push('state = ?'), args.push(filter.state));
    if (filter.callId !== undefined) (where.push('call_id = ?'), args.push(filter.callId));
    if (filter.updatedBeforeMs !== undefined) (where.push('updated_at_ms < ?'), args.push(filter.updatedBeforeMs));
    const sql = `SELECT * FROM gates${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.q(sql).all(...args) as Row[]).map(gateOf);
  }

  readCall(callId: string): CallRecords {
    // Synchronous, in one process: nothing can write between the two statements.
    return { lines: this.listSessions({ callId }), gates: this.listGates({ callId }) };
  }

  updateGateState(id: string, change: GateStateChange): GateRecord | null {
    const keepError = change.error === undefined;
    const states = change.ifStateIn ? ` AND state IN (${change.ifStateIn.map(() => '?').join(', ')})` : '';
    const r = this.q(`UPDATE gates SET state = ?, error = CASE WHEN ? THEN error ELSE ? END, updated_at_ms = ? WHERE id = ?${states} RETURNING *`).get(
      change.state, keepError ? 1 : 0, change.error ?? null, change.atMs, id, ...(change.ifStateIn ?? []),
    ) as Row | undefined;
    return r ? gateOf(r) : null;
  }

  confirmGates(device: string, ids: readonly string[], atMs: number): GateRecord[] {
    if (ids.length === 0) return [];
    const marks = ids.map(() => '?').join(', ');
    const rows = this.q(
      `UPDATE gates SET state = CASE state WHEN 'installing' THEN 'installed' ELSE 'removed' END, updated_at_ms = ?
       WHERE device = ? AND state IN ('installing', 'removing') AND id IN (${marks}) RETURNING *`,
    ).all(atMs, device, ...ids) as Row[];
    return rows.map(gateOf);
  }

  desiredGates(deviceId: string): Gate[] {
    const marks = DESIRED_GATE_STATES.map(() => '?').join(', ');
    return (this.q(`SELECT gate FROM gates WHERE device = ? AND state IN (${marks}) ORDER BY id`).all(deviceId, ...DESIRED_GATE_STATES) as Row[]).map((r) => json<Gate>(r.gate));
  }

  desiredState(deviceId: string): DesiredState | null {
    const device = this.q('SELECT desired_version FROM devices WHERE id = ?').get(deviceId) as Row | undefined;
    return device ? { version: num(device.desired_version), gates: this.desiredGates(deviceId) } : null;
  }

  desiredHashes(deviceId: string): DesiredHashes | null {
    const device = this.q('SELECT desired_version FROM devices WHERE id = ?').get(deviceId) as Row | undefined;
    if (!device) return null;
    const marks = DESIRED_GATE_STATES.map(() => '?').join(', ');
    const rows = this.q(`SELECT id, hash FROM gates WHERE device = ? AND state IN (${marks})`).all(deviceId, ...DESIRED_GATE_STATES) as Row[];
    return { version: num(device.desired_version), gates: rows.map((r) => ({ id: String(r.id), hash: String(r.hash) })) };
  }

  recordUsage(u: UsageRecord): UsageOutcome {
    const stored = this.q('SELECT * FROM usage WHERE device = ? AND gate_id = ?').get(u.device, u.gateId) as Row | undefined;
    const merged = stored ? mergeUsage(usageOf(stored), u) : u;
    if (merged === null) return { recorded: false };
    const values = [merged.callId, merged.up.packets, merged.up.bytes, merged.down.packets, merged.down.bytes, merged.firstSeen, merged.lastSeen, merged.ended, merged.receivedAtMs];
    if (!stored) this.q('INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(u.device, u.gateId, ...values);
    else {
      this.q(
        `UPDATE usage SET call_id = ?, up_packets = ?, up_bytes = ?, down_packets = ?, down_bytes = ?, first_seen = ?, last_seen = ?, ended = ?, received_at_ms = ?
         WHERE device = ? AND gate_id = ?`,
      ).run(...values, u.device, u.gateId);
    }
    return { recorded: true };
  }

  listUsage(filter: UsageFilter = {}): UsageRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.callId !== undefined) (where.push('call_id = ?'), args.push(filter.callId));
    if (filter.device !== undefined) (where.push('device = ?'), args.push(filter.device));
    if (filter.gateId !== undefined) (where.push('gate_id = ?'), args.push(filter.gateId));
    const sql = `SELECT * FROM usage${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY device, gate_id`;
    return (this.q(sql).all(...args) as Row[]).map(usageOf);
  }

  useToken(jti: string, callId: string, atMs: number): boolean {
    this.q('INSERT INTO token_uses VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(jti, callId, atMs);
    return (this.q('SELECT call_id FROM token_uses WHERE jti = ?').get(jti) as Row).call_id === callId;
  }

  putAuthorization(a: CallAuthorization): CallAuthorization {
    this.q('INSERT INTO call_authorizations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
      a.callId, a.transactionId, a.source, a.token, a.maxDurationS, a.authorizedAtMs, a.release && JSON.stringify(a.release), a.usage && JSON.stringify(a.usage), a.usageConfirmedAtMs,
    );
    return this.getAuthorization(a.callId)!;
  }

  getAuthorization(callId: string): CallAuthorization | null {
    const r = this.q('SELECT * FROM call_authorizations WHERE call_id = ?').get(callId) as Row | undefined;
    return r ? authorizationOf(r) : null;
  }

  noteRelease(callId: string, release: CallRelease): void {
    this.q('UPDATE call_authorizations SET release = ? WHERE call_id = ? AND release IS NULL').run(JSON.stringify(release), callId);
  }

  setAuthorizationUsage(callId: string, usage: JsonObject): boolean {
    return this.q('UPDATE call_authorizations SET usage = ? WHERE call_id = ? AND usage IS NULL').run(JSON.stringify(usage), callId).changes > 0;
  }

  confirmAuthorizationUsage(callId: string, atMs: number): void {
    this.q('UPDATE call_authorizations SET usage_confirmed_at_ms = ? WHERE call_id = ? AND usage IS NOT NULL AND usage_confirmed_at_ms IS NULL').run(atMs, callId);
  }

  listUnconfirmedUsage(limit = 100): CallAuthorization[] {
    const rows = this.q('SELECT * FROM call_authorizations WHERE usage IS NOT NULL AND usage_confirmed_at_ms IS NULL ORDER BY authorized_at_ms, call_id LIMIT ?').all(limit) as Row[];
    return rows.map(authorizationOf);
  }

  // ---- transaction-only ----------------------------------------------------------------------

  lockDevices(ids: readonly string[]): DeviceRecord[] {
    // BEGIN IMMEDIATE already holds the database's write lock.
    return [...new Set(ids)].sort().map((id) => this.getDevice(id)).filter((d): d is DeviceRecord => d !== null);
  }

  insertSession(s: SessionRecord): void {
    const inserted = this.q('INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
      s.callId, s.line, s.client, s.state, JSON.stringify(s.spec), s.reason, JSON.stringify(s.gateIds), s.createdAtMs, s.updatedAtMs, s.deadlineMs, s.activeAtMs, s.endedAtMs,
    ).changes;
    if (inserted === 0) throw storeError('E_CONFLICT', `session ${s.callId} line ${s.line} exists`);
  }

  insertGates(gates: readonly GateRecord[]): void {
    for (const g of gates) {
      const inserted = this.q('INSERT INTO gates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
        g.id, g.device, g.callId, g.line, JSON.stringify(g.gate), g.hash, g.direction, g.rateKbps, g.state, g.updatedAtMs, g.error,
      ).changes;
      if (inserted === 0) throw storeError('E_CONFLICT', `gate ${g.id} exists`);
    }
  }

  deleteGates(ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) n += this.q('DELETE FROM gates WHERE id = ?').run(id).changes;
    return n;
  }

  bumpDesiredVersion(deviceId: string): number {
    const r = this.q('UPDATE devices SET desired_version = desired_version + 1 WHERE id = ? RETURNING desired_version').get(deviceId) as Row | undefined;
    if (!r) throw storeError('E_NOT_FOUND', `no device ${deviceId}`);
    return num(r.desired_version);
  }

  admittedKbps(deviceId: string): AdmittedKbps {
    const marks = HELD_GATE_STATES.map(() => '?').join(', ');
    const r = this.q(
      `SELECT COALESCE(SUM(CASE WHEN direction != 'down' THEN rate_kbps ELSE 0 END), 0) AS up,
              COALESCE(SUM(CASE WHEN direction != 'up' THEN rate_kbps ELSE 0 END), 0) AS down
       FROM gates WHERE device = ? AND state IN (${marks})`,
    ).get(deviceId, ...HELD_GATE_STATES) as Row;
    return { up: num(r.up), down: num(r.down) };
  }
}


/** The synchronous operations as the async interface; a thrown error becomes a rejection. */
function asyncify<K extends string>(ops: SqliteOps, names: readonly K[], guard: () => void): Record<K, (...args: unknown[]) => Promise<unknown>> {
  const out = {} as Record<K, (...args: unknown[]) => Promise<unknown>>;
  for (const name of names) {
    const fn = (ops as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.bind(ops);
    out[name] = (...args) => {
      try {
        guard();
        return Promise.resolve(fn(...args));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  }
  return out;
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  private readonly db: Db;
  private readonly ops: SqliteOps;
  private readonly api: StoreOps;
  /** Transactions run one at a time: each waits for the one before. */
  private queue: Promise<unknown> = Promise.resolve();
  private inTransaction = false;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.ops = new SqliteOps(this.db);
    this.api = asyncify(this.ops, STORE_OPS, () => {
      if (this.inTransaction) throw storeError('E_STORE', 'the store was used inside a transaction; use the transaction');
    }) as unknown as StoreOps;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)');
    const apply = this.db.transaction(() => {
      const done = new Set((this.db.prepare('SELECT version FROM migrations').all() as Row[]).map((r) => num(r.version)));
      MIGRATIONS.forEach((sql, i) => {
        if (done.has(i + 1)) return;
        this.db.exec(sql);
        this.db.prepare('INSERT INTO migrations VALUES (?, ?)').run(i + 1, Date.now());
      });
    });
    apply.immediate();
  }

  /** The connection itself, for the fleet store (src/cloud/fleet/store/) on the same database. */
  sharedConnection(): Db {
    return this.db;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.db.exec('BEGIN IMMEDIATE');
      this.inTransaction = true;
      let open = true;
      const tx = asyncify(this.ops, STORE_TX_OPS, () => {
        if (!open) throw storeError('E_STORE', 'transaction already ended');
      }) as unknown as StoreTx;
      try {
        const value = await fn(tx);
        this.db.exec('COMMIT');
        return value;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      } finally {
        open = false;
        this.inTransaction = false;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}

// The async operations, delegated (written out so the class satisfies Store's types).
export interface SqliteStore extends StoreOps {}
for (const name of STORE_OPS) {
  Object.defineProperty(SqliteStore.prototype, name, {
    value(this: SqliteStore, ...args: unknown[]) {
      return (this as unknown as { api: Record<string, (...a: unknown[]) => Promise<unknown>> }).api[name]!(...args);
    },
  });
}
