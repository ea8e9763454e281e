/**
 * The calls, EF-over-time and clearinghouse routes over real HTTP on a real SQLite store and a
 * real clearinghouse CDR store (fleet-rig.ts): a call's both routers with their gate states,
 * timings, usage and the loss measured between them (live from interim reports, then final); the
 * authorization without its token; EF per direction over time; usage and settlement per domain;
 * the CSV export against the store's rows; domain scope; bad input named by field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallDetail, CallSummary, ClearinghouseReport, DeviceEfSeries } from '../../../src/core/fleet/api-calls.ts';
import { CDR_CSV_COLUMNS } from '../../../src/core/fleet/api-calls.ts';
import type { Rows } from '../../../src/core/fleet/api.ts';
import { CDR_PERIOD, Client, SEEDED_CDRS, startRig, type Answer, type Rig } from './fleet-rig.ts';
import { parseCsv } from '../../support/csv.ts';

let rig: Rig;
const clients: Record<string, Client> = {};
const period = `fromMs=${CDR_PERIOD.fromMs}&toMs=${CDR_PERIOD.toMs}`;

const errorOf = (a: Answer) => (a.body as { error: { code: string; path?: string; message: string } }).error;

async function get<T>(who: string, path: string): Promise<T> {
  const a = await clients[who]!.send('GET', path);
  expect(a.status, JSON.stringify(a.body)).toBe(200);
  return a.body as T;
}

beforeAll(async () => {
  rig = await startRig();
  for (const name of ['viewer', 'admin', 'admin-a', 'viewer-a']) {
    const c = new Client(rig.base);
    expect((await c.login(name)).status).toBe(200);
    clients[name] = c;
  }
  await rig.store.putAuthorization({
    callId: 'call-ab', transactionId: 'tx-42', source: 'clearinghouse', token: 'SECRET-TOKEN-TEXT', maxDurationS: 3600, authorizedAtMs: Date.now(),
    release: null, usage: null, usageConfirmedAtMs: null,
  });
});
afterAll(() => rig.close());

describe('calls', () => {
  it('lists live calls with both routers\' states and the authorization, never the token', async () => {
    const a = await clients['viewer']!.send('GET', '/api/v1/calls?state=live');
    const { rows } = a.body as Rows<CallSummary>;
    const ab = rows.find((r) => r.callId === 'call-ab')!;
    expect(ab).toMatchObject({ live: true, lines: [{ line: 0, state: 'active' }], routers: [{ device: 'rt-a1', state: 'installed' }, { device: 'rt-b1', state: 'installed' }], authorization: { source: 'clearinghouse', transactionId: 'tx-42' } });
    expect(JSON.stringify(a.body)).not.toContain('SECRET-TOKEN-TEXT');
    expect(rows.map((r) => r.callId).sort()).toEqual(['call-ab', 'call-b']);
    expect((await get<Rows<CallSummary>>('viewer', '/api/v1/calls?state=ended')).rows).toEqual([]);
  });

  it('shows a call\'s gates per router with timings, usage and the loss measured between the routers, live then final', async () => {
    const live = await get<CallDetail>('viewer', '/api/v1/calls/call-ab');
    expect(JSON.stringify(live)).not.toContain('SECRET-TOKEN-TEXT');
    expect(live.authorization).toMatchObject({ source: 'clearinghouse', transactionId: 'tx-42', maxDurationS: 3600 });
    const line = live.lines[0]!;
    expect(line.routers.map((r) => r.device)).toEqual(['rt-a1', 'rt-b1']);
    const ga1 = line.routers[0]!.gates[0]!;
    expect(ga1).toMatchObject({ gate: { id: 'ga1', state: 'installed' }, installMs: 0, reason: null, usage: { up: { packets: 10 }, down: { packets: 9 }, ended: null } });
    expect(ga1.installedAtMs).toBe(ga1.requestedAtMs);
    // rt-a1's gate is both ways, rt-b1's up only: b -> a is counted at both ends, a -> b is not.
    expect(line.betweenRouters).toEqual([{ from: 'rt-b1', to: 'rt-a1', sent: 10, received: 9, lost: 1, lossPercent: 10, final: false, asOfMs: expect.any(Number) as number }]);

    const at = Date.now();
    await rig.store.recordUsage({ device: 'rt-b1', gateId: 'gb1', callId: 'call-ab', up: { packets: 500, bytes: 80_000 }, down: { packets: 0, bytes: 0 }, firstSeen: at, lastSeen: at, ended: 'removed', receivedAtMs: at });
    await rig.store.recordUsage({ device: 'rt-a1', gateId: 'ga1', callId: 'call-ab', up: { packets: 480, bytes: 76_800 }, down: { packets: 490, bytes: 78_400 }, firstSeen: at, lastSeen: at, ended: 'removed', receivedAtMs: at });
    const final = await get<CallDetail>('viewer', '/api/v1/calls/call-ab');
    expect(final.lines[0]!.betweenRouters).toEqual([{ from: 'rt-b1', to: 'rt-a1', sent: 500, received: 490, lost: 10, lossPercent: 2, final: true, asOfMs: at }]);
  });

  it('gives a failed gate\'s reason in words', async () => {
    await rig.store.updateGateState('gb2', { state: 'failed', error: 'E_DEADLINE: rt-b1 did not report in 5000 ms', atMs: Date.now() });
    const call = await get<CallDetail>('viewer', '/api/v1/calls/call-b');
    expect(call.lines[0]!.routers[0]!.gates[0]).toMatchObject({ installedAtMs: null, installMs: null, reason: 'the router did not confirm the install in time (E_DEADLINE: rt-b1 did not report in 5000 ms)' });
    expect((await get<Rows<CallSummary>>('viewer', '/api/v1/calls')).rows.find((r) => r.callId === 'call-b')!.routers).toEqual([{ device: 'rt-b1', state: 'failed' }]);
  });

  it('keeps to the operator\'s domain: dom-a sees the call across domains, not dom-b\'s own', async () => {
    const rows = (await get<Rows<CallSummary>>('viewer-a', '/api/v1/calls')).rows.map((r) => r.callId);
    expect(rows).toEqual(['call-ab']);
    const other = await clients['viewer-a']!.send('GET', '/api/v1/calls/call-b');
    expect(other.status).toBe(404);
    expect(errorOf(other)).toMatchObject({ code: 'E_NOT_FOUND', path: 'params.callId' });
  });

  it('names the field of bad input', async () => {
    for (const [path, field] of [
      ['/api/v1/calls?state=sleeping', 'query.state'],
      ['/api/v1/calls?limit=0', 'query.limit'],
      ['/api/v1/calls?limit=ten', 'query.limit'],
      [`/api/v1/calls/${encodeURIComponent('bad id')}`, 'params.callId'],
      ['/api/v1/devices/no%20such/ef', 'params.id'],
    ] as const) {
      const a = await clients['viewer']!.send('GET', path);
      expect(a.status, path).toBe(400);
      expect(errorOf(a).path, path).toBe(field);
    }
    const missing = await clients['viewer']!.send('GET', '/api/v1/calls/no-such-call');
    expect(missing.status).toBe(404);
  });
});

describe('EF per device over time', () => {
  it('is computed from the gates\' records: rt-a1 holds 100 kbit/s each way now', async () => {
    const s = await get<DeviceEfSeries>('viewer', '/api/v1/devices/rt-a1/ef');
    expect(s.up).toHaveLength(60);
    expect(s.stepMs).toBe(60_000);
    expect(s.up.at(-1)).toBe(100);
    expect(s.down.at(-1)).toBe(100);
    expect(s.budgetKbps).toEqual({ up: 3000, down: 15000 });
    // rt-b1's gates: gb1 up 80 installed, gb2 down 64 failed just now (held until then).
    const b = await get<DeviceEfSeries>('viewer', '/api/v1/devices/rt-b1/ef');
    expect(b.up.at(-1)).toBe(80);
    expect(b.down.at(-1)).toBe(64);
    expect((await clients['viewer-a']!.send('GET', '/api/v1/devices/rt-b1/ef')).status).toBe(404);
  });
});

describe('clearinghouse', () => {
  it('reports usage per domain and the settlement of the period, each call once', async () => {
    const r = await get<ClearinghouseReport>('viewer', `/api/v1/clearinghouse/settlement?${period}`);
    if (!r.available) throw new Error('the rig connects a clearinghouse store');
    expect(r.records).toBe(4);
    expect(r.settlement).toEqual([{ payer: 'dom-a', payee: 'dom-b', currency: 'EUR', calls: 2, billableS: 240, amount: 8 }]);
    expect(r.usage).toEqual([
      { domain: 'dom-a', calls: 2, billableS: 240, packets: 11_980, bytes: 1_916_800, amounts: [{ currency: 'EUR', amount: 8 }] },
      { domain: 'dom-b', calls: 3, billableS: 300, packets: 17_970, bytes: 2_875_200, amounts: [{ currency: 'EUR', amount: 2 }] },
    ]);
  });

  it('exports the period\'s records as CSV: a header, one row per stored record, RFC 4180 quoting, no formulas', async () => {
    const a = await clients['viewer']!.send('GET', `/api/v1/clearinghouse/cdrs.csv?${period}`);
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(a.headers.get('content-disposition')).toBe('attachment; filename="callqos-cdrs-all-2026-01-01-2026-02-01.csv"');
    const text = a.body as string;
    expect(text).toContain('"\'=HYPERLINK(""http://x.example"",""y"")"');
    expect(text).toContain('"busy, then ""gone"""');
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([...CDR_CSV_COLUMNS]);
    const stored = await rig.clearinghouse.listCdrs({ endFromMs: CDR_PERIOD.fromMs, endToMs: CDR_PERIOD.toMs });
    expect(rows).toHaveLength(stored.length);
    const unformula = (cell: string) => (/^'[=+\-@]/.test(cell) ? cell.slice(1) : cell);
    rows.forEach((row, i) => {
      const cdr = stored[i]!;
      const cell = (name: (typeof CDR_CSV_COLUMNS)[number]) => unformula(row[CDR_CSV_COLUMNS.indexOf(name)]!);
      expect([cell('transactionId'), cell('side'), cell('domain'), cell('caller'), cell('reason'), cell('codec'), cell('endMs'), cell('amount'), cell('packets')]).toEqual([
        cdr.transactionId, cdr.side, cdr.domain, cdr.caller, cdr.reason ?? '', cdr.codec ?? '', String(cdr.endMs), String(cdr.amount), String(cdr.flows.reduce((n, f) => n + f.packets, 0)),
      ]);
    });
    expect(rows.map((r) => r[0])).not.toContain('t-old');
    expect(SEEDED_CDRS.length - 1).toBe(rows.length);
  });

  it('keeps to the operator\'s domain and to the asked domain', async () => {
    const scoped = await get<ClearinghouseReport>('viewer-a', `/api/v1/clearinghouse/settlement?${period}`);
    expect(scoped.available && scoped.usage.map((u) => u.domain)).toEqual(['dom-a', 'dom-b']);
    expect(scoped.available && scoped.records).toBe(3);
    const csv = await clients['viewer-a']!.send('GET', `/api/v1/clearinghouse/cdrs.csv?${period}`);
    expect(parseCsv(csv.body as string).slice(1).map((r) => r[0])).toEqual(['t-ab', 't-ab', 't-ax']);
    expect(csv.headers.get('content-disposition')).toContain('callqos-cdrs-dom-a-');
    const bOnly = await get<ClearinghouseReport>('viewer', `/api/v1/clearinghouse/settlement?${period}&domain=dom-b`);
    expect(bOnly.available && bOnly.records).toBe(4);
  });

  it('names the field of a bad period, and says how to connect the store when there is none', async () => {
    for (const [query, field] of [
      [`toMs=${CDR_PERIOD.toMs}`, 'query.fromMs'],
      [`fromMs=yesterday&toMs=${CDR_PERIOD.toMs}`, 'query.fromMs'],
      [`fromMs=${CDR_PERIOD.toMs}&toMs=${CDR_PERIOD.fromMs}`, 'query.toMs'],
      [`${period}&domain=no%20spaces`, 'query.domain'],
    ] as const) {
      for (const route of ['settlement', 'cdrs.csv']) {
        const a = await clients['viewer']!.send('GET', `/api/v1/clearinghouse/${route}?${query}`);
        expect(a.status, `${route}?${query}`).toBe(400);
        expect(errorOf(a).path, `${route}?${query}`).toBe(field);
      }
    }
    const bare = await startRig({ seed: false, extra: { clearinghouse: null } });
    try {
      const c = new Client(bare.base);
      await bare.fleet.createOperator({ id: 'op-x', username: 'x', passwordHash: (await rig.fleet.getOperator('op-viewer'))!.passwordHash, role: 'viewer', domain: null, createdAtMs: 0, disabledAtMs: null });
      expect((await c.login('x')).status).toBe(200);
      const r = await c.send('GET', `/api/v1/clearinghouse/settlement?${period}`);
      expect(r.body).toEqual({ available: false, hint: expect.stringContaining('--clearinghouse-store') as string });
      const csv = await c.send('GET', `/api/v1/clearinghouse/cdrs.csv?${period}`);
      expect(csv.status).toBe(409);
      expect(errorOf(csv).message).toContain('--clearinghouse-store');
    } finally {
      await bare.close();
    }
  });
});
