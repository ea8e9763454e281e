/**
 * The inventory statement, built once for both backends: the fleet's records and the server's
 * `devices` joined both ways, so that a router with a hand-made login (a `devices` row, no fleet
 * record) and a router enrolled but never connected (a fleet record, no `devices` row) both show.
 *
 * It is written as two arms joined by UNION ALL rather than one FULL OUTER JOIN: each arm gets
 * only the filters that can match it (a group, tag, feature, fleet state or domain filter leaves
 * out the second arm altogether), and each filter lands on an indexed column of the arm's driving
 * table (fleet_devices' group, state, and the case-insensitive search indexes).
 *
 *   arm "fleet":   fleet_devices f LEFT JOIN devices d ON d.id = f.device_id
 *   arm "unenrolled": devices d WHERE NOT EXISTS (a fleet record of d.id)
 *
 * Every value is a parameter (`?` here; the PostgreSQL store numbers them): filter values never
 * become SQL text, and the few names that do (sort keys, feature names) are checked against fixed
 * lists first.
 */
import { DEVICE_STATUSES } from '../../store/types.ts';
import { storeError } from '../../store/rows.ts';
import { FLEET_DEVICE_COLUMNS } from './rows.ts';
import type { FleetState, InventoryQuery, InventorySort } from './types.ts';
import { FLEET_STATES, INVENTORY_SORTS } from './types.ts';

/** What differs between SQLite and PostgreSQL in this statement. */
export interface InventoryDialect {
  /** A case-insensitive prefix match of `column` against a `?` pattern made by `prefixPattern`. */
  prefix(column: string): string;
  prefixPattern(search: string): string;
  /** The fleet record's tags contain the `?` value made by `tagParam`. */
  readonly tagContains: string;
  tagParam(tag: string): unknown;
  /** The fleet record reports this kernel feature as present, given the `?` value made by `featureParam`. */
  readonly featureTrue: string;
  featureParam(feature: string): unknown;
  /** A text sort key compared byte-wise (the same order on both backends, whatever the database's collation). */
  textOrder(expr: string): string;
}

export const INVENTORY_FEATURES = ['cake', 'fqCodel', 'ctinfo', 'flowOffload'] as const;

/** Bad input names its field: these come from an HTTP query string. */
export function checkInventoryQuery(q: InventoryQuery): void {
  const bad = (field: string, why: string) => storeError('E_INVENTORY_QUERY', `inventory query ${field}: ${why}`);
  if (!INVENTORY_SORTS.includes(q.sort)) throw bad('sort', `must be one of ${INVENTORY_SORTS.join(', ')}`);
  if (!Number.isSafeInteger(q.offset) || q.offset < 0) throw bad('offset', 'must be an integer >= 0');
  if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > 10_000) throw bad('limit', 'must be an integer from 1 to 10000');
  const statuses: readonly string[] = [...DEVICE_STATUSES, ...FLEET_STATES];
  if (q.status !== undefined && !statuses.includes(q.status)) throw bad('status', `must be one of ${statuses.join(', ')}`);
  if (q.feature !== undefined && !(INVENTORY_FEATURES as readonly string[]).includes(q.feature)) throw bad('feature', `must be one of ${INVENTORY_FEATURES.join(', ')}`);
  for (const [field, value] of [['search', q.search], ['group', q.group], ['tag', q.tag], ['version', q.version]] as const) {
    if (value !== undefined && typeof value !== 'string') throw bad(field, 'must be text');
  }
  if (q.domains !== undefined && (!Array.isArray(q.domains) || q.domains.some((d) => typeof d !== 'string'))) throw bad('domains', 'must be a list of text');
}

/** One arm's conditions and their parameters; `never` when a filter cannot match the arm. */
interface Arm {
  readonly where: string[];
  readonly params: unknown[];
  never: boolean;
}

/** The groups an operator of these domains sees: their domains' groups, and the groups of no domain (every operator's). */
function domainGroups(domains: readonly string[]): { sql: string; params: unknown[] } {
  const inList = domains.length > 0 ? `g.domain IN (${domains.map(() => '?').join(', ')}) OR ` : '';
  return { sql: `f.group_id IN (SELECT g.id FROM device_groups g WHERE ${inList}g.domain IS NULL)`, params: [...domains] };
}

function arms(q: InventoryQuery, dialect: InventoryDialect): { fleet: Arm; unenrolled: Arm } {
  const fleet: Arm = { where: [], params: [], never: false };
  const unenrolled: Arm = { where: [], params: [], never: false };
  const add = (arm: Arm, sql: string, ...params: unknown[]) => {
    arm.where.push(sql);
    arm.params.push(...params);
  };
  if (q.search !== undefined && q.search !== '') {
    const p = dialect.prefixPattern(q.search);
    add(fleet, `(${dialect.prefix('f.device_id')} OR ${dialect.prefix('f.name')} OR ${dialect.prefix('f.hardware_id')})`, p, p, p);
    add(unenrolled, dialect.prefix('d.id'), p);
  }
  if (q.group !== undefined) (add(fleet, 'f.group_id = ?', q.group), (unenrolled.never = true));
  if (q.tag !== undefined) (add(fleet, dialect.tagContains, dialect.tagParam(q.tag)), (unenrolled.never = true));
  if (q.feature !== undefined) (add(fleet, dialect.featureTrue, dialect.featureParam(q.feature)), (unenrolled.never = true));
  if (q.version !== undefined) {
    add(fleet, 'COALESCE(d.agent_version, f.agent_version) = ?', q.version);
    add(unenrolled, 'd.agent_version = ?', q.version);
  }
  if (q.status !== undefined) {
    if ((DEVICE_STATUSES as readonly string[]).includes(q.status)) {
      add(fleet, 'd.status = ?', q.status);
      add(unenrolled, 'd.status = ?', q.status);
    } else {
      add(fleet, 'f.state = ?', q.status as FleetState);
      unenrolled.never = true;
    }
  }
  if (q.domains !== undefined) {
    // Hand-made logins belong to no group, so to no domain: a scoped operator does not see them.
    const g = domainGroups(q.domains);
    add(fleet, g.sql, ...g.params);
    unenrolled.never = true;
  }
  return { fleet, unenrolled };
}

