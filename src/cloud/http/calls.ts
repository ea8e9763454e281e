/**
 * Handlers of the calls, EF-over-time and clearinghouse routes (src/core/fleet/api-calls.ts).
 * Domain scope as elsewhere: a call is visible when one of its gates is on a router the operator
 * sees (another domain's call answers 404); clearinghouse records when the operator's domain asked
 * for or answered the call.
 */
import type { CallDetail, CallParams, CallSummary, CallsQuery, ClearinghouseReport, DeviceEfSeries, PeriodQuery } from '../../core/fleet/api-calls.ts';
import type { RouteName, Rows } from '../../core/fleet/api.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import type { Cdr, ClearinghouseStore } from '../clearinghouse/store/types.ts';
import { RELEASED_GATE_STATES, type SessionRecord, type SessionState } from '../store/types.ts';
import { callDetail, callSummary, efHold, efSeries, isLive } from './call-views.ts';
import { callsOnce, cdrCsv, concerns, domainUsage, settlementRows } from './clearinghouse-report.ts';
import type { Call, HandlerDeps } from './handlers.ts';
import { RawReply } from './raw-reply.ts';

/** What an operator is told when the server was started without the clearinghouse's store. */
export const CLEARINGHOUSE_HINT =
  'The clearinghouse\'s records are not connected: start the server with --clearinghouse-store <url> (the URL the clearinghouse runs with: sqlite:<file> or postgres://…; read only).';

const LIVE: readonly SessionState[] = ['pending', 'active', 'ending'];
const ENDED: readonly SessionState[] = ['ended', 'failed', 'rejected'];
/** An EF series: the last hour, a point a minute. */
const EF_WINDOW_MS = 60 * 60_000;
const EF_POINTS = 60;

async function sessionsIn(d: HandlerDeps, states: readonly SessionState[] | undefined): Promise<SessionRecord[]> {
  if (states === undefined) return d.store.listSessions();
  return (await Promise.all(states.map((state) => d.store.listSessions({ state })))).flat();
}

async function listCalls(d: HandlerDeps, c: Call<unknown, CallsQuery>): Promise<Result<Rows<CallSummary>>> {
  const limit = c.query.limit ?? 50;
  const want = c.query.state;
  const lines = await sessionsIn(d, want === 'live' ? LIVE : want === 'ended' ? ENDED : undefined);
  const latest = new Map<string, number>();
  for (const l of lines) latest.set(l.callId, Math.max(latest.get(l.callId) ?? 0, l.updatedAtMs));
  const order = [...latest].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
  const rows: CallSummary[] = [];
  for (const callId of order) {
    if (rows.length >= limit) break;
    const call = await d.store.readCall(callId);
    if (call.lines.length === 0) continue;
    // A call with an ended line and a live one is live: listed under live only.
    if (want !== undefined && isLive(call.lines) !== (want === 'live')) continue;
    if (!(await visible(c, call.gates))) continue;
    rows.push(callSummary(callId, call.lines, call.gates, await d.store.getAuthorization(callId)));
  }
  return ok({ rows });
}

async function visible(c: Call, gates: readonly { device: string }[]): Promise<boolean> {
  return c.scope.all || (await c.scope.filter(gates, (g) => [g.device])).length > 0;
}

async function getCall(d: HandlerDeps, c: Call<unknown, unknown, CallParams>): Promise<Result<CallDetail>> {
  const { callId } = c.params;
  const call = await d.store.readCall(callId);
  if (call.lines.length === 0 || !(await visible(c, call.gates))) return fail({ code: 'E_NOT_FOUND', message: 'no such call', path: 'params.callId' });
  const [usage, auth] = await Promise.all([d.store.listUsage({ callId }), d.store.getAuthorization(callId)]);
  return ok(callDetail(callId, call.lines, call.gates, usage, auth));
}

/**
 * EF over time, computed from the device's gate records rather than sampled: a gate holds its
 * rate from its line's request until it is removed or fails (its last change). Reads the gates
 * that were held within the window; a stored, downsampled time series is the later step.
 */
