/**
 * The operators' API for calls, the clearinghouse and EF over time: request schemas, response
 * types and routes, joined into `ROUTES` in ./api.ts (the server registers them, checks their
 * role, and the OpenAPI document and the role-matrix test are built from that one list).
 *
 * This module imports only types from ./api.ts: api.ts imports CALL_ROUTES from here, and a
 * value import back would make the two modules' start order matter.
 */
import { DEVICE_ID } from '../protocol/fields.ts';
import { obj, oneOf, optional, str, type Infer } from '../protocol/schema.ts';
import type { GateView, RouteSpec, SessionState, UsageView } from './api.ts';
import { queryInt } from './query.ts';

const callId = str({ min: 1, max: 256, pattern: /^[\x21-\x7e]+$/, format: 'call id (printable ASCII)' });
const domain = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'domain name' });
const deviceId = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'device id' });
/** Wall-clock milliseconds, up to the year 2286. */
const timeMs = queryInt({ min: 0, max: 9_999_999_999_999 });

/** live: a line is pending, active or ending; ended: every line is over (ended, failed or rejected). */
export const CALL_FILTERS = ['live', 'ended'] as const;
export type CallFilter = (typeof CALL_FILTERS)[number];

export const callsQuery = obj({
  state: optional(oneOf(CALL_FILTERS)),
  limit: optional(queryInt({ min: 1, max: 200 })),
});
export const callParams = obj({ callId });
export const deviceEfParams = obj({ id: deviceId });
/** A period [fromMs, toMs) of call ends; `domain` narrows to calls that domain asked for or answered. */
export const periodQuery = obj({
  fromMs: timeMs,
  toMs: timeMs,
  domain: optional(domain),
});

export type CallsQuery = Infer<typeof callsQuery>;
export type CallParams = Infer<typeof callParams>;
export type PeriodQuery = Infer<typeof periodQuery>;

// ---- calls ----------------------------------------------------------------------------------

/**
 * The call's clearinghouse authorization as the server keeps it: where it came from and its
 * transaction, never the token itself (it authorizes media; a page or log is no place for it).
 */
export interface AuthorizationView {
  readonly source: 'clearinghouse' | 'token';
  readonly transactionId: string;
  readonly authorizedAtMs: number;
  readonly maxDurationS: number;
  readonly releasedBy: 'caller' | 'callee' | 'network' | null;
  readonly sipStatus: number | null;
  /** The usage indication was sent to the clearinghouse and confirmed. */
  readonly usageConfirmedAtMs: number | null;
}

/** One router's view of the call's QoS: its gate states, in words, and their timings. */
export interface RouterState {
  readonly device: string;
  /** The least settled state over its gates of the call (installing before installed…). */
  readonly state: GateView['state'];
}

/** GET /calls: one row per call. */
export interface CallSummary {
  readonly callId: string;
  /** live while any line is pending, active or ending. */
  readonly live: boolean;
  /** The state of each line, by line number. */
  readonly lines: { readonly line: number; readonly state: SessionState }[];
  readonly routers: RouterState[];
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly endedAtMs: number | null;
  readonly authorization: { readonly source: 'clearinghouse' | 'token'; readonly transactionId: string } | null;
  /** The first line's failure or end reason, in words. */
  readonly reason: string | null;
}

/** One gate of the call at one router, with its timings and usage. */
export interface CallGate {
  readonly gate: GateView;
  /** When call control asked for the line (the gate was requested with it). */
  readonly requestedAtMs: number;
  /**
   * When the line's QoS was active: every gate of it confirmed installed by its router. The store
   * keeps one time per line for this, not one per gate; null while installing or when it failed.
   */
  readonly installedAtMs: number | null;
  /** installedAtMs - requestedAtMs. */
  readonly installMs: number | null;
  /** When the gate last changed state (removed, failed, or refreshed). */
  readonly stateAtMs: number;
  /** What the gate's error or the line's reason means, in words; null when nothing went wrong. */
  readonly reason: string | null;
  /** The router's last report for this gate (interim while live, final after hang-up). */
  readonly usage: UsageView | null;
}

/**
 * Loss between two routers of one line in one direction: packets the sending router counted
 * leaving (its gate's `up`) against those the receiving router counted arriving (its `down`).
 */
