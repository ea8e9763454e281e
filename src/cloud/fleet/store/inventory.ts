/**
 * The inventory statement, built once for both backends: the fleet's records and the server's
 * `devices` joined both ways, so that a router with a hand-made login (a `devices` row, no fleet
 * record) and a router enrolled but never connected (a fleet record, no `devices` row) both show.
 *
 * It is written as arms joined by UNION ALL rather than one FULL OUTER JOIN (see `arms` below):
 * each arm gets only the filters that can match it (a group, tag, feature, fleet state or domain
 * filter leaves out the hand-made logins altogether), each filter lands on an indexed column of
 * the arm's driving table, and each arm is sorted and cut to offset + limit on its own before the
 * merge, so that a page of an unfiltered inventory comes from indexes instead of a sort of every
 * router. The page statement returns ids only; the rows are then read by key. The count sums the
 * fleet's records and the hand-made logins (two statements' worth of index scans).
 *
 * The version filter and the version sort are the exceptions: "the version it runs" is the
 * server's (its last open) or else the enrolled one, a COALESCE over two tables that no index
 * serves, so they read every candidate row.
 *
 * Every value is a parameter (`?` here; the PostgreSQL store numbers them): filter values never
 * become SQL text, and the few names that do (sort keys, feature names) are checked against fixed
 * lists first.
 */
import { DEVICE_STATUSES } from '../../store/types.ts';
import { storeError } from '../../store/rows.ts';
import { FLEET_DEVICE_COLUMNS, fleetDeviceOf, presenceOf } from './rows.ts';
import type { Row } from './rows.ts';
import type { FleetState, InventoryQuery, InventoryRow, InventorySort } from './types.ts';
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

/**
 * The three kinds of router, each an arm of the page's UNION ALL, and the fleet's records as one
 * (for the count, which needs no split by connection):
 *
 *   connected: enrolled and known to the server   devices d JOIN fleet_devices f
 *   waiting:   enrolled, never connected           fleet_devices f, no devices row
 *   handmade:  a login made by hand                devices d, no fleet record
 *   fleet:     connected + waiting                 fleet_devices f LEFT JOIN devices d (joined only when a filter reads d)
 */
type ArmName = 'connected' | 'waiting' | 'handmade' | 'fleet';
const ARM_NAMES: readonly ArmName[] = ['connected', 'waiting', 'handmade', 'fleet'];

function arms(q: InventoryQuery, dialect: InventoryDialect): { arms: Record<ArmName, Arm>; fleetReadsDevices: boolean } {
  const all = Object.fromEntries(ARM_NAMES.map((n) => [n, { where: [], params: [], never: false }])) as unknown as Record<ArmName, Arm>;
  let fleetReadsDevices = false;
  /** One filter: its condition in each arm that can match it; the arms left out cannot. */
  const filter = (conditions: Partial<Record<ArmName, [string, ...unknown[]]>>) => {
    for (const name of ARM_NAMES) {
      const c = conditions[name];
      if (!c) all[name].never = true;
      else (all[name].where.push(c[0]), all[name].params.push(...c.slice(1)));
    }
  };
  const onFleet = (sql: string, ...params: unknown[]): Partial<Record<ArmName, [string, ...unknown[]]>> => ({
    connected: [sql, ...params], waiting: [sql, ...params], fleet: [sql, ...params],
  });
  if (q.search !== undefined && q.search !== '') {
    const p = dialect.prefixPattern(q.search);
    const f = `(${dialect.prefix('f.device_id')} OR ${dialect.prefix('f.name')} OR ${dialect.prefix('f.hardware_id')})`;
    filter({ ...onFleet(f, p, p, p), handmade: [dialect.prefix('d.id'), p] });
  }
  if (q.group !== undefined) filter(onFleet('f.group_id = ?', q.group));
  if (q.tag !== undefined) filter(onFleet(dialect.tagContains, dialect.tagParam(q.tag)));
  if (q.feature !== undefined) filter(onFleet(dialect.featureTrue, dialect.featureParam(q.feature)));
  if (q.version !== undefined) {
    // The version it runs as the server last heard (its open), else the one it enrolled with.
    const v = q.version;
    filter({ connected: ['COALESCE(d.agent_version, f.agent_version) = ?', v], waiting: ['f.agent_version = ?', v], handmade: ['d.agent_version = ?', v], fleet: ['COALESCE(d.agent_version, f.agent_version) = ?', v] });
    fleetReadsDevices = true;
  }
  if (q.status !== undefined) {
    if ((DEVICE_STATUSES as readonly string[]).includes(q.status)) {
      filter({ connected: ['d.status = ?', q.status], handmade: ['d.status = ?', q.status], fleet: ['d.status = ?', q.status] });
      fleetReadsDevices = true;
    } else {
      filter(onFleet('f.state = ?', q.status as FleetState));
    }
  }
  if (q.domains !== undefined) {
    // Hand-made logins belong to no group, so to no domain: a scoped operator does not see them.
    const g = domainGroups(q.domains);
    filter(onFleet(g.sql, ...g.params));
  }
  return { arms: all, fleetReadsDevices };
}

