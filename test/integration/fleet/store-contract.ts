/**
 * The fleet store contract (src/cloud/fleet/store/types.ts), one suite that both backends pass:
 * SQLite and PostgreSQL run the very same cases. The fleet store always sits on the server
 * store's database (openFleetStore), so a backend hands out both, migrated in the documented
 * order (server first, then fleet).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openFleetStore } from '../../../src/cloud/fleet/store/index.ts';
import type { DeviceGroup, EnrolmentKey, FleetDevice, FleetStore, InventoryQuery, Operator, WebSession } from '../../../src/cloud/fleet/store/types.ts';
import type { DeviceOpen, Store } from '../../../src/cloud/store/types.ts';
import { prng } from '../../support/random.ts';
import { configStoreCases } from './config-store-cases.ts';
import { commandStoreCases } from './command-store-cases.ts';

export interface FleetStores {
  readonly store: Store;
  readonly fleet: FleetStore;
}

export interface FleetStoreBackend {
  /** An empty server store, migrated, and the fleet store on it, migrated. */
  fresh(): Promise<FleetStores>;
  /** Another handle on the data of the last fresh one: another server instance, or the same process after a restart. */
  another(): Promise<FleetStores>;
  /** Two server stores on one new database that nobody has migrated yet. */
  unmigratedPair(): Promise<[Store, Store]>;
}

const T0 = 1_800_000_000_000;

const group = (id: string, domain: string | null, over: Partial<DeviceGroup> = {}): DeviceGroup => ({
  id, name: `Group ${id}`, domain, enrolPolicy: 'approve', reenrolPolicy: 'hold', createdAtMs: T0, ...over,
});

const key = (id: string, over: Partial<EnrolmentKey> = {}): EnrolmentKey => ({
  id, group: 'gA', label: `key ${id}`, secretHash: 'ab'.repeat(32), createdAtMs: T0, createdBy: 'operator:root', expiresAtMs: null, revokedAtMs: null, uses: 0,
  lastUsedAtMs: null, ...over,
});

function device(deviceId: string, over: Partial<FleetDevice> = {}): FleetDevice {
  return {
    deviceId, hardwareId: `mac-${deviceId}`, group: 'gA', name: deviceId, tags: [], site: null, state: 'accepted', stateReason: null, keyId: 'k1', hostname: null,
    hardware: { model: 'Linksys E8450', boardName: 'linksys,e8450-ubi', release: '23.05.3', target: 'mediatek/mt7622', kernel: '5.15.150' },
    versions: { agent: '0.1.0', quickjs: '2021-03-27' },
    features: { cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '1.0.8' },
    sourceAddress: null, requestedAtMs: T0, enrolledAtMs: null, updatedAtMs: T0, enrolments: 1, ...over,
  };
}

function open(id: string, agentVersion: string, atMs: number): DeviceOpen {
  return {
    id, bootSession: 1, agentVersion, atMs, keepaliveS: 30,
    board: { model: 'm', name: 'n', release: 'r', target: 't' },
    capabilities: { queues: ['htb'], ipv6: true, maxGates: 4096 },
    link: { upKbps: 20_000, downKbps: 100_000, efBudgetPercent: 30 },
  };
}

const operator = (id: string, username: string, over: Partial<Operator> = {}): Operator => ({
  id, username, passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA', role: 'viewer', domain: null, createdAtMs: T0, disabledAtMs: null, ...over,
});

const webSession = (tokenHash: string, operatorId: string, expiresAtMs: number): WebSession => ({
  tokenHash, operatorId, csrfToken: `csrf-${tokenHash}`, createdAtMs: T0, expiresAtMs,
});

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

/**
 * The inventory's fixture: four enrolled routers and one hand-made login, chosen so that every
 * sort orders them differently and each filter picks a different subset.
 *
 *   id      group(domain)  name      state     tags        fleet agent  devices row                      features
 *   rt-001  gA (d1)        Kitchen   accepted  voip, lab   0.1.0        online, open 0.2.0 at T0+50       cake
 *   rt-002  gB (d2)        attic     accepted  voip        0.1.0        offline, open 0.1.0 at T0+10      fqCodel
 *   rt-003  gC (none)      Basement  pending   -           0.1.0        none (enrolled, never connected)  -
 *   rt-004  gA (d1)        attic     revoked   -           0.1.0        offline since T0+30, no open     -
 *   hand-1  -              -         -         -           -            online, open 0.3.0 at T0+40       -
 */
