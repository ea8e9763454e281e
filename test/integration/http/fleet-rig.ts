/**
 * A fleet HTTP API on a real SQLite store (in memory) with the real fleet store and operator
 * actions, listening on a loopback port, seeded with groups of two domains, routers, a call with
 * gates, usage and operators of each role; and a small client that keeps a session's cookie and
 * CSRF token.
 */
import { createFleetHttp, type FleetHttp, type FleetHttpOptions } from '../../../src/cloud/http/app.ts';
import { hashOperatorPassword } from '../../../src/cloud/http/passwords.ts';
import { configRig } from './config-seed.ts';
import { FleetActionsService } from '../../../src/cloud/fleet/actions-service.ts';
import { CommandService } from '../../../src/cloud/fleet/commands.ts';
import { Outbox } from '../../../src/cloud/server/outbox.ts';
import { openClearinghouseStore, type Cdr, type ClearinghouseStore } from '../../../src/cloud/clearinghouse/store/index.ts';
import { MemoryIdentities } from '../../../src/cloud/fleet/memory-fleet.test-support.ts';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import type { FleetDevice, FleetStore, Operator, Role } from '../../../src/cloud/fleet/store/types.ts';
import { openStore } from '../../../src/cloud/store/index.ts';
import type { Store } from '../../../src/cloud/store/types.ts';
import type { Logger } from '../../../src/core/log.ts';
import type { Gate } from '../../../src/core/protocol/messages/gates.ts';

export const PASSWORD = 'correct horse battery';

export const quietLog: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quietLog };

export interface Rig {
  readonly http: FleetHttp;
  readonly store: Store;
  readonly fleet: FleetStore;
  /** The clearinghouse's CDR store the server reads (seeded with SEEDED_CDRS). */
  readonly clearinghouse: ClearinghouseStore;
  readonly base: string;
  readonly setupUrl: string | null;
  readonly ended: string[];
  close(): Promise<void>;
}

export async function startRig(options: { seed?: boolean; extra?: Partial<FleetHttpOptions>; storeUrl?: string } = {}): Promise<Rig> {
  const store = await openStore(options.storeUrl ?? 'sqlite::memory:');
  await store.migrate();
  const fleet = openFleetStore(store);
  await fleet.migrate();
  const ended: string[] = [];
  const actions = new FleetActionsService({
    store: fleet,
    identities: new MemoryIdentities(),
    endDeviceGates: async (deviceId) => (ended.push(deviceId), 0),
    log: quietLog,
  });
  if (options.seed !== false) await seed(store, fleet);
  const clearinghouse = openClearinghouseStore('sqlite::memory:');
  await clearinghouse.migrate();
  for (const cdr of SEEDED_CDRS) await clearinghouse.insertCdr(cdr);
  // Remote commands through the real outbox; what it publishes is kept (no broker here).
  const published: { topic: string; text: string }[] = [];
  const outbox = new Outbox({ publish: (topic, text) => published.push({ topic, text }) }, quietLog, 'test-server', 1);
  const commands = new CommandService({ fleet, store, identities: new MemoryIdentities(), send: (device, body) => outbox.toDevice(device, 'command', body), log: quietLog });
  if (options.seed !== false) {
    // A finished command on a router of each domain.
    for (const [id, deviceId] of [['cmd-a1', 'rt-a1'], ['cmd-b1', 'rt-b1']] as const) {
      await fleet.commands.createCommand({
        id, deviceId, name: 'status', args: {}, state: 'succeeded', createdBy: 'operator:operator', createdAtMs: 1, deadlineMs: 60_001,
        sentAtMs: 2, finishedAtMs: 3, messageId: `seed:${id}`, error: null, data: { running: true },
      });
    }
  }
  const { config } = await configRig(store, fleet, quietLog, options.seed !== false);
  const http = createFleetHttp({ store, fleet, actions, log: quietLog, version: 'test', eventsPollMs: 50, heartbeatMs: 200, clearinghouse, commands, config, ...options.extra });
  const bound = await http.listen('127.0.0.1', 0);
  return {
    http, store, fleet, clearinghouse, ended, base: `http://127.0.0.1:${bound.port}`, setupUrl: bound.setupUrl,
    async close() {
      await http.close();
      await store.close();
      await clearinghouse.close();
    },
  };
}