const FROM: Readonly<Record<ArmName, string>> = {
  connected: 'devices d JOIN fleet_devices f ON f.device_id = d.id',
  waiting: 'fleet_devices f WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = f.device_id)',
  handmade: 'devices d WHERE NOT EXISTS (SELECT 1 FROM fleet_devices f WHERE f.device_id = d.id)',
  fleet: 'fleet_devices f LEFT JOIN devices d ON d.id = f.device_id',
};
/** Whether the arm's FROM already has a WHERE (the next condition joins with AND). */
const HAS_WHERE: Readonly<Record<ArmName, boolean>> = { connected: false, waiting: true, handmade: true, fleet: false };

/**
 * Each sort's key in each page arm (null where the arm has no value: sorted last both ways), and
 * the id the arm ties with: in `connected`, d.id when the key is a devices column, so that an
 * index of devices (key, id) gives the arm's order without a sort.
 */
const SORT_KEYS: Readonly<Record<InventorySort, { connected: string; waiting: string; handmade: string; text: boolean; connectedId: string }>> = {
  id: { connected: 'f.device_id', waiting: 'f.device_id', handmade: 'd.id', text: true, connectedId: 'f.device_id' },
  // Names sort without regard to case (ASCII; PostgreSQL's lower() folds more). A router with a
  // hand-made login has no name: the dashboard shows its id, and it sorts by it.
  name: { connected: 'lower(f.name)', waiting: 'lower(f.name)', handmade: 'lower(d.id)', text: true, connectedId: 'f.device_id' },
  group: { connected: 'f.group_id', waiting: 'f.group_id', handmade: 'NULL', text: true, connectedId: 'f.device_id' },
  status: { connected: 'd.status', waiting: 'NULL', handmade: 'd.status', text: true, connectedId: 'd.id' },
  lastSeen: { connected: 'd.last_seen_ms', waiting: 'CAST(NULL AS BIGINT)', handmade: 'd.last_seen_ms', text: false, connectedId: 'd.id' },
  version: { connected: 'COALESCE(d.agent_version, f.agent_version)', waiting: 'f.agent_version', handmade: 'd.agent_version', text: true, connectedId: 'd.id' },
};

const whereOf = (name: ArmName, arm: Arm) => (arm.where.length ? ` ${HAS_WHERE[name] ? 'AND' : 'WHERE'} ${arm.where.join(' AND ')}` : '');

export interface Statement {
  readonly sql: string;
  readonly params: unknown[];
}

export interface InventoryStatements {
  /** The page's ids in order (columns inv_id, arm); inventoryRowStatements then reads their rows. */
  readonly page: Statement;
  readonly count: Statement;
}

