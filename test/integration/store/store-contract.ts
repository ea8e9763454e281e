/**
 * The store contract (src/cloud/store/types.ts), one suite that both backends pass: SQLite and
 * PostgreSQL run the very same cases. A backend provides an empty migrated store per case, a
 * second handle on the same data (what another server instance would hold) and a way to reopen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gate } from '../../../src/core/protocol/messages/gates.ts';
import type { CallAuthorization, DeviceOpen, GateRecord, SessionRecord, Store, UsageRecord } from '../../../src/cloud/store/types.ts';

export interface StoreBackend {
  /** An empty, migrated store. */
  fresh(): Promise<Store>;
  /** Another handle on the data of the last fresh store: another server instance, or the same process after a restart. */
  another(): Promise<Store>;
  /**
   * Whether two handles may run transactions at the same moment in one process. SQLite's lock
   * waits block the thread, so its instances are separate processes; in one process it queues
   * transactions on one handle instead.
   */
  readonly concurrentHandles: boolean;
}

const T0 = 1_800_000_000_000;

function open(id: string, bootSession = 1, atMs = T0): DeviceOpen {
  return {
    id, bootSession, agentVersion: '0.1.0', atMs, keepaliveS: 30,
    board: { model: 'm', name: 'n', release: 'r', target: 't' },
    capabilities: { queues: ['htb'], ipv6: true, maxGates: 4096 },
    link: { upKbps: 20_000, downKbps: 100_000, efBudgetPercent: 30 },
  };
}