/** Call detail records: a dom-a call to dom-b (both sides), one within dom-b, one with text a spreadsheet would run, and one outside the period. */
export const CDR_PERIOD = { fromMs: Date.UTC(2026, 0, 1), toMs: Date.UTC(2026, 1, 1) };
function cdr(transactionId: string, side: Cdr['side'], domain: string, destinationDomain: string | null, endMs: number, extra: Partial<Cdr> = {}): Cdr {
  return {
    transactionId, side, domain, destinationDomain, callId: `${transactionId}@test`, caller: 'sip:alice@a.example', callee: 'sip:bob@b.example',
    startMs: endMs - 70_000, connectMs: endMs - 65_000, endMs, sipStatus: 200, releasedBy: 'caller', reason: null, codec: 'PCMU',
    flows: [{ line: 0, direction: 'forward', packets: 3000, bytes: 480_000, lost: 2 }, { line: 0, direction: 'reverse', packets: 2990, bytes: 478_400, lost: null }],
    serviceClass: 'voice', durationS: 65, billableS: 120, amount: 4, currency: 'EUR', receivedAtMs: endMs + 1000, ...extra,
  };
}
export const SEEDED_CDRS: readonly Cdr[] = [
  cdr('t-ab', 'source', 'dom-a', 'dom-b', CDR_PERIOD.fromMs + 3_600_000),
  cdr('t-ab', 'destination', 'dom-b', 'dom-a', CDR_PERIOD.fromMs + 3_600_000),
  cdr('t-bb', 'source', 'dom-b', null, CDR_PERIOD.fromMs + 7_200_000, { amount: 2, billableS: 60 }),
  cdr('t-ax', 'source', 'dom-a', 'dom-b', CDR_PERIOD.fromMs + 10_800_000, { caller: '=HYPERLINK("http://x.example","y")', reason: 'busy, then "gone"', codec: '+cmd', sipStatus: 486 }),
  cdr('t-old', 'source', 'dom-a', 'dom-b', CDR_PERIOD.fromMs - 1),
];

export const OPERATORS: Record<string, { role: Role; domain: string | null }> = {
  admin: { role: 'admin', domain: null },
  operator: { role: 'operator', domain: null },
  viewer: { role: 'viewer', domain: null },
  'admin-a': { role: 'admin', domain: 'dom-a' },
  'viewer-a': { role: 'viewer', domain: 'dom-a' },
  spare: { role: 'viewer', domain: null },
  'spare-b': { role: 'viewer', domain: 'dom-b' },
};

export function fleetDevice(deviceId: string, group: string, state: FleetDevice['state']): FleetDevice {
  return {
    deviceId, hardwareId: `hw-${deviceId}`, group, name: deviceId, tags: [], site: null, state, stateReason: null, keyId: 'seedkey1', hostname: null,
    hardware: { model: 'Test Router', boardName: 'test,router', release: '23.05.3', target: 'x86/64', kernel: '5.15.150' },
    versions: { agent: '0.1.0', quickjs: '2021-03-27' },
    features: { cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '1.0.6' },
    sourceAddress: null, requestedAtMs: 1000, enrolledAtMs: state === 'accepted' ? 2000 : null, updatedAtMs: 2000, enrolments: 1,
  };
}

function gate(id: string, direction: Gate['direction'], rateKbps: number): Gate {
  return { id, direction, lan: { address: '192.168.1.10', port: 4000 }, remote: { address: '203.0.113.5', port: 5000 }, dscp: 46, rateKbps, lifetimeS: 600 };
}