async function getDeviceEf(d: HandlerDeps, c: Call<unknown, unknown, { id: string }>): Promise<Result<DeviceEfSeries>> {
  const id = c.params.id;
  const device = await d.store.getDevice(id);
  if (device === null || !(await c.scope.deviceVisible(id))) return fail({ code: 'E_NOT_FOUND', message: 'no such device', path: 'params.id' });
  const toMs = d.now();
  const fromMs = toMs - EF_WINDOW_MS;
  const gates = (await d.store.listGates({ device: id })).filter((g) => !RELEASED_GATE_STATES.includes(g.state) || g.updatedAtMs >= fromMs);
  const requested = new Map<string, number>();
  for (const callId of new Set(gates.map((g) => g.callId))) {
    for (const line of await d.store.listSessions({ callId })) requested.set(`${callId}\n${line.line}`, line.createdAtMs);
  }
  const holds = gates.map((g) => efHold(g, requested.get(`${g.callId}\n${g.line}`) ?? g.updatedAtMs));
  const link = device.link;
  const budget = link === null ? null : { up: (link.upKbps * link.efBudgetPercent) / 100, down: (link.downKbps * link.efBudgetPercent) / 100 };
  return ok({ ...efSeries(id, holds, fromMs, toMs, EF_POINTS), budgetKbps: budget });
}

function period(q: PeriodQuery): Result<{ fromMs: number; toMs: number }> {
  if (q.toMs <= q.fromMs) return fail({ code: 'E_INPUT', message: 'toMs must be after fromMs', path: 'query.toMs' });
  return ok({ fromMs: q.fromMs, toMs: q.toMs });
}

/** The period's records the caller may see: its domain's, narrowed to `domain` when asked. */
async function cdrsFor(ch: ClearinghouseStore, c: Call<unknown, PeriodQuery>, fromMs: number, toMs: number): Promise<Result<Cdr[]>> {
  let cdrs: Awaited<ReturnType<ClearinghouseStore['listCdrs']>>;
  try {
    cdrs = await ch.listCdrs({ endFromMs: fromMs, endToMs: toMs });
  } catch (error) {
    // Read only: a store the clearinghouse has not set up yet is not created from here.
    return fail({ code: 'E_STATE', message: `the clearinghouse store could not be read (has the clearinghouse run with it?): ${String(error)}` });
  }
  const scoped = c.scope.domain;
  const asked = c.query.domain;
  return ok(cdrs.filter((r) => (scoped === null || concerns(r, scoped)) && (asked === undefined || concerns(r, asked))));
}

const NOT_CONNECTED = (): Result<never> => fail({ code: 'E_STATE', message: CLEARINGHOUSE_HINT });

async function getSettlement(d: HandlerDeps, c: Call<unknown, PeriodQuery>): Promise<Result<ClearinghouseReport>> {
  const ch = d.clearinghouse ?? null;
  if (ch === null) return ok({ available: false, hint: CLEARINGHOUSE_HINT });
  const p = period(c.query);
  if (!p.ok) return p;
  const read = await cdrsFor(ch, c, p.value.fromMs, p.value.toMs);
  if (!read.ok) return read;
  const records = read.value;
  const calls = callsOnce(records);
  return ok({ available: true, ...p.value, records: records.length, usage: domainUsage(calls), settlement: settlementRows(calls, p.value.fromMs, p.value.toMs) });
}

async function exportCdrs(d: HandlerDeps, c: Call<unknown, PeriodQuery>): Promise<Result<RawReply>> {
  const ch = d.clearinghouse ?? null;
  if (ch === null) return NOT_CONNECTED();
  const p = period(c.query);
  if (!p.ok) return p;
  const read = await cdrsFor(ch, c, p.value.fromMs, p.value.toMs);
  if (!read.ok) return read;
  const records = read.value;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const name = `callqos-cdrs-${c.query.domain ?? c.scope.domain ?? 'all'}-${day(p.value.fromMs)}-${day(p.value.toMs)}.csv`;
  return ok(new RawReply('text/csv; charset=utf-8', name, cdrCsv(records)));
}

type Handler = (deps: HandlerDeps, call: Call<never, never, never>) => Promise<Result<unknown>>;

export const CALL_HANDLERS: Partial<Record<RouteName, Handler>> = { listCalls, getCall, getDeviceEf, getSettlement, exportCdrs };