const FLEET_FROM = 'fleet_devices f LEFT JOIN devices d ON d.id = f.device_id';
const UNENROLLED_FROM = 'devices d WHERE NOT EXISTS (SELECT 1 FROM fleet_devices f WHERE f.device_id = d.id)';

/** Each sort's key in each arm; the key is null where the arm has no value (sorted last both ways). */
const SORT_KEYS: Readonly<Record<InventorySort, { fleet: string; unenrolled: string; text: boolean }>> = {
  id: { fleet: 'f.device_id', unenrolled: 'd.id', text: true },
  // Names sort without regard to case (ASCII; PostgreSQL's lower() folds more). A router with a
  // hand-made login has no name: the dashboard shows its id, and it sorts by it.
  name: { fleet: 'lower(f.name)', unenrolled: 'lower(d.id)', text: true },
  group: { fleet: 'f.group_id', unenrolled: 'NULL', text: true },
  status: { fleet: 'd.status', unenrolled: 'd.status', text: true },
  lastSeen: { fleet: 'd.last_seen_ms', unenrolled: 'd.last_seen_ms', text: false },
  version: { fleet: 'COALESCE(d.agent_version, f.agent_version)', unenrolled: 'd.agent_version', text: true },
};

const whereOf = (arm: Arm, joiner: 'WHERE' | 'AND') => (arm.where.length ? ` ${joiner} ${arm.where.join(' AND ')}` : '');

export interface InventoryStatements {
  readonly page: { sql: string; params: unknown[] };
  readonly count: { sql: string; params: unknown[] };
}

export function inventoryStatements(q: InventoryQuery, dialect: InventoryDialect): InventoryStatements {
  checkInventoryQuery(q);
  const { fleet, unenrolled } = arms(q, dialect);
  const key = SORT_KEYS[q.sort];
  const fleetCols = FLEET_DEVICE_COLUMNS.map((c) => `f.${c}`).join(', ');
  const nullCols = FLEET_DEVICE_COLUMNS.map((c) => `NULL AS ${c}`).join(', ');
  const presence = 'd.status AS presence, d.status_at_ms AS presence_at_ms, d.last_seen_ms AS last_seen_ms';
  const fleetArm = `SELECT f.device_id AS inv_id, ${key.fleet} AS sort_key, ${fleetCols}, ${presence}, COALESCE(d.agent_version, f.agent_version) AS inv_version
    FROM ${FLEET_FROM}${whereOf(fleet, 'WHERE')}`;
  const unenrolledArm = `SELECT d.id AS inv_id, ${key.unenrolled} AS sort_key, ${nullCols}, ${presence}, d.agent_version AS inv_version
    FROM ${UNENROLLED_FROM}${whereOf(unenrolled, 'AND')}`;
  const union = unenrolled.never ? fleetArm : `${fleetArm} UNION ALL ${unenrolledArm}`;
  const dir = q.descending ? 'DESC' : 'ASC';
  const sortKey = key.text ? dialect.textOrder('sort_key') : 'sort_key';
  const page = {
    sql: `SELECT * FROM (${union}) inv ORDER BY ${sortKey} ${dir} NULLS LAST, ${dialect.textOrder('inv_id')} ${dir} LIMIT ? OFFSET ?`,
    params: [...fleet.params, ...(unenrolled.never ? [] : unenrolled.params), q.limit, q.offset],
  };
  const fleetCount = `(SELECT COUNT(*) FROM ${FLEET_FROM}${whereOf(fleet, 'WHERE')})`;
  const unenrolledCount = unenrolled.never ? '' : ` + (SELECT COUNT(*) FROM ${UNENROLLED_FROM}${whereOf(unenrolled, 'AND')})`;
  const count = { sql: `SELECT ${fleetCount}${unenrolledCount} AS total`, params: [...fleet.params, ...(unenrolled.never ? [] : unenrolled.params)] };
  return { page, count };
}

/** The counts by fleet state (and of hand-made logins), for all groups or those of some domains. */
export function countByStateStatements(domains: readonly string[] | undefined): { states: { sql: string; params: unknown[] }; unenrolled: { sql: string; params: unknown[] } | null } {
  if (domains === undefined) {
    return {
      states: { sql: 'SELECT state, COUNT(*) AS n FROM fleet_devices GROUP BY state', params: [] },
      unenrolled: { sql: `SELECT COUNT(*) AS n FROM ${UNENROLLED_FROM}`, params: [] },
    };
  }
  const g = domainGroups(domains);
  return { states: { sql: `SELECT f.state, COUNT(*) AS n FROM fleet_devices f WHERE ${g.sql} GROUP BY f.state`, params: g.params }, unenrolled: null };
}

/** `%` and `_` in a search are literal characters, escaped with `\` (the statements say ESCAPE '\'). */
export const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);