async function seed(store: Store, fleet: FleetStore): Promise<void> {
  const at = Date.now();
  for (const [id, domain] of [['g-a', 'dom-a'], ['g-b', 'dom-b'], ['g-open', null]] as const) {
    await fleet.putGroup({ id, name: id, domain, enrolPolicy: 'approve', reenrolPolicy: 'hold', createdAtMs: at });
  }
  // Each domain: routers pending, accepted (online), and spare ones for the actions each role may run.
  for (const [id, group, state] of [
    ['rt-a1', 'g-a', 'accepted'], ['rt-a-pend', 'g-a', 'pending'], ['rt-a-rej', 'g-a', 'pending'], ['rt-a-rev', 'g-a', 'accepted'],
    ['rt-b1', 'g-b', 'accepted'], ['rt-b-pend', 'g-b', 'pending'], ['rt-open', 'g-open', 'accepted'],
  ] as const) {
    await fleet.putFleetDevice(fleetDevice(id, group, state));
  }
  const open = (id: string) => ({
    id, bootSession: 1, agentVersion: '0.1.0', board: { model: 'Test Router', name: 'test,router', release: '23.05.3', target: 'x86/64' },
    capabilities: { queues: ['htb' as const], ipv6: true, maxGates: 64 }, link: { upKbps: 10000, downKbps: 50000, efBudgetPercent: 30 }, keepaliveS: 30, atMs: at,
  });
  for (const id of ['rt-a1', 'rt-b1', 'rt-open']) await store.upsertDeviceOpen(open(id));
  await store.putInterfaces('rt-a1', 1, [{ name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [{ address: '192.168.1.1', prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] }], at);
  // A call between rt-a1 and rt-b1, and one on rt-b1 only.
  await store.transaction(async (tx) => {
    const line = (callId: string, state: 'active' | 'pending', gateIds: string[]) => ({
      callId, line: 0, client: 'test', state, spec: { callId }, reason: null, gateIds, createdAtMs: at, updatedAtMs: at, deadlineMs: null, activeAtMs: state === 'active' ? at : null, endedAtMs: null,
    });
    await tx.insertSession(line('call-ab', 'active', ['ga1', 'gb1']));
    await tx.insertSession(line('call-b', 'pending', ['gb2']));
    const rec = (g: Gate, device: string, callId: string) => ({ id: g.id, device, callId, line: 0, gate: g, hash: `h-${g.id}`, direction: g.direction, rateKbps: g.rateKbps, state: 'installed' as const, updatedAtMs: at, error: null });
    await tx.insertGates([rec(gate('ga1', 'both', 100), 'rt-a1', 'call-ab'), rec(gate('gb1', 'up', 80), 'rt-b1', 'call-ab'), rec(gate('gb2', 'down', 64), 'rt-b1', 'call-b')]);
  });
  for (const device of ['rt-a1', 'rt-b1']) {
    await store.recordUsage({ device, gateId: device === 'rt-a1' ? 'ga1' : 'gb1', callId: 'call-ab', up: { packets: 10, bytes: 2000 }, down: { packets: 9, bytes: 1800 }, firstSeen: at, lastSeen: at, ended: null, receivedAtMs: at });
  }
  await fleet.createKey({ id: 'keyaaaa1', group: 'g-a', label: 'a', secretHash: '0'.repeat(64), createdAtMs: at, createdBy: 'cli', expiresAtMs: null, revokedAtMs: null, uses: 0, lastUsedAtMs: null });
  await fleet.createKey({ id: 'keybbbb1', group: 'g-b', label: 'b', secretHash: '1'.repeat(64), createdAtMs: at, createdBy: 'cli', expiresAtMs: null, revokedAtMs: null, uses: 0, lastUsedAtMs: null });
  // One hash for all: scrypt is slow on purpose.
  const hash = await hashOperatorPassword(PASSWORD);
  for (const [username, o] of Object.entries(OPERATORS)) {
    const operator: Operator = { id: `op-${username}`, username, passwordHash: hash, role: o.role, domain: o.domain, createdAtMs: at, disabledAtMs: null };
    await fleet.createOperator(operator);
  }
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

/** A browser-like client: keeps the session cookie, sends the CSRF token on state changes unless told not to. */
export class Client {
  cookie: string | null = null;
  csrf: string | null = null;

  constructor(readonly base: string) {}

  async login(username: string, password = PASSWORD): Promise<Answer> {
    const a = await this.send('POST', '/api/v1/auth/login', { body: { username, password } });
    if (a.status === 200) {
      this.cookie = (a.headers.get('set-cookie') ?? '').split(';')[0] ?? null;
      this.csrf = (a.body as { csrfToken: string }).csrfToken;
    }
    return a;
  }

  async send(method: string, path: string, options: { body?: unknown; csrf?: boolean; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookie !== null) headers['cookie'] = this.cookie;
    if (method !== 'GET' && options.csrf !== false && this.csrf !== null) headers['x-csrf-token'] = this.csrf;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
    return { status: res.status, body: parsed, headers: res.headers };
  }
}