async function inventoryFixture({ store, fleet }: FleetStores): Promise<void> {
  await fleet.putGroup(group('gA', 'd1'));
  await fleet.putGroup(group('gB', 'd2'));
  await fleet.putGroup(group('gC', null));
  const cake = { cake: true, fqCodel: false, ctinfo: false, flowOffload: false, nft: '1.0.8' };
  const fq = { cake: false, fqCodel: true, ctinfo: false, flowOffload: false, nft: '1.0.8' };
  await fleet.putFleetDevice(device('rt-001', { name: 'Kitchen', tags: ['voip', 'lab'], features: cake }));
  await fleet.putFleetDevice(device('rt-002', { group: 'gB', name: 'attic', tags: ['voip'], features: fq }));
  await fleet.putFleetDevice(device('rt-003', { group: 'gC', name: 'Basement', state: 'pending' }));
  await fleet.putFleetDevice(device('rt-004', { name: 'attic', hardwareId: 'MAC-00AA', state: 'revoked', stateReason: 'E_REVOKED: lost' }));
  await store.upsertDeviceOpen(open('rt-001', '0.2.0', T0 + 50));
  await store.upsertDeviceOpen(open('rt-002', '0.1.0', T0 + 10));
  await store.setDeviceStatus('rt-002', 'offline', T0 + 11);
  await store.setDeviceStatus('rt-004', 'offline', T0 + 30);
  await store.upsertDeviceOpen(open('hand-1', '0.3.0', T0 + 40));
}

const query = (over: Partial<InventoryQuery> = {}): InventoryQuery => ({ sort: 'id', descending: false, offset: 0, limit: 100, ...over });