export interface BetweenRouters {
  readonly from: string;
  readonly to: string;
  readonly sent: number;
  readonly received: number;
  /** sent - received, never below 0 (a later interim report can count more arrivals than departures). */
  readonly lost: number;
  /** lost / sent in percent; null with nothing sent. */
  readonly lossPercent: number | null;
  /** Both reports are final (the call ended): the call's loss; otherwise live from interim reports. */
  readonly final: boolean;
  /** The older of the two reports: live figures are as of then. */
  readonly asOfMs: number;
}

export interface CallLine {
  readonly line: number;
  readonly state: SessionState;
  readonly reason: string | null;
  readonly client: string;
  readonly createdAtMs: number;
  readonly activeAtMs: number | null;
  readonly endedAtMs: number | null;
  /** Gates by router (device id), in the order the call's routers were located. */
  readonly routers: { readonly device: string; readonly gates: CallGate[] }[];
  /** Per direction, where two routers both count the line; empty otherwise. */
  readonly betweenRouters: BetweenRouters[];
}

/** GET /calls/:callId. */
export interface CallDetail {
  readonly callId: string;
  readonly live: boolean;
  readonly lines: CallLine[];
  readonly authorization: AuthorizationView | null;
}

// ---- EF over time ---------------------------------------------------------------------------

/** GET /devices/:id/ef: EF admitted per direction, one point per step (the most admitted within it). */
export interface DeviceEfSeries {
  readonly deviceId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly stepMs: number;
  /** Point i covers [fromMs + i*stepMs, fromMs + (i+1)*stepMs). */
  readonly up: number[];
  readonly down: number[];
  /** The link's EF budget per direction, when the router reported its link. */
  readonly budgetKbps: { readonly up: number; readonly down: number } | null;
}

// ---- clearinghouse --------------------------------------------------------------------------

/** One domain's usage in the period: the calls it asked for or answered, by the records the clearinghouse rated. */
export interface DomainUsage {
  readonly domain: string;
  readonly calls: number;
  readonly billableS: number;
  readonly packets: number;
  readonly bytes: number;
  /** What its own calls were rated at, per currency. */
  readonly amounts: { readonly currency: string; readonly amount: number }[];
}

export interface SettlementRow {
  readonly payer: string;
  readonly payee: string;
  readonly currency: string;
  readonly calls: number;
  readonly billableS: number;
  readonly amount: number;
}

/** GET /clearinghouse/settlement. */
export type ClearinghouseReport =
  | { readonly available: false; readonly hint: string }
  | {
      readonly available: true;
      readonly fromMs: number;
      readonly toMs: number;
      readonly records: number;
      readonly usage: DomainUsage[];
      readonly settlement: SettlementRow[];
    };

/** The CSV export's columns, one row per call detail record the clearinghouse holds. */
export const CDR_CSV_COLUMNS = [
  'transactionId', 'side', 'domain', 'destinationDomain', 'callId', 'caller', 'callee', 'startMs', 'connectMs', 'endMs', 'sipStatus', 'releasedBy', 'reason', 'codec',
  'serviceClass', 'durationS', 'billableS', 'amount', 'currency', 'packets', 'bytes', 'receivedAtMs',
] as const;

const p = '/api/v1';

export const CALL_ROUTES = [
  { name: 'listCalls', method: 'GET', path: `${p}/calls`, access: 'viewer', query: callsQuery, response: 'Rows<CallSummary>', summary: 'Live and recent calls, newest first: routers\' QoS state, authorization source and transaction' },
  { name: 'getCall', method: 'GET', path: `${p}/calls/:callId`, access: 'viewer', params: callParams, scoped: true, response: 'CallDetail', summary: 'One call: each router\'s gates with timings and reasons, usage, loss measured between the routers' },
  { name: 'getDeviceEf', method: 'GET', path: `${p}/devices/:id/ef`, access: 'viewer', params: deviceEfParams, scoped: true, response: 'DeviceEfSeries', summary: 'EF admitted on a router per direction over the last hour, from its gates\' records' },
  { name: 'getSettlement', method: 'GET', path: `${p}/clearinghouse/settlement`, access: 'viewer', query: periodQuery, response: 'ClearinghouseReport', summary: 'The clearinghouse\'s usage per domain and settlement for calls that ended in [fromMs, toMs)' },
  { name: 'exportCdrs', method: 'GET', path: `${p}/clearinghouse/cdrs.csv`, access: 'viewer', query: periodQuery, response: 'CSV', summary: 'The clearinghouse\'s call detail records of the period as CSV (RFC 4180)' },
] as const satisfies readonly RouteSpec[];
