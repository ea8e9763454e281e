/**
 * In-memory stand-ins for the fleet store and the broker identities, for unit tests of the
 * enrolment and action services only (the real stores pass the contract suite). Each can be told
 * to fail, and counts writes, so that a test sees that a refused request touched nothing.
 */
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import type { BrokerIdentities } from './identities.ts';
import type { FleetConfigStore } from './store/config-types.ts';
import type { FleetCommandStore } from './store/commands-sql.ts';
import type {
  AuditEntry, AuditQuery, DeviceGroup, EnrolmentKey, FleetDevice, FleetDevicePatch, FleetState, FleetStateChange, FleetStore,
  InventoryPage, NewAuditEntry, Operator, WebSession,
} from './store/types.ts';

function conflict(what: string): Error {
  return Object.assign(new Error(`${what} exists`), { code: 'E_CONFLICT' });
}

export class MemoryFleetStore implements FleetStore {
  readonly backend = 'sqlite' as const;
  readonly groups = new Map<string, DeviceGroup>();
  readonly keys = new Map<string, EnrolmentKey>();
  readonly devices = new Map<string, FleetDevice>();
  readonly audit: AuditEntry[] = [];
  /** Every write, by method name. */
  readonly writes: string[] = [];
  /** When set, every method throws this. */
  failWith: Error | null = null;

  /** The enrolment and action services never touch configuration; the real stores cover it. */
  get config(): FleetConfigStore {
    throw new Error('the in-memory fleet store has no configuration tables');
  }

  /** Nor commands: the real stores cover them. */
  get commands(): FleetCommandStore {
    throw new Error('the in-memory fleet store has no command table');
  }

  private check(write?: string): void {
    if (this.failWith) throw this.failWith;
    if (write !== undefined) this.writes.push(write);
  }

  migrate(): Promise<void> {
    return Promise.resolve();
  }

  async putGroup(group: DeviceGroup): Promise<void> {
    this.check('putGroup');
    this.groups.set(group.id, group);
  }
  async getGroup(id: string): Promise<DeviceGroup | null> {
    this.check();
    return this.groups.get(id) ?? null;
  }
  async listGroups(): Promise<DeviceGroup[]> {
    this.check();
    return [...this.groups.values()];
  }

  async createKey(key: EnrolmentKey): Promise<void> {
    this.check('createKey');
    if (this.keys.has(key.id)) throw conflict(`key ${key.id}`);
    this.keys.set(key.id, key);
  }
  async getKey(id: string): Promise<EnrolmentKey | null> {
    this.check();
    return this.keys.get(id) ?? null;
  }
  async listKeys(group?: string): Promise<EnrolmentKey[]> {
    this.check();
    return [...this.keys.values()].filter((k) => group === undefined || k.group === group);
  }
  async revokeKey(id: string, atMs: number): Promise<boolean> {
    this.check('revokeKey');
    const key = this.keys.get(id);
    if (!key || key.revokedAtMs !== null) return false;
    this.keys.set(id, { ...key, revokedAtMs: atMs });
    return true;
  }
  async noteKeyUse(id: string, atMs: number): Promise<void> {
    this.check('noteKeyUse');
    const key = this.keys.get(id);
    if (key) this.keys.set(id, { ...key, uses: key.uses + 1, lastUsedAtMs: atMs });
  }