export function fleetStoreContract(name: string, backend: FleetStoreBackend): void {
  describe(`fleet store contract: ${name}`, () => {
    const opened: Store[] = [];
    const fresh = async () => {
      const both = await backend.fresh();
      opened.push(both.store);
      return both;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    const ids = async (fleet: FleetStore, q: Partial<InventoryQuery>) => (await fleet.queryInventory(query(q))).rows.map((r) => r.deviceId);

    configStoreCases(fresh);
    commandStoreCases(fresh);

    it('migrates idempotently after the server store, and what it stores is there for another handle', async () => {
      const { fleet } = await fresh();
      await fleet.migrate();
      await fleet.putGroup(group('gA', 'd1'));
      await fleet.createOperator(operator('op1', 'alice'));
      const again = await backend.another();
      opened.push(again.store);
      await again.fleet.migrate();
      expect(again.fleet.backend).toBe(fleet.backend);
      expect(await again.fleet.getGroup('gA')).toEqual(group('gA', 'd1'));
      expect(await again.fleet.getOperatorByUsername('alice')).toEqual(operator('op1', 'alice'));
    });

    it('migrates from two handles at once on a new database, each after its server store', async () => {
      const [a, b] = await backend.unmigratedPair();
      opened.push(a, b);
      await Promise.all([a.migrate(), b.migrate()]);
      const [fa, fb] = [openFleetStore(a), openFleetStore(b)];
      await Promise.all([fa.migrate(), fb.migrate(), fa.migrate()]);
      await fa.putGroup(group('gA', null));
      expect(await fb.listGroups()).toEqual([group('gA', null)]);
      await fb.migrate();
      expect(await fa.countOperators()).toBe(0);
    });

    it('keeps device groups: put inserts or replaces by id, get and list', async () => {
      const { fleet } = await fresh();
      expect(await fleet.getGroup('gA')).toBeNull();
      expect(await fleet.listGroups()).toEqual([]);
      await fleet.putGroup(group('gB', null, { enrolPolicy: 'auto', reenrolPolicy: 'replace' }));
      await fleet.putGroup(group('gA', 'd1'));
      expect(await fleet.getGroup('gB')).toEqual(group('gB', null, { enrolPolicy: 'auto', reenrolPolicy: 'replace' }));
      await fleet.putGroup(group('gB', 'd2', { name: 'Renamed' }));
      expect(await fleet.listGroups()).toEqual([group('gA', 'd1'), group('gB', 'd2', { name: 'Renamed' })]);
    });

    it('keeps enrolment keys: E_CONFLICT on a duplicate id, revocation once, uses counted', async () => {
      const { fleet } = await fresh();
      const full = key('KeyB', { group: 'gB', expiresAtMs: T0 + 1000, createdAtMs: T0 + 1 });
      await fleet.createKey(key('KeyA'));
      await fleet.createKey(full);
      expect(await codeOf(fleet.createKey(key('KeyA', { label: 'again' })))).toBe('E_CONFLICT');
      expect(await fleet.getKey('KeyA')).toEqual(key('KeyA'));
      expect(await fleet.getKey('KeyB')).toEqual(full);
      expect(await fleet.getKey('nope')).toBeNull();
      expect((await fleet.listKeys()).map((k) => k.id)).toEqual(['KeyA', 'KeyB']);
      expect((await fleet.listKeys('gB')).map((k) => k.id)).toEqual(['KeyB']);
      expect(await fleet.listKeys('gZ')).toEqual([]);

      expect(await fleet.revokeKey('KeyA', T0 + 5)).toBe(true);
      expect(await fleet.revokeKey('KeyA', T0 + 6)).toBe(false);
      expect(await fleet.revokeKey('nope', T0 + 6)).toBe(false);
      expect((await fleet.getKey('KeyA'))?.revokedAtMs).toBe(T0 + 5);

      await fleet.noteKeyUse('KeyB', T0 + 20);
      await fleet.noteKeyUse('KeyB', T0 + 30);
      expect(await fleet.getKey('KeyB')).toEqual({ ...full, uses: 2, lastUsedAtMs: T0 + 30 });
    });

    it('round-trips every field of an enrolled router, nulls and JSON included', async () => {
      const { fleet } = await fresh();
      const bare = device('rt-1');
      const full = device('rt-2', {
        hardwareId: 'serial-XY_12.3', group: 'gB', name: 'Büro (2. OG)', tags: ['voip', 'floor-2', 'ünïcode'], site: 'Berlin', state: 'rejected',
        stateReason: 'E_REJECTED: unknown box', keyId: 'KeyZ', hostname: 'OpenWrt', versions: { agent: '1.2.3', quickjs: 'node' },
        features: { cake: true, fqCodel: true, ctinfo: true, flowOffload: true, nft: '' }, sourceAddress: '2001:db8::7', requestedAtMs: T0 + 1,
        enrolledAtMs: T0 + 2, updatedAtMs: T0 + 3, enrolments: 3,
      });
      await fleet.putFleetDevice(bare);
      await fleet.putFleetDevice(full);
      expect(await fleet.getFleetDevice('rt-1')).toEqual(bare);
      expect(await fleet.getFleetDevice('rt-2')).toEqual(full);
      expect(await fleet.getByHardwareId('serial-XY_12.3')).toEqual(full);
      expect(await fleet.getFleetDevice('nope')).toBeNull();
      expect(await fleet.getByHardwareId('nope')).toBeNull();
    });

    it('replaces a router by device id, and refuses another router\'s hardware id with E_CONFLICT', async () => {
      const { fleet } = await fresh();
      await fleet.putFleetDevice(device('rt-1'));
      await fleet.putFleetDevice(device('rt-2'));
      const reflashed = device('rt-1', { hardwareId: 'mac-new', enrolments: 2, state: 'pending', tags: ['x'] });
      await fleet.putFleetDevice(reflashed);
      expect(await fleet.getFleetDevice('rt-1')).toEqual(reflashed);
      expect(await fleet.getByHardwareId('mac-rt-1')).toBeNull();
      expect(await codeOf(fleet.putFleetDevice(device('rt-3', { hardwareId: 'mac-rt-2' })))).toBe('E_CONFLICT');
      expect(await codeOf(fleet.putFleetDevice(device('rt-1', { hardwareId: 'mac-rt-2' })))).toBe('E_CONFLICT');
      expect(await fleet.getFleetDevice('rt-3')).toBeNull();
      expect(await fleet.getFleetDevice('rt-1')).toEqual(reflashed);
    });

    it('changes a fleet state by compare-and-set', async () => {
      const { fleet } = await fresh();
      await fleet.putFleetDevice(device('rt-1', { state: 'pending' }));
      expect(await fleet.setFleetState('rt-1', { state: 'approved', reason: null, atMs: T0 + 1, ifStateIn: ['accepted', 'revoked'] })).toBeNull();
      expect((await fleet.getFleetDevice('rt-1'))?.state).toBe('pending');
      const approved = await fleet.setFleetState('rt-1', { state: 'approved', reason: null, atMs: T0 + 2, ifStateIn: ['pending'] });
      expect(approved).toEqual(device('rt-1', { state: 'approved', updatedAtMs: T0 + 2 }));
      // Two instances approving at once: the second finds it no longer pending.
      expect(await fleet.setFleetState('rt-1', { state: 'approved', reason: null, atMs: T0 + 3, ifStateIn: ['pending'] })).toBeNull();
      expect(await fleet.setFleetState('rt-1', { state: 'revoked', reason: 'E_REVOKED: stolen', atMs: T0 + 4 })).toEqual(
        device('rt-1', { state: 'revoked', stateReason: 'E_REVOKED: stolen', updatedAtMs: T0 + 4 }),
      );
      expect(await fleet.setFleetState('rt-1', { state: 'accepted', reason: null, atMs: T0 + 5, ifStateIn: [] })).toBeNull();
      expect(await fleet.setFleetState('nope', { state: 'accepted', reason: null, atMs: T0 + 5 })).toBeNull();
    });

    it('patches the fields an operator may change, keeping the others', async () => {
      const { fleet } = await fresh();
      await fleet.putFleetDevice(device('rt-1', { site: 'Berlin', tags: ['a'] }));
      expect(await fleet.patchFleetDevice('rt-1', { name: 'Office', tags: ['b', 'c'], updatedAtMs: T0 + 1 })).toEqual(
        device('rt-1', { name: 'Office', site: 'Berlin', tags: ['b', 'c'], updatedAtMs: T0 + 1 }),
      );
      expect(await fleet.patchFleetDevice('rt-1', { group: 'gB', site: null, updatedAtMs: T0 + 2 })).toEqual(
        device('rt-1', { name: 'Office', group: 'gB', site: null, tags: ['b', 'c'], updatedAtMs: T0 + 2 }),
      );
      expect(await fleet.getFleetDevice('rt-1')).toEqual(device('rt-1', { name: 'Office', group: 'gB', site: null, tags: ['b', 'c'], updatedAtMs: T0 + 2 }));
      expect(await fleet.patchFleetDevice('nope', { name: 'x', updatedAtMs: T0 })).toBeNull();
    });

    it('counts routers by fleet state, hand-made logins as unenrolled, and within domains', async () => {
      const both = await fresh();
      const zero = { pending: 0, approved: 0, accepted: 0, rejected: 0, revoked: 0, unenrolled: 0 };
      expect(await both.fleet.countByState()).toEqual(zero);
      await inventoryFixture(both);
      expect(await both.fleet.countByState()).toEqual({ ...zero, accepted: 2, pending: 1, revoked: 1, unenrolled: 1 });
      // gB is d2's; gC has no domain, so every operator sees it; hand-made logins belong to no domain.
      expect(await both.fleet.countByState(['d2'])).toEqual({ ...zero, accepted: 1, pending: 1 });
      expect(await both.fleet.countByState(['d1', 'd2'])).toEqual({ ...zero, accepted: 2, pending: 1, revoked: 1 });
      expect(await both.fleet.countByState([])).toEqual({ ...zero, pending: 1 });
    });

    it('lists the inventory over both tables: a hand-made login and a router never connected both appear', async () => {
      const both = await fresh();
      await inventoryFixture(both);
      const page = await both.fleet.queryInventory(query());
      expect(page.total).toBe(5);
      expect(page.rows.map((r) => r.deviceId)).toEqual(['hand-1', 'rt-001', 'rt-002', 'rt-003', 'rt-004']);
      const byId = new Map(page.rows.map((r) => [r.deviceId, r]));
      expect(byId.get('hand-1')).toEqual({ deviceId: 'hand-1', fleet: null, status: 'online', statusAtMs: T0 + 40, lastSeenMs: T0 + 40, agentVersion: '0.3.0' });
      expect(byId.get('rt-003')).toEqual({ deviceId: 'rt-003', fleet: device('rt-003', { group: 'gC', name: 'Basement', state: 'pending' }), status: null, statusAtMs: null, lastSeenMs: null, agentVersion: '0.1.0' });
      expect(byId.get('rt-001')).toMatchObject({ status: 'online', lastSeenMs: T0 + 50, agentVersion: '0.2.0', fleet: { name: 'Kitchen', tags: ['voip', 'lab'] } });
      // No open yet: the version is the one it enrolled with.
      expect(byId.get('rt-004')).toMatchObject({ status: 'offline', statusAtMs: T0 + 30, agentVersion: '0.1.0', fleet: { state: 'revoked', stateReason: 'E_REVOKED: lost' } });
    });

    it('sorts the inventory by every key, both ways, ties broken by device id, missing values last', async () => {
      const both = await fresh();
      await inventoryFixture(both);
      const expected: Record<InventoryQuery['sort'], [string[], string[]]> = {
        id: [['hand-1', 'rt-001', 'rt-002', 'rt-003', 'rt-004'], ['rt-004', 'rt-003', 'rt-002', 'rt-001', 'hand-1']],
        // attic, attic, Basement, hand-1 (its id), Kitchen: without regard to case.
        name: [['rt-002', 'rt-004', 'rt-003', 'hand-1', 'rt-001'], ['rt-001', 'hand-1', 'rt-003', 'rt-004', 'rt-002']],
        group: [['rt-001', 'rt-004', 'rt-002', 'rt-003', 'hand-1'], ['rt-003', 'rt-002', 'rt-004', 'rt-001', 'hand-1']],
        status: [['rt-002', 'rt-004', 'hand-1', 'rt-001', 'rt-003'], ['rt-001', 'hand-1', 'rt-004', 'rt-002', 'rt-003']],
        lastSeen: [['rt-002', 'rt-004', 'hand-1', 'rt-001', 'rt-003'], ['rt-001', 'hand-1', 'rt-004', 'rt-002', 'rt-003']],
        version: [['rt-002', 'rt-003', 'rt-004', 'rt-001', 'hand-1'], ['hand-1', 'rt-001', 'rt-004', 'rt-003', 'rt-002']],
      };
      for (const [sort, [ascending, descending]] of Object.entries(expected) as [InventoryQuery['sort'], [string[], string[]]][]) {
        expect(await ids(both.fleet, { sort }), `${sort} ascending`).toEqual(ascending);
        expect(await ids(both.fleet, { sort, descending: true }), `${sort} descending`).toEqual(descending);
      }
    });

    it('filters the inventory by search, group, tag, version, status, feature and domains, counting what matched', async () => {
      const both = await fresh();
      await inventoryFixture(both);
      const cases: [Partial<InventoryQuery>, string[]][] = [
        [{ search: 'RT-00' }, ['rt-001', 'rt-002', 'rt-003', 'rt-004']],
        [{ search: 'att' }, ['rt-002', 'rt-004']],
        [{ search: 'mac-00' }, ['rt-004']],
        [{ search: 'mac-rt-003' }, ['rt-003']],
        [{ search: 'HAND' }, ['hand-1']],
        [{ search: 'kitchen' }, ['rt-001']],
        [{ search: 'tchen' }, []],
        // % and _ are literal characters, not wildcards.
        [{ search: 'rt_0' }, []],
        [{ search: '%' }, []],
        [{ search: '' }, ['hand-1', 'rt-001', 'rt-002', 'rt-003', 'rt-004']],
        [{ group: 'gA' }, ['rt-001', 'rt-004']],
        [{ group: 'gZ' }, []],
        [{ tag: 'voip' }, ['rt-001', 'rt-002']],
        [{ tag: 'lab' }, ['rt-001']],
        [{ tag: 'vo' }, []],
        [{ version: '0.1.0' }, ['rt-002', 'rt-003', 'rt-004']],
        [{ version: '0.2.0' }, ['rt-001']],
        [{ version: '0.3.0' }, ['hand-1']],
        [{ status: 'online' }, ['hand-1', 'rt-001']],
        [{ status: 'offline' }, ['rt-002', 'rt-004']],
        [{ status: 'pending' }, ['rt-003']],
        [{ status: 'revoked' }, ['rt-004']],
        [{ status: 'approved' }, []],
        [{ feature: 'cake' }, ['rt-001']],
        [{ feature: 'fqCodel' }, ['rt-002']],
        [{ feature: 'ctinfo' }, []],
        [{ domains: ['d1'] }, ['rt-001', 'rt-003', 'rt-004']],
        [{ domains: ['d2'] }, ['rt-002', 'rt-003']],
        [{ domains: [] }, ['rt-003']],
        [{ group: 'gA', status: 'offline' }, ['rt-004']],
        [{ search: 'rt', tag: 'voip', status: 'online' }, ['rt-001']],
        [{ version: '0.1.0', domains: ['d2'] }, ['rt-002', 'rt-003']],
      ];
      for (const [filter, want] of cases) {
        const page = await both.fleet.queryInventory(query(filter));
        expect(page.rows.map((r) => r.deviceId), JSON.stringify(filter)).toEqual(want);
        expect(page.total, JSON.stringify(filter)).toBe(want.length);
      }
    });

    it('pages the inventory with offset and limit, the total counting every match', async () => {
      const both = await fresh();
      await inventoryFixture(both);
      expect(await both.fleet.queryInventory(query({ offset: 1, limit: 2 }))).toMatchObject({ total: 5, rows: [{ deviceId: 'rt-001' }, { deviceId: 'rt-002' }] });
      expect(await both.fleet.queryInventory(query({ offset: 4, limit: 2, sort: 'lastSeen' }))).toMatchObject({ total: 5, rows: [{ deviceId: 'rt-003' }] });
      expect(await both.fleet.queryInventory(query({ offset: 10 }))).toEqual({ total: 5, rows: [] });
      expect(await both.fleet.queryInventory(query({ offset: 1, limit: 1, status: 'offline', descending: true }))).toMatchObject({ total: 2, rows: [{ deviceId: 'rt-002' }] });
      const { fleet } = await fresh();
      expect(await fleet.queryInventory(query())).toEqual({ total: 0, rows: [] });
    });

    it('pages every sort of a larger random inventory as one sorted list would, across the three kinds of router', async () => {
      const both = await fresh();
      const rand = prng(15);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      await both.fleet.putGroup(group('gA', null));
      await both.fleet.putGroup(group('gB', null));
      // The reference: each router's sort keys as the inventory documents them, written out here.
      type Ref = { id: string; name: string | null; group: string | null; status: string | null; lastSeen: number | null; version: string | null };
      const refs: Ref[] = [];
      for (let i = 0; i < 45; i++) {
        const id = `r${pick(['a', 'B', 'c'])}${String(Math.floor(rand() * 1000)).padStart(3, '0')}-${i}`;
        const kind = pick(['connected', 'waiting', 'handmade', 'connected'] as const);
        const lastSeen = T0 + Math.floor(rand() * 5) * 10;
        const version = pick(['0.1.0', '0.2.0', '0.10.0']);
        const name = pick(['alpha', 'Alpha', 'beta', 'Gamma', 'gamma']);
        const grp = pick(['gA', 'gB']);
        if (kind !== 'handmade') await both.fleet.putFleetDevice(device(id, { name, group: grp, versions: { agent: version, quickjs: 'q' } }));
        let status: string | null = null;
        let seen: number | null = null;
        let runs: string | null = kind === 'handmade' ? null : version;
        if (kind !== 'waiting') {
          if (rand() < 0.5) {
            runs = pick(['0.1.0', '0.3.0']);
            await both.store.upsertDeviceOpen(open(id, runs, lastSeen));
            status = 'online';
          } else {
            await both.store.setDeviceStatus(id, 'offline', lastSeen);
            status = 'offline';
          }
          seen = lastSeen;
        }
        refs.push({ id, name: kind === 'handmade' ? id.toLowerCase() : name.toLowerCase(), group: kind === 'handmade' ? null : grp, status, lastSeen: seen, version: runs });
      }
      const compare = (sort: InventoryQuery['sort'], descending: boolean) => (x: Ref, y: Ref): number => {
        const a = sort === 'id' ? x.id : x[sort];
        const b = sort === 'id' ? y.id : y[sort];
        if (a === null && b === null) return x.id < y.id === !descending ? -1 : 1;
        if (a === null) return 1;
        if (b === null) return -1;
        if (a !== b) return (a < b) === !descending ? -1 : 1;
        return (x.id < y.id) === !descending ? -1 : 1;
      };
      for (const sort of ['id', 'name', 'group', 'status', 'lastSeen', 'version'] as const) {
        for (const descending of [false, true]) {
          const want = [...refs].sort(compare(sort, descending)).map((r) => r.id);
          const pages: string[] = [];
          for (let offset = 0; offset < refs.length + 7; offset += 7) {
            const page = await both.fleet.queryInventory(query({ sort, descending, offset, limit: 7 }));
            expect(page.total).toBe(refs.length);
            pages.push(...page.rows.map((r) => r.deviceId));
          }
          expect(pages, `${sort} ${descending ? 'descending' : 'ascending'}`).toEqual(want);
        }
      }
    });

    it('refuses a bad inventory query, naming the field', async () => {
      const { fleet } = await fresh();
      const bad = async (q: Partial<InventoryQuery>) => {
        const err = await fleet.queryInventory(query(q)).then(() => null, (e: unknown) => e as { code?: string; message: string });
        return err && { code: err.code, message: err.message };
      };
      expect(await bad({ sort: 'hardware' as InventoryQuery['sort'] })).toMatchObject({ code: 'E_INVENTORY_QUERY', message: expect.stringContaining('sort') });
      expect(await bad({ offset: -1 })).toMatchObject({ code: 'E_INVENTORY_QUERY', message: expect.stringContaining('offset') });
      expect(await bad({ limit: 0 })).toMatchObject({ code: 'E_INVENTORY_QUERY', message: expect.stringContaining('limit') });
      expect(await bad({ limit: 1.5 })).toMatchObject({ code: 'E_INVENTORY_QUERY', message: expect.stringContaining('limit') });
      expect(await bad({ status: 'lost' as InventoryQuery['status'] })).toMatchObject({ code: 'E_INVENTORY_QUERY', message: expect.stringContaining('status') });
      expect(await bad({ feature: 'nft' as InventoryQuery['feature'] })).toMatchObject({ code: 'E_INVENTORY_QUERY', message: expect.stringContaining('feature') });
      expect(await bad({ feature: "cake') OR 1=1 --" as InventoryQuery['feature'] })).toMatchObject({ code: 'E_INVENTORY_QUERY' });
    });

    it('keeps operators: E_CONFLICT on a duplicate id or username, updates, counts', async () => {
      const { fleet } = await fresh();
      expect(await fleet.countOperators()).toBe(0);
      const admin = operator('op1', 'alice', { role: 'admin', domain: 'd1', disabledAtMs: T0 + 9 });
      await fleet.createOperator(admin);
      await fleet.createOperator(operator('op2', 'Bob'));
      expect(await codeOf(fleet.createOperator(operator('op1', 'carol')))).toBe('E_CONFLICT');
      expect(await codeOf(fleet.createOperator(operator('op3', 'alice')))).toBe('E_CONFLICT');
      expect(await fleet.countOperators()).toBe(2);
      expect(await fleet.getOperator('op1')).toEqual(admin);
      expect(await fleet.getOperatorByUsername('Bob')).toEqual(operator('op2', 'Bob'));
      expect(await fleet.getOperatorByUsername('bob')).toBeNull();
      expect(await fleet.getOperator('nope')).toBeNull();
      expect((await fleet.listOperators()).map((o) => o.username)).toEqual(['Bob', 'alice']);

      expect(await fleet.updateOperator('op1', { role: 'operator', domain: null, disabledAtMs: null, passwordHash: 'scrypt$new' })).toEqual(
        operator('op1', 'alice', { role: 'operator', passwordHash: 'scrypt$new' }),
      );
      expect(await fleet.updateOperator('op2', { disabledAtMs: T0 + 1 })).toEqual(operator('op2', 'Bob', { disabledAtMs: T0 + 1 }));
      expect(await fleet.updateOperator('op2', {})).toEqual(operator('op2', 'Bob', { disabledAtMs: T0 + 1 }));
      expect(await fleet.updateOperator('nope', { role: 'admin' })).toBeNull();
    });

    it('keeps web sessions until they expire or are ended', async () => {
      const { fleet } = await fresh();
      await fleet.createWebSession(webSession('t1', 'op1', T0 + 100));
      await fleet.createWebSession(webSession('t2', 'op1', T0 + 200));
      await fleet.createWebSession(webSession('t3', 'op2', T0 + 300));
      expect(await codeOf(fleet.createWebSession(webSession('t1', 'op2', T0 + 999)))).toBe('E_CONFLICT');
      expect(await fleet.getWebSession('t1', T0 + 99)).toEqual(webSession('t1', 'op1', T0 + 100));
      expect(await fleet.getWebSession('t1', T0 + 100)).toBeNull();
      expect(await fleet.getWebSession('nope', T0)).toBeNull();

      expect(await fleet.deleteExpiredSessions(T0 + 150)).toBe(1);
      expect(await fleet.deleteExpiredSessions(T0 + 150)).toBe(0);
      expect(await fleet.getWebSession('t2', T0)).toEqual(webSession('t2', 'op1', T0 + 200));

      await fleet.deleteOperatorSessions('op1');
      expect(await fleet.getWebSession('t2', T0)).toBeNull();
      expect(await fleet.getWebSession('t3', T0)).not.toBeNull();
      await fleet.deleteWebSession('t3');
      expect(await fleet.getWebSession('t3', T0)).toBeNull();
      await fleet.deleteWebSession('t3');
    });

    it('appends to the audit log and lists it newest first, paging back by sequence', async () => {
      const { fleet } = await fresh();
      const values = [{ a: [1, 'x', null, true] }, 'text', 42, null, [{ nested: { deep: 'ü' } }], false];
      const entries = [];
      for (const [i, before] of values.entries()) {
        entries.push(
          await fleet.appendAudit({ atMs: T0 + i, actor: i % 2 === 0 ? 'operator:alice' : 'cli', action: 'device.approve', target: `device:rt-${i % 3}`, before, after: i === 3 ? { state: 'approved' } : null }),
        );
      }
      for (let i = 1; i < entries.length; i++) expect(entries[i]!.seq).toBeGreaterThan(entries[i - 1]!.seq);
      expect(entries.map((e) => e.before)).toEqual(values);

      const all = await fleet.listAudit({ limit: 100 });
      expect(all).toEqual([...entries].reverse());
      const first = await fleet.listAudit({ limit: 2 });
      expect(first).toEqual([entries[5], entries[4]]);
      const next = await fleet.listAudit({ limit: 2, beforeSeq: first.at(-1)!.seq });
      expect(next).toEqual([entries[3], entries[2]]);
      expect(await fleet.listAudit({ limit: 10, beforeSeq: entries[0]!.seq })).toEqual([]);
      expect(await fleet.listAudit({ limit: 10, actor: 'cli' })).toEqual([entries[5], entries[3], entries[1]]);
      expect(await fleet.listAudit({ limit: 10, target: 'device:rt-0' })).toEqual([entries[3], entries[0]]);
      expect(await fleet.listAudit({ limit: 10, actor: 'operator:alice', target: 'device:rt-1', beforeSeq: entries[5]!.seq })).toEqual([entries[4]]);
    });
  });
}