export function inventoryStatements(q: InventoryQuery, dialect: InventoryDialect): InventoryStatements {
  checkInventoryQuery(q);
  const { arms: a, fleetReadsDevices } = arms(q, dialect);
  const key = SORT_KEYS[q.sort];
  // Byte-wise text order is applied inside each arm: PostgreSQL orders a UNION by output columns only.
  const sortKey = (expr: string) => (key.text && expr !== 'NULL' ? dialect.textOrder(expr) : expr);
  const pageArms = (['connected', 'waiting', 'handmade'] as const).filter((n) => !a[n].never);
  const dir = q.descending ? 'DESC' : 'ASC';
  const order = `ORDER BY sort_key ${dir} NULLS LAST, inv_id ${dir}`;
  // Each arm sorted and cut to offset + limit on its own, then merged: an arm's order comes from an
  // index and stops early (PostgreSQL plans a sorted UNION of joins as one big sort otherwise). An
  // arm orders by NULLS LAST only where its key can be null: the clause is not an index's order.
  const armOrder = (n: 'connected' | 'waiting' | 'handmade') =>
    key[n].startsWith('NULL') || key[n].startsWith('CAST(NULL') ? `ORDER BY inv_id ${dir}`
    : n === 'handmade' && q.sort === 'version' ? order
    : `ORDER BY sort_key ${dir}, inv_id ${dir}`;
  const selects = pageArms.map((n, i) => {
    const id = n === 'connected' ? key.connectedId : n === 'waiting' ? 'f.device_id' : 'd.id';
    return `SELECT * FROM (SELECT ${dialect.textOrder(id)} AS inv_id, ${sortKey(key[n])} AS sort_key, '${n}' AS arm FROM ${FROM[n]}${whereOf(n, a[n])} ${armOrder(n)} LIMIT ?) a${i}`;
  });
  const params = pageArms.flatMap((n) => [...a[n].params, q.offset + q.limit]);
  const page = selects.length === 0
    ? { sql: 'SELECT NULL AS inv_id, NULL AS arm WHERE 1 = 0', params: [] }
    : { sql: `${selects.join(' UNION ALL ')} ${order} LIMIT ? OFFSET ?`, params: [...params, q.limit, q.offset] };

  const fleetFrom = fleetReadsDevices ? FROM.fleet : 'fleet_devices f';
  const counts: string[] = [];
  const countParams: unknown[] = [];
  if (!a.fleet.never) (counts.push(`(SELECT COUNT(*) FROM ${fleetFrom}${whereOf('fleet', a.fleet)})`), countParams.push(...a.fleet.params));
  if (!a.handmade.never) (counts.push(`(SELECT COUNT(*) FROM ${FROM.handmade}${whereOf('handmade', a.handmade)})`), countParams.push(...a.handmade.params));
  const count = { sql: `SELECT ${counts.length ? counts.join(' + ') : '0'} AS total`, params: countParams };
  return { page, count };
}

/** The rows of a page's ids, in two reads by primary key (the enrolled ones and the hand-made ones). */
export function inventoryRowStatements(enrolled: readonly string[], handmade: readonly string[]): { enrolled: Statement | null; handmade: Statement | null } {
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  const fleetCols = FLEET_DEVICE_COLUMNS.map((c) => `f.${c}`).join(', ');
  const presence = 'd.status AS presence, d.status_at_ms AS presence_at_ms, d.last_seen_ms AS last_seen_ms';
  return {
    enrolled: enrolled.length === 0 ? null : {
      sql: `SELECT f.device_id AS inv_id, ${fleetCols}, ${presence}, COALESCE(d.agent_version, f.agent_version) AS inv_version
            FROM fleet_devices f LEFT JOIN devices d ON d.id = f.device_id WHERE f.device_id IN (${marks(enrolled.length)})`,
      params: [...enrolled],
    },
    handmade: handmade.length === 0 ? null : {
      sql: `SELECT d.id AS inv_id, NULL AS device_id, ${presence}, d.agent_version AS inv_version FROM devices d WHERE d.id IN (${marks(handmade.length)})`,
      params: [...handmade],
    },
  };
}

/** The page's ids split by where their rows are read from. */
export function pageIds(order: readonly Row[]): { enrolled: string[]; handmade: string[] } {
  const enrolled = order.filter((r) => r.arm !== 'handmade').map((r) => String(r.inv_id));
  const handmade = order.filter((r) => r.arm === 'handmade').map((r) => String(r.inv_id));
  return { enrolled, handmade };
}

/** The page's rows in the page's order. */
export function inventoryRows(order: readonly Row[], rows: readonly Row[]): InventoryRow[] {
  const byId = new Map(rows.map((r) => [String(r.inv_id), r]));
  return order.flatMap((o) => {
    const r = byId.get(String(o.inv_id));
    return r ? [{ deviceId: String(r.inv_id), fleet: r.device_id === null ? null : fleetDeviceOf(r), ...presenceOf(r) }] : [];
  });
}

/** The counts by fleet state (and of hand-made logins), for all groups or those of some domains. */
export function countByStateStatements(domains: readonly string[] | undefined): { states: { sql: string; params: unknown[] }; unenrolled: { sql: string; params: unknown[] } | null } {
  if (domains === undefined) {
    return {
      states: { sql: 'SELECT state, COUNT(*) AS n FROM fleet_devices GROUP BY state', params: [] },
      unenrolled: { sql: `SELECT COUNT(*) AS n FROM ${FROM.handmade}`, params: [] },
    };
  }
  const g = domainGroups(domains);
  return { states: { sql: `SELECT f.state, COUNT(*) AS n FROM fleet_devices f WHERE ${g.sql} GROUP BY f.state`, params: g.params }, unenrolled: null };
}

/** `%` and `_` in a search are literal characters, escaped with `\` (the statements say ESCAPE '\'). */
export const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);
