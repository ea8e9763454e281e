/**
 * The remote commands' table of the fleet store (src/cloud/fleet/commands.ts), one implementation
 * for SQLite and PostgreSQL through the same executor as the configuration tables (config-sql.ts):
 * `?` placeholders, JSON as text, parameters only.
 */
import { num, storeError, type Row } from '../../store/rows.ts';
import type { CommandName, CommandState } from '../../../core/fleet/api-commands.ts';
import type { JsonValue } from '../../store/types.ts';
import type { SqlExecutor } from './config-sql.ts';

/** A command as stored: the API's view plus the id of the message last sent for it (results carry it as corr). */
export interface CommandRecord {
  readonly id: string;
  readonly deviceId: string;
  readonly name: CommandName;
  readonly args: Readonly<Record<string, string>>;
  readonly state: CommandState;
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly deadlineMs: number;
  readonly sentAtMs: number | null;
  readonly finishedAtMs: number | null;
  readonly messageId: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly data: JsonValue | null;
}

/** A change of state, made only while the command is in one of `ifStateIn` (compare-and-set between server instances). */
export interface CommandUpdate {
  readonly state: CommandState;
  readonly ifStateIn: readonly CommandState[];
  readonly sentAtMs?: number;
  readonly finishedAtMs?: number;
  readonly messageId?: string;
  readonly error?: { readonly code: string; readonly message: string } | null;
  readonly data?: JsonValue | null;
}

export interface FleetCommandStore {
  /** E_CONFLICT when the id exists. */
  createCommand(command: CommandRecord): Promise<void>;
  getCommand(id: string): Promise<CommandRecord | null>;
  /** The command whose latest message had this id (a result's corr). */
  getCommandByMessage(messageId: string): Promise<CommandRecord | null>;
  /** Newest first. */
  listDeviceCommands(deviceId: string, limit: number): Promise<CommandRecord[]>;
  /** Oldest first; of one device when given. */
  listCommandsIn(states: readonly CommandState[], deviceId?: string): Promise<CommandRecord[]>;
  /** Those in `states` whose deadline is at or before `atMs` (what the deadline sweep ends), oldest deadline first. */
  listCommandsDue(states: readonly CommandState[], atMs: number): Promise<CommandRecord[]>;
  /** Null when there is no such command or it is in another state than `ifStateIn`. */
  updateCommand(id: string, update: CommandUpdate): Promise<CommandRecord | null>;
}

/** The migration (one numbered entry of the fleet's migrations); `big` is the 64-bit integer type. */
export function commandsMigration(big: 'INTEGER' | 'BIGINT'): string {
  return `CREATE TABLE fleet_commands (
     id TEXT PRIMARY KEY,
     device_id TEXT NOT NULL,
     name TEXT NOT NULL,
     args TEXT NOT NULL,
     state TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at_ms ${big} NOT NULL,
     deadline_ms ${big} NOT NULL,
     sent_at_ms ${big},
     finished_at_ms ${big},
     message_id TEXT,
     error TEXT,
     data TEXT
   );
   CREATE INDEX fleet_commands_device ON fleet_commands (device_id, created_at_ms);
   CREATE INDEX fleet_commands_state ON fleet_commands (state, deadline_ms);
   CREATE UNIQUE INDEX fleet_commands_message ON fleet_commands (message_id);`;
}

const parse = <T>(v: unknown): T | null => (v === null || v === undefined ? null : (JSON.parse(String(v)) as T));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

const commandOf = (r: Row): CommandRecord => ({
  id: String(r.id), deviceId: String(r.device_id), name: r.name as CommandName, args: parse<Record<string, string>>(r.args) ?? {},
  state: r.state as CommandState, createdBy: String(r.created_by), createdAtMs: num(r.created_at_ms), deadlineMs: num(r.deadline_ms),
  sentAtMs: numOrNull(r.sent_at_ms), finishedAtMs: numOrNull(r.finished_at_ms), messageId: (r.message_id as string | null) ?? null,
  error: parse(r.error), data: parse<JsonValue>(r.data),
});

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export class SqlCommandStore implements FleetCommandStore {
  constructor(private readonly db: SqlExecutor) {}

  async createCommand(c: CommandRecord): Promise<void> {
    try {
      await this.db.run(
        'INSERT INTO fleet_commands (id, device_id, name, args, state, created_by, created_at_ms, deadline_ms, sent_at_ms, finished_at_ms, message_id, error, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [c.id, c.deviceId, c.name, JSON.stringify(c.args), c.state, c.createdBy, c.createdAtMs, c.deadlineMs, c.sentAtMs, c.finishedAtMs, c.messageId,
          c.error === null ? null : JSON.stringify(c.error), c.data === null ? null : JSON.stringify(c.data)],
      );
    } catch (err) {
      if (this.db.isUniqueViolation(err)) throw storeError('E_CONFLICT', `command ${c.id} exists`);
      throw err;
    }
  }

  async getCommand(id: string): Promise<CommandRecord | null> {
    const r = await this.db.one('SELECT * FROM fleet_commands WHERE id = ?', [id]);
    return r === null ? null : commandOf(r);
  }

  async getCommandByMessage(messageId: string): Promise<CommandRecord | null> {
    const r = await this.db.one('SELECT * FROM fleet_commands WHERE message_id = ?', [messageId]);
    return r === null ? null : commandOf(r);
  }

  async listDeviceCommands(deviceId: string, limit: number): Promise<CommandRecord[]> {
    return (await this.db.all('SELECT * FROM fleet_commands WHERE device_id = ? ORDER BY created_at_ms DESC, id DESC LIMIT ?', [deviceId, limit])).map(commandOf);
  }

  async listCommandsIn(states: readonly CommandState[], deviceId?: string): Promise<CommandRecord[]> {
    if (states.length === 0) return [];
    const sql = `SELECT * FROM fleet_commands WHERE state IN (${marks(states.length)})${deviceId === undefined ? '' : ' AND device_id = ?'} ORDER BY created_at_ms, id`;
    return (await this.db.all(sql, deviceId === undefined ? [...states] : [...states, deviceId])).map(commandOf);
  }

  async listCommandsDue(states: readonly CommandState[], atMs: number): Promise<CommandRecord[]> {
    if (states.length === 0) return [];
    const sql = `SELECT * FROM fleet_commands WHERE state IN (${marks(states.length)}) AND deadline_ms <= ? ORDER BY deadline_ms, id`;
    return (await this.db.all(sql, [...states, atMs])).map(commandOf);
  }

  async updateCommand(id: string, u: CommandUpdate): Promise<CommandRecord | null> {
    if (u.ifStateIn.length === 0) return null;
    const sets = ['state = ?'];
    const values: unknown[] = [u.state];
    const set = (column: string, value: unknown) => (sets.push(`${column} = ?`), values.push(value));
    if (u.sentAtMs !== undefined) set('sent_at_ms', u.sentAtMs);
    if (u.finishedAtMs !== undefined) set('finished_at_ms', u.finishedAtMs);
    if (u.messageId !== undefined) set('message_id', u.messageId);
    if (u.error !== undefined) set('error', u.error === null ? null : JSON.stringify(u.error));
    if (u.data !== undefined) set('data', u.data === null ? null : JSON.stringify(u.data));
    const r = await this.db.one(`UPDATE fleet_commands SET ${sets.join(', ')} WHERE id = ? AND state IN (${marks(u.ifStateIn.length)}) RETURNING *`, [...values, id, ...u.ifStateIn]);
    return r === null ? null : commandOf(r);
  }
}