  async getFleetDevice(deviceId: string): Promise<FleetDevice | null> {
    this.check();
    return this.devices.get(deviceId) ?? null;
  }
  async getByHardwareId(hardwareId: string): Promise<FleetDevice | null> {
    this.check();
    return [...this.devices.values()].find((d) => d.hardwareId === hardwareId) ?? null;
  }
  async putFleetDevice(device: FleetDevice): Promise<void> {
    this.check('putFleetDevice');
    const other = [...this.devices.values()].find((d) => d.hardwareId === device.hardwareId && d.deviceId !== device.deviceId);
    if (other) throw conflict(`hardware id ${device.hardwareId}`);
    this.devices.set(device.deviceId, device);
  }
  async setFleetState(deviceId: string, change: FleetStateChange): Promise<FleetDevice | null> {
    this.check('setFleetState');
    const device = this.devices.get(deviceId);
    if (!device || (change.ifStateIn !== undefined && !change.ifStateIn.includes(device.state))) return null;
    const changed = { ...device, state: change.state, stateReason: change.reason, updatedAtMs: change.atMs };
    this.devices.set(deviceId, changed);
    return changed;
  }
  async patchFleetDevice(deviceId: string, patch: FleetDevicePatch): Promise<FleetDevice | null> {
    this.check('patchFleetDevice');
    const device = this.devices.get(deviceId);
    if (!device) return null;
    const changed: FleetDevice = {
      ...device,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.group !== undefined ? { group: patch.group } : {}),
      ...(patch.tags !== undefined ? { tags: patch.tags } : {}),
      ...(patch.site !== undefined ? { site: patch.site } : {}),
      updatedAtMs: patch.updatedAtMs,
    };
    this.devices.set(deviceId, changed);
    return changed;
  }
  async countByState(): Promise<Record<FleetState | 'unenrolled', number>> {
    this.check();
    const counts = { pending: 0, approved: 0, accepted: 0, rejected: 0, revoked: 0, unenrolled: 0 };
    for (const d of this.devices.values()) counts[d.state] += 1;
    return counts;
  }
  queryInventory(): Promise<InventoryPage> {
    return Promise.reject(new Error('not in the memory fake'));
  }

  createOperator(_operator: Operator): Promise<void> {
    return Promise.reject(new Error('not in the memory fake'));
  }
  getOperator(): Promise<Operator | null> {
    return Promise.resolve(null);
  }
  getOperatorByUsername(): Promise<Operator | null> {
    return Promise.resolve(null);
  }
  listOperators(): Promise<Operator[]> {
    return Promise.resolve([]);
  }
  updateOperator(): Promise<Operator | null> {
    return Promise.resolve(null);
  }
  countOperators(): Promise<number> {
    return Promise.resolve(0);
  }
  createWebSession(_session: WebSession): Promise<void> {
    return Promise.reject(new Error('not in the memory fake'));
  }
  getWebSession(): Promise<WebSession | null> {
    return Promise.resolve(null);
  }
  deleteWebSession(): Promise<void> {
    return Promise.resolve();
  }
  deleteOperatorSessions(): Promise<void> {
    return Promise.resolve();
  }
  deleteExpiredSessions(): Promise<number> {
    return Promise.resolve(0);
  }

  async appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    this.check('appendAudit');
    const full = { ...entry, seq: this.audit.length + 1 };
    this.audit.push(full);
    return full;
  }
  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    this.check();
    return this.audit
      .filter((e) => (query.actor === undefined || e.actor === query.actor) && (query.target === undefined || e.target === query.target) && (query.beforeSeq === undefined || e.seq < query.beforeSeq))
      .reverse()
      .slice(0, query.limit);
  }
}

/** Broker logins in memory: username -> password and whether enabled. */
export class MemoryIdentities implements BrokerIdentities {
  readonly kind = 'embedded' as const;
  readonly logins = new Map<string, { password: string; enabled: boolean }>();
  readonly calls: string[] = [];
  /** When set, every call fails with this code. */
  failCode: string | null = null;

  private done(call: string): Result<void> {
    this.calls.push(call);
    return this.failCode === null ? ok(undefined) : fail(coreError(this.failCode, `${call} failed (told to)`));
  }

  async prepare(): Promise<Result<void>> {
    return this.done('prepare');
  }
  async upsertDevice(deviceId: string, password: string): Promise<Result<void>> {
    const r = this.done(`upsert ${deviceId}`);
    if (r.ok) this.logins.set(deviceId, { password, enabled: true });
    return r;
  }
  async disableDevice(deviceId: string): Promise<Result<void>> {
    const r = this.done(`disable ${deviceId}`);
    const login = this.logins.get(deviceId);
    if (r.ok && login) login.enabled = false;
    return r;
  }
  async enableDevice(deviceId: string): Promise<Result<void>> {
    const r = this.done(`enable ${deviceId}`);
    const login = this.logins.get(deviceId);
    if (r.ok && login) login.enabled = true;
    return r;
  }
  async removeDevice(deviceId: string): Promise<Result<void>> {
    const r = this.done(`remove ${deviceId}`);
    if (r.ok) this.logins.delete(deviceId);
    return r;
  }
}
