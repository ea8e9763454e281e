/**
 * The session state machine as a table (session-machine.ts), each row driven through the real
 * session manager: an in-memory SQLite store, two routers known from their interface reports,
 * a clock the test moves, and the routers' reports played by calling the manager as the device
 * link does. Each row starts from a fresh line brought to its `from` state by a fixed path of
 * events, applies its event, and checks the line's state and the decisions sent.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { decodeMessage } from '../../core/protocol/envelope.ts';
import type { MessageOf } from '../../core/protocol/envelope.ts';
import type { SessionAddBody } from '../../core/protocol/messages/cc.ts';
import type { InterfaceEntry } from '../../core/protocol/messages/interfaces.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { Outbox } from './outbox.ts';
import { admissionCheck, controlPlanner } from './planner.ts';
import { RouterIndex } from './router-index.ts';
import { renderTransitionTable, SESSION_EVENTS, SESSION_TRANSITIONS } from './session-machine.ts';
import type { DecisionType, LineState, SessionEvent } from './session-machine.ts';
import { SessionManager } from './sessions.ts';

const DECISION_DEADLINE_MS = 2_000;
const REMOVAL_DEADLINE_MS = 5_000;
const CALL = 'machine@test';

function interfaces(lan4: string, wan4: string): InterfaceEntry[] {
  return [
    { name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [{ address: lan4, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] },
    { name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [{ address: wan4, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] },
  ];
}

/** Phone A behind router A, phone B behind router B; `kbps` sets a codec rate (b=AS) to exceed a budget. */
function request(port: number, { kbps, removed = false }: { kbps?: number; removed?: boolean } = {}): SessionAddBody {
  return {
    callId: CALL,
    caller: { source: '203.0.113.1' },
    callee: { source: '198.51.100.1' },
    media: [{
      line: 0,
      type: 'audio',
      direction: 'sendrecv',
      offer: { address: '192.168.1.20', port },
      answer: { address: '198.18.20.20', port: removed ? 0 : port + 1000 },
      codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20, ...(kbps === undefined ? {} : { bandwidthKbps: kbps }) },
    }],
  };
}

class Bench {
  clock = 1_800_000_000_000;
  readonly sent: { topic: string; text: string }[] = [];
  store!: Store;
  manager!: SessionManager;
  readonly config: { decisionDeadlineMs: number; removalDeadlineMs: number; offlinePolicy: 'fail' | 'wait'; gateLifetimeS: number } = {
    decisionDeadlineMs: DECISION_DEADLINE_MS, removalDeadlineMs: REMOVAL_DEADLINE_MS, offlinePolicy: 'fail', gateLifetimeS: 3600,
  };

  async start(): Promise<void> {
    this.store = await openStore('sqlite::memory:');
    await this.store.migrate();
    const now = () => this.clock;
    const log = createLogger(() => {}, 'error');
    const outbox = new Outbox({ publish: (topic, text) => this.sent.push({ topic, text }) }, log, 'srv-1', 1, now);
    const index = new RouterIndex(this.store, log, now);
    this.manager = new SessionManager({
      store: this.store,
      outbox,
      planner: controlPlanner(),
      admit: admissionCheck,
      locator: () => index.current(),
      publishDesired: async () => {},
      config: this.config,
      log,
      now,
    });
    for (const [id, lan, wan] of [['rtA', '192.168.1.1', '203.0.113.1'], ['rtB', '198.18.20.1', '198.51.100.1']] as const) {
      await this.store.upsertDeviceOpen({
        id, bootSession: 1, agentVersion: 'test', atMs: this.clock, keepaliveS: 30,
        board: { model: 'test', name: 'test', release: 'test', target: 'test' },
        capabilities: { queues: ['htb'], ipv6: true, maxGates: 4096 },
        link: { upKbps: 10_000, downKbps: 10_000, efBudgetPercent: 30 },
      });
      await this.store.putInterfaces(id, 1, interfaces(lan, wan), this.clock);
    }
    // As the device link does after storing a report.
    await index.refresh();
  }

  async lineState(): Promise<LineState> {
    return (await this.store.getSession(CALL, 0))?.state ?? 'new';
  }

  /** Gate ids of the call in one state, by router. */
  async gatesIn(state: 'installing' | 'removing'): Promise<Map<string, string[]>> {
    const byDevice = new Map<string, string[]>();
    for (const g of await this.store.listGates({ callId: CALL, state })) (byDevice.get(g.device) ?? byDevice.set(g.device, []).get(g.device)!).push(g.id);
    return byDevice;
  }

  decisionsSince(mark: number): DecisionType[] {
    const types = new Set<DecisionType>();
    for (const { topic, text } of this.sent.slice(mark)) {
      if (!topic.endsWith('/down')) continue;
      const m = decodeMessage(text);
      if (m.ok && m.value.type.startsWith('decision.')) types.add(m.value.type as DecisionType);
    }
    return [...types].sort();
  }
}

