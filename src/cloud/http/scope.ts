/**
 * What a domain-scoped operator may see: devices of groups in its domain, or of groups open to
 * every domain (domain null). Routers with a hand-made login (no fleet record) belong to no
 * group and are shown to unscoped operators only. The same rule as the fleet store's
 * InventoryQuery.domains and FleetActions' actor check, applied here to the server's records
 * (gates, sessions, usage) that carry a device id but no domain.
 */
import type { FleetStore } from '../fleet/store/types.ts';

export class Scope {
  private readonly groupDomain = new Map<string, string | null>();
  private readonly visibleDevices = new Map<string, boolean>();

  /** `domain` null: sees everything. One Scope serves one request, so its caches are never stale for long. */
  constructor(
    private readonly fleet: FleetStore,
    readonly domain: string | null,
  ) {}

  get all(): boolean {
    return this.domain === null;
  }

  /** For FleetStore queries: absent for an unscoped operator. */
  get domains(): readonly string[] | undefined {
    return this.domain === null ? undefined : [this.domain];
  }

  async groupVisible(groupId: string): Promise<boolean> {
    if (this.domain === null) return true;
    if (!this.groupDomain.has(groupId)) {
      const group = await this.fleet.getGroup(groupId);
      this.groupDomain.set(groupId, group === null ? this.domain + '\u0000unknown' : group.domain);
    }
    const d = this.groupDomain.get(groupId);
    return d === null || d === this.domain;
  }

  domainVisible(domain: string | null): boolean {
    return this.domain === null || domain === null || domain === this.domain;
  }

  async deviceVisible(deviceId: string): Promise<boolean> {
    if (this.domain === null) return true;
    const known = this.visibleDevices.get(deviceId);
    if (known !== undefined) return known;
    const device = await this.fleet.getFleetDevice(deviceId);
    const visible = device !== null && (await this.groupVisible(device.group));
    this.visibleDevices.set(deviceId, visible);
    return visible;
  }

  async filter<T>(items: readonly T[], deviceOf: (item: T) => readonly string[]): Promise<T[]> {
    if (this.domain === null) return [...items];
    const out: T[] = [];
    for (const item of items) {
      let visible = false;
      for (const d of deviceOf(item)) if (await this.deviceVisible(d)) visible = true;
      if (visible) out.push(item);
    }
    return out;
  }
}