const lan = (address: string) => [{ name: 'lan', device: 'br-lan', role: 'lan' as const, up: true, ipv4: [{ address, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] }];

function session(callId: string, line = 0, state: SessionRecord['state'] = 'pending'): SessionRecord {
  return {
    callId, line, client: 'cc-1', state, spec: { media: { line, port: 4000 } }, reason: null, gateIds: [`${callId}.${line}`],
    createdAtMs: T0, updatedAtMs: T0, deadlineMs: T0 + 2000, activeAtMs: null, endedAtMs: null,
  };
}

function gateRecord(id: string, device: string, callId: string, rateKbps = 80, direction: Gate['direction'] = 'both', state: GateRecord['state'] = 'installing', atMs = T0): GateRecord {
  const gate: Gate = { id, direction, lan: { address: '192.168.1.20', port: 4000 }, remote: { address: '198.51.100.7', port: 5000 }, dscp: 46, rateKbps, lifetimeS: 3600, session: callId };
  return { id, device, callId, line: 0, gate, hash: `${id}-hash`.padEnd(16, '0').slice(0, 16), direction, rateKbps, state, updatedAtMs: atMs, error: null };
}

function usage(gateId: string, packets: number, ended: UsageRecord['ended'] = null, device = 'rtA'): UsageRecord {
  return { device, gateId, callId: 'c1', up: { packets, bytes: packets * 100 }, down: { packets, bytes: packets * 100 }, firstSeen: 1, lastSeen: 2, ended, receivedAtMs: T0 };
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

export function storeContract(name: string, backend: StoreBackend): void {
  describe(`store contract: ${name}`, () => {
    const opened: Store[] = [];
    const fresh = async () => {
      const store = await backend.fresh();
      opened.push(store);
      return store;
    };
    const another = async () => {
      const store = await backend.another();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it('migrates idempotently, and what it stores survives closing and opening again', async () => {
      const store = await fresh();
      await store.migrate();
      await store.upsertDeviceOpen(open('rtA'));
      await store.transaction(async (tx) => {
        await tx.insertSession(session('c1'));
        await tx.insertGates([gateRecord('g1', 'rtA', 'c1')]);
      });
      await store.close();
      opened.splice(opened.indexOf(store), 1);
      const again = await another();
      await again.migrate();
      expect(await again.getDevice('rtA')).toMatchObject({ id: 'rtA', status: 'online', link: { upKbps: 20_000 } });
      expect(await again.getSession('c1', 0)).toEqual(session('c1'));
      expect((await again.getGate('g1'))?.gate).toEqual(gateRecord('g1', 'rtA', 'c1').gate);
    });

    it('records devices: open, presence, a new boot forgetting its interface version, last-seen never going back', async () => {
      const store = await fresh();
      const created = await store.upsertDeviceOpen(open('rtA'));
      expect(created).toMatchObject({ status: 'online', bootSession: 1, agentVersion: '0.1.0', desiredVersion: 0, reportedVersion: null, interfaces: [] });
      expect(await store.putInterfaces('rtA', 3, lan('192.168.1.1'), T0)).toBe(true);
      await store.upsertDeviceOpen(open('rtA', 1, T0 + 10));
      expect((await store.getDevice('rtA'))?.interfacesVersion).toBe(3);
      await store.upsertDeviceOpen(open('rtA', 2, T0 + 20));
      expect(await store.getDevice('rtA')).toMatchObject({ bootSession: 2, interfacesVersion: null, interfaces: lan('192.168.1.1') });

      await store.setDeviceStatus('rtA', 'offline', T0 + 30);
      expect(await store.getDevice('rtA')).toMatchObject({ status: 'offline', statusAtMs: T0 + 30 });
      expect((await store.listDevices({ status: 'offline' })).map((d) => d.id)).toEqual(['rtA']);
      expect(await store.listDevices({ status: 'online' })).toEqual([]);

      expect(await store.touchDevice('rtA', T0 + 100)).toBe(true);
      expect(await store.touchDevice('rtA', T0 + 50)).toBe(true);
      expect((await store.getDevice('rtA'))?.lastSeenMs).toBe(T0 + 100);
      expect(await store.touchDevice('nobody', T0)).toBe(false);
      expect(await store.setReportedVersion('rtA', 7)).toBe(true);
      expect((await store.getDevice('rtA'))?.reportedVersion).toBe(7);
      expect(await store.setReportedVersion('nobody', 7)).toBe(false);

      // Known only from a status message: a bare record, no open yet.
      await store.setDeviceStatus('rtB', 'online', T0);
      expect(await store.getDevice('rtB')).toMatchObject({ id: 'rtB', status: 'online', agentVersion: null, link: null, bootSession: null });
      expect((await store.listDevices()).map((d) => d.id)).toEqual(['rtA', 'rtB']);
    });

    it('takes only newer interface reports, and lists changes by a cursor that only grows', async () => {
      const store = await fresh();
      for (const id of ['rtA', 'rtB', 'rtC']) await store.upsertDeviceOpen(open(id));
      expect(await store.putInterfaces('rtA', 2, lan('192.168.1.1'), T0)).toBe(true);
      expect(await store.putInterfaces('rtA', 2, lan('192.168.9.1'), T0)).toBe(false);
      expect(await store.putInterfaces('rtA', 1, lan('192.168.9.1'), T0)).toBe(false);
      expect(await store.putInterfaces('nobody', 5, lan('192.168.9.1'), T0)).toBe(false);
      expect((await store.getDevice('rtA'))?.interfaces).toEqual(lan('192.168.1.1'));
      expect(await store.putInterfaces('rtB', 1, lan('192.168.2.1'), T0)).toBe(true);
      expect(await store.putInterfaces('rtC', 1, lan('192.168.3.1'), T0)).toBe(true);

      const first = await store.interfacesChangedSince(0, 2);
      expect(first.devices.map((d) => d.id)).toEqual(['rtA', 'rtB']);
      const second = await store.interfacesChangedSince(first.cursor, 2);
      expect(second.devices.map((d) => d.id)).toEqual(['rtC']);
      expect(second.cursor).toBeGreaterThan(first.cursor);
      const none = await store.interfacesChangedSince(second.cursor);
      expect(none).toEqual({ cursor: second.cursor, devices: [] });
      // A newer report moves the device to the end.
      expect(await store.putInterfaces('rtA', 3, lan('192.168.1.1'), T0)).toBe(true);
      expect((await store.interfacesChangedSince(second.cursor)).devices.map((d) => d.id)).toEqual(['rtA']);
    });

    it('keeps sessions: insert once, list by filter, update only from the states asked for', async () => {
      const store = await fresh();
      await store.transaction(async (tx) => {
        await tx.insertSession(session('c1', 0));
        await tx.insertSession(session('c1', 1, 'active'));
        await tx.insertSession({ ...session('c2', 0), client: 'cc-2' });
      });
      expect(await codeOf(store.transaction((tx) => tx.insertSession(session('c1', 0))))).toBe('E_CONFLICT');
      expect((await store.listSessions({ callId: 'c1' })).map((s) => s.line)).toEqual([0, 1]);
      expect((await store.listSessions({ state: 'active' })).map((s) => `${s.callId}/${s.line}`)).toEqual(['c1/1']);
      expect((await store.listSessions({ client: 'cc-2' })).map((s) => s.callId)).toEqual(['c2']);

      const moved = await store.updateSession('c1', 0, { state: 'active', activeAtMs: T0 + 5, deadlineMs: null, updatedAtMs: T0 + 5 }, ['pending']);
      expect(moved).toMatchObject({ state: 'active', activeAtMs: T0 + 5, deadlineMs: null, spec: session('c1').spec, reason: null });
      expect(await store.updateSession('c1', 0, { state: 'ended', updatedAtMs: T0 + 6 }, ['pending'])).toBeNull();
      expect((await store.getSession('c1', 0))?.state).toBe('active');
      expect(await store.updateSession('c1', 0, { reason: 'why', gateIds: [], updatedAtMs: T0 + 7 })).toMatchObject({ reason: 'why', gateIds: [], state: 'active' });
      expect(await store.updateSession('nope', 0, { updatedAtMs: T0 })).toBeNull();
    });

    it('keeps gates: ids unique, a failed transaction leaving nothing, state changes compare-and-set', async () => {
      const store = await fresh();
      await store.upsertDeviceOpen(open('rtA'));
      await store.transaction((tx) => tx.insertGates([gateRecord('g1', 'rtA', 'c1'), gateRecord('g2', 'rtA', 'c2', 80, 'up', 'installed', T0 - 5000)]));
      const failed = store.transaction(async (tx) => {
        await tx.insertGates([gateRecord('g3', 'rtA', 'c3')]);
        await tx.insertGates([gateRecord('g1', 'rtA', 'c1')]);
      });
      expect(await codeOf(failed)).toBe('E_CONFLICT');
      expect(await store.getGate('g3')).toBeNull();

      expect((await store.listGates({ device: 'rtA' })).map((g) => g.id)).toEqual(['g1', 'g2']);
      expect((await store.listGates({ callId: 'c2' })).map((g) => g.id)).toEqual(['g2']);
      // A call read whole: the same records as the two lists give.
      await store.transaction(async (tx) => {
        await tx.insertSession(session('c2', 1));
        await tx.insertSession(session('c2', 0, 'active'));
        await tx.insertGates([gateRecord('g0', 'rtA', 'c2', 24, 'down')]);
      });
      const call = await store.readCall('c2');
      expect(call).toEqual({ lines: await store.listSessions({ callId: 'c2' }), gates: await store.listGates({ callId: 'c2' }) });
      expect(call.lines.map((l) => [l.line, l.state])).toEqual([[0, 'active'], [1, 'pending']]);
      expect(call.gates.map((g) => g.id)).toEqual(['g0', 'g2']);
      expect(await store.readCall('nothing')).toEqual({ lines: [], gates: [] });
      expect((await store.listGates({ state: 'installed', updatedBeforeMs: T0 - 1000 })).map((g) => g.id)).toEqual(['g2']);
      expect(await store.listGates({ state: 'installed', updatedBeforeMs: T0 - 6000 })).toEqual([]);

      expect(await store.updateGateState('g1', { state: 'installed', atMs: T0 + 1, ifStateIn: ['removing'] })).toBeNull();
      expect(await store.updateGateState('g1', { state: 'failed', error: 'E_NFT refused', atMs: T0 + 2, ifStateIn: ['installing'] })).toMatchObject({ state: 'failed', error: 'E_NFT refused', updatedAtMs: T0 + 2 });
      expect(await store.updateGateState('g1', { state: 'removed', atMs: T0 + 3 })).toMatchObject({ state: 'removed', error: 'E_NFT refused' });
      expect(await store.updateGateState('g1', { state: 'removed', error: null, atMs: T0 + 4 })).toMatchObject({ error: null });
      expect(await store.updateGateState('nope', { state: 'removed', atMs: T0 })).toBeNull();

      expect(await store.transaction((tx) => tx.deleteGates(['g0', 'g1', 'g2', 'nope']))).toBe(3);
      expect(await store.listGates()).toEqual([]);
    });

    it('confirms a router\'s report in one step: installing to installed, removing to removed, only its own gates', async () => {
      const store = await fresh();
      await store.upsertDeviceOpen(open('rtA'));
      await store.transaction((tx) =>
        tx.insertGates([
          gateRecord('g1', 'rtA', 'c1'), gateRecord('g2', 'rtA', 'c2', 80, 'both', 'removing'), gateRecord('g3', 'rtA', 'c3', 80, 'both', 'failed'),
          gateRecord('g4', 'rtB', 'c4'), gateRecord('g5', 'rtA', 'c5'),
        ]),
      );
      const changed = await store.confirmGates('rtA', ['g1', 'g2', 'g3', 'g4', 'nope'], T0 + 9);
      expect(changed.map((g) => [g.id, g.state, g.updatedAtMs]).sort()).toEqual([['g1', 'installed', T0 + 9], ['g2', 'removed', T0 + 9]]);
      expect((await store.getGate('g3'))?.state).toBe('failed');
      expect((await store.getGate('g4'))?.state).toBe('installing');
      expect((await store.getGate('g5'))?.state).toBe('installing');
      // A repeated report changes nothing more.
      expect(await store.confirmGates('rtA', ['g1', 'g2'], T0 + 10)).toEqual([]);
      expect(await store.confirmGates('rtA', [], T0 + 10)).toEqual([]);
    });

    it('gives a device\'s desired state: gates installing or installed, with the version the server raised', async () => {
      const store = await fresh();
      await store.upsertDeviceOpen(open('rtA'));
      await store.upsertDeviceOpen(open('rtB'));
      await store.transaction(async (tx) => {
        await tx.insertGates([
          gateRecord('g1', 'rtA', 'c1'), gateRecord('g2', 'rtA', 'c2', 80, 'both', 'installed'), gateRecord('g3', 'rtA', 'c3', 80, 'both', 'removing'),
          gateRecord('g4', 'rtA', 'c4', 80, 'both', 'failed'), gateRecord('g5', 'rtB', 'c5'),
        ]);
        expect(await tx.bumpDesiredVersion('rtA')).toBe(1);
        expect(await tx.bumpDesiredVersion('rtA')).toBe(2);
      });
      expect(await store.desiredState('rtA')).toEqual({ version: 2, gates: [gateRecord('g1', 'rtA', 'c1').gate, gateRecord('g2', 'rtA', 'c2').gate] });
      expect((await store.desiredGates('rtA')).map((g) => g.id)).toEqual(['g1', 'g2']);
      const hashes = await store.desiredHashes('rtA');
      expect(hashes?.version).toBe(2);
      expect([...(hashes?.gates ?? [])].sort((a, b) => a.id.localeCompare(b.id))).toEqual([{ id: 'g1', hash: gateRecord('g1', 'rtA', 'c1').hash }, { id: 'g2', hash: gateRecord('g2', 'rtA', 'c2').hash }]);
      expect(await store.desiredState('rtB')).toMatchObject({ version: 0, gates: [{ id: 'g5' }] });
      await store.upsertDeviceOpen(open('rtC'));
      expect(await store.desiredState('rtC')).toEqual({ version: 0, gates: [] });
      expect(await store.desiredHashes('rtC')).toEqual({ version: 0, gates: [] });
      expect(await store.desiredState('nobody')).toBeNull();
      expect(await store.desiredHashes('nobody')).toBeNull();
      expect(await codeOf(store.transaction((tx) => tx.bumpDesiredVersion('nobody')))).toBe('E_NOT_FOUND');
    });

    it('sums the EF a device admitted per direction, leaving out removed and failed gates', async () => {
      const store = await fresh();
      await store.upsertDeviceOpen(open('rtA'));
      const admitted = await store.transaction(async (tx) => {
        await tx.insertGates([
          gateRecord('g1', 'rtA', 'c1', 80, 'both'), gateRecord('g2', 'rtA', 'c2', 24, 'up', 'installed'), gateRecord('g3', 'rtA', 'c3', 100, 'down', 'removing'),
          gateRecord('g4', 'rtA', 'c4', 1000, 'both', 'removed'), gateRecord('g5', 'rtA', 'c5', 1000, 'both', 'failed'),
        ]);
        return tx.admittedKbps('rtA');
      });
      expect(admitted).toEqual({ up: 104, down: 180 });
      expect(await store.transaction((tx) => tx.admittedKbps('nobody'))).toEqual({ up: 0, down: 0 });
    });

    it('records usage idempotently: interim reports only grow, the final one once, nothing after it', async () => {
      const store = await fresh();
      expect(await store.recordUsage(usage('g1', 10))).toEqual({ recorded: true });
      expect(await store.recordUsage(usage('g1', 20))).toEqual({ recorded: true });
      expect(await store.recordUsage(usage('g1', 15))).toEqual({ recorded: false });
      expect((await store.listUsage({ gateId: 'g1' }))[0]?.up.packets).toBe(20);
      // A final report lower than an interim one (counters read before a late interim arrived) does not lower them.
      expect(await store.recordUsage(usage('g1', 18, 'removed'))).toEqual({ recorded: true });
      expect((await store.listUsage({ gateId: 'g1' }))[0]).toMatchObject({ up: { packets: 20, bytes: 2000 }, ended: 'removed' });
      expect(await store.recordUsage(usage('g1', 30, 'removed'))).toEqual({ recorded: false });
      expect(await store.recordUsage(usage('g1', 40))).toEqual({ recorded: false });
      expect((await store.listUsage({ gateId: 'g1' }))[0]?.up.packets).toBe(20);

      await store.recordUsage(usage('g2', 5, 'expired', 'rtB'));
      expect((await store.listUsage({ device: 'rtB' })).map((u) => u.gateId)).toEqual(['g2']);
      expect((await store.listUsage({ callId: 'c1' })).map((u) => `${u.device}/${u.gateId}`)).toEqual(['rtA/g1', 'rtB/g2']);
    });

    it('counts a final report sent many times at once exactly once', async () => {
      const store = await fresh();
      const others = backend.concurrentHandles ? [await another(), await another()] : [store, store];
      const outcomes = await Promise.all([store, ...others, store, ...others].map((s) => s.recordUsage(usage('g9', 7, 'removed'))));
      expect(outcomes.filter((o) => o.recorded)).toHaveLength(1);
      expect(await store.listUsage({ gateId: 'g9' })).toHaveLength(1);
    });

    it('keeps call authorizations: the first one wins, release and usage set once, unconfirmed usage listed until confirmed', async () => {
      const store = await fresh();
      const auth = (callId: string, transactionId: string, at = T0): CallAuthorization => ({
        callId, transactionId, source: 'clearinghouse', token: `token-of-${transactionId}`, maxDurationS: 3600, authorizedAtMs: at, release: null, usage: null, usageConfirmedAtMs: null,
      });
      expect(await store.putAuthorization(auth('c1', 't1'))).toEqual(auth('c1', 't1'));
      expect(await store.putAuthorization(auth('c1', 't2'))).toEqual(auth('c1', 't1'));
      expect(await store.getAuthorization('c9')).toBeNull();

      await store.noteRelease('c1', { releasedBy: 'callee', sipStatus: 200, reason: 'BYE' });
      await store.noteRelease('c1', { releasedBy: 'network', sipStatus: null, reason: 'later' });
      expect((await store.getAuthorization('c1'))?.release).toEqual({ releasedBy: 'callee', sipStatus: 200, reason: 'BYE' });

      await store.putAuthorization(auth('c2', 't2', T0 - 10));
      expect(await store.listUnconfirmedUsage()).toEqual([]);
      expect(await store.setAuthorizationUsage('c1', { transactionId: 't1', endMs: 5 })).toBe(true);
      expect(await store.setAuthorizationUsage('c1', { transactionId: 't1', endMs: 6 })).toBe(false);
      expect(await store.setAuthorizationUsage('c2', { transactionId: 't2' })).toBe(true);
      expect((await store.listUnconfirmedUsage()).map((a) => a.callId)).toEqual(['c2', 'c1']);
      expect((await store.listUnconfirmedUsage(1)).map((a) => a.callId)).toEqual(['c2']);
      await store.confirmAuthorizationUsage('c1', T0 + 9);
      expect(await store.getAuthorization('c1')).toMatchObject({ usage: { transactionId: 't1', endMs: 5 }, usageConfirmedAtMs: T0 + 9 });
      expect((await store.listUnconfirmedUsage()).map((a) => a.callId)).toEqual(['c2']);
    });

    it('notes which call used a token: the same call again is fine, another call is a replay', async () => {
      const store = await fresh();
      expect(await store.useToken('jti-1', 'c1', T0)).toBe(true);
      expect(await store.useToken('jti-1', 'c1', T0 + 1)).toBe(true);
      expect(await store.useToken('jti-1', 'c2', T0 + 2)).toBe(false);
      expect(await store.useToken('jti-2', 'c2', T0 + 3)).toBe(true);
      const other = await another();
      expect(await other.useToken('jti-1', 'c3', T0 + 4)).toBe(false);
    });

    it('serialises admission on a router between instances: the second sees the first\'s gate', async () => {
      const store = await fresh();
      await store.upsertDeviceOpen(open('rtA'));
      const other = backend.concurrentHandles ? await another() : store;
      const admit = (s: Store, id: string) =>
        s.transaction(async (tx) => {
          await tx.lockDevices(['rtA', 'rtA']);
          const before = await tx.admittedKbps('rtA');
          // Give the other transaction every chance to interleave.
          await new Promise((r) => setTimeout(r, 50));
          await tx.insertGates([gateRecord(id, 'rtA', id)]);
          return before.up;
        });
      const seen = await Promise.all([admit(store, 'ga'), admit(other, 'gb')]);
      expect([...seen].sort((a, b) => a - b)).toEqual([0, 80]);
      expect(await store.transaction((tx) => tx.lockDevices(['rtB', 'rtA']))).toMatchObject([{ id: 'rtA' }]);
    });
  });
}