const EVENTS: Record<SessionEvent, (b: Bench) => Promise<unknown>> = {
  request: (b) => b.manager.add('cc', request(40000)),
  'request-refused': (b) => b.manager.add('cc', request(40000, { kbps: 50_000 })),
  'request-no-stream': (b) => b.manager.add('cc', request(40000, { removed: true })),
  'same-request': (b) => b.manager.add('cc', request(40000)),
  'all-installed': async (b) => {
    for (const [device, ids] of await b.gatesIn('installing')) await b.manager.installed(device, ids);
  },
  'one-installed': async (b) => {
    const ids = (await b.gatesIn('installing')).get('rtA') ?? [];
    expect(ids.length).toBeGreaterThan(0);
    await b.manager.installed('rtA', ids);
  },
  'install-failed': async (b) => {
    const ids = (await b.gatesIn('installing')).get('rtB') ?? [];
    expect(ids.length).toBeGreaterThan(0);
    await b.manager.failed('rtB', ids.map((id) => ({ id, code: 'E_NFT', message: 'nft refused the batch' })));
  },
  'install-deadline': async (b) => {
    b.clock += DECISION_DEADLINE_MS + 1;
    await b.manager.sweep();
  },
  'deadline-router-offline': async (b) => {
    b.config.offlinePolicy = 'wait';
    await b.store.setDeviceStatus('rtB', 'offline', b.clock);
    await b.manager.installed('rtA', (await b.gatesIn('installing')).get('rtA') ?? []);
    b.clock += DECISION_DEADLINE_MS + 1;
    await b.manager.sweep();
    expect((await b.store.getSession(CALL, 0))?.reason).toBe('E_ROUTER_OFFLINE: waiting for offline router rtB');
  },
  'router-offline': async (b) => {
    await b.store.setDeviceStatus('rtB', 'offline', b.clock);
    await b.manager.offline('rtB');
  },
  'gate-lost': async (b) => {
    const gate = (await b.store.listGates({ callId: CALL, device: 'rtB' }))[0];
    expect(gate).toBeDefined();
    await b.manager.deleted('rtB', { body: { gates: [gate!.id], reason: 'expired' } } as MessageOf<'delete'>);
  },
  'media-changed': (b) => b.manager.modify('cc', request(40100)),
  'media-change-refused': (b) => b.manager.modify('cc', request(40000, { kbps: 50_000 })),
  'stream-removed': (b) => b.manager.modify('cc', request(40000, { removed: true })),
  delete: (b) => b.manager.remove('cc', { callId: CALL }),
  'all-removed': async (b) => {
    for (const [device, ids] of await b.gatesIn('removing')) await b.manager.installed(device, ids);
  },
  'removal-deadline': async (b) => {
    b.clock += REMOVAL_DEADLINE_MS + 1;
    await b.manager.sweep();
  },
};

/** How a fresh line reaches each state. */
const PATHS: Record<LineState, SessionEvent[]> = {
  new: [],
  pending: ['request'],
  active: ['request', 'all-installed'],
  ending: ['request', 'all-installed', 'delete'],
  ended: ['request', 'all-installed', 'delete', 'all-removed'],
  failed: ['request', 'install-failed'],
  rejected: ['request-refused'],
};

describe('session state machine', () => {
  let bench: Bench | null = null;
  afterEach(async () => {
    await bench?.store.close();
    bench = null;
  });

  for (const row of SESSION_TRANSITIONS) {
    it(`${row.from} --${row.event}--> ${row.to}`, async () => {
      bench = new Bench();
      await bench.start();
      for (const step of PATHS[row.from]) await EVENTS[step](bench);
      expect(await bench.lineState()).toBe(row.from);
      const mark = bench.sent.length;
      await EVENTS[row.event](bench);
      expect(await bench.lineState()).toBe(row.to);
      expect(bench.decisionsSince(mark)).toEqual([...row.sends].sort());
    });
  }

  it('renews the lifetime of gates installed for half of it, once, without changing the line', async () => {
    bench = new Bench();
    await bench.start();
    for (const step of PATHS.active) await EVENTS[step](bench);
    expect(await bench.manager.refreshGates()).toBe(0);
    bench.clock += (bench.config.gateLifetimeS * 1000) / 2 + 1;
    const mark = bench.sent.length;
    expect(await bench.manager.refreshGates()).toBe(2);
    const modifies = bench.sent.slice(mark).map(({ topic, text }) => ({ topic, m: decodeMessage(text) }));
    expect(modifies.map(({ topic, m }) => [topic, m.ok ? m.value.type : m.error.message])).toEqual([
      ['callqos/v1/dev/rtA/down', 'decision.modify'],
      ['callqos/v1/dev/rtB/down', 'decision.modify'],
    ]);
    const stored = await bench.store.listGates({ callId: CALL });
    for (const { m } of modifies) {
      if (!m.ok || m.value.type !== 'decision.modify') throw new Error('not a modify');
      // The very gate the router holds: same content, so the same hash and no resync.
      const sentGate = m.value.body.gates[0]!;
      expect(m.value.body.gates).toEqual([stored.find((g) => g.id === sentGate.id)!.gate]);
    }
    expect(await bench.manager.refreshGates()).toBe(0);
    expect(await bench.lineState()).toBe('active');
  });

  it('covers every state as a starting point and every event at least once', () => {
    const froms = new Set(SESSION_TRANSITIONS.map((r) => r.from));
    expect([...froms].sort()).toEqual(Object.keys(PATHS).sort());
    const events = new Set(SESSION_TRANSITIONS.map((r) => r.event));
    expect([...events].sort()).toEqual(Object.keys(SESSION_EVENTS).sort());
    const keys = SESSION_TRANSITIONS.map((r) => `${r.from} ${r.event}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('is the table docs/protocol.md shows', () => {
    const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
    expect(doc).toContain(renderTransitionTable());
  });
});
