/**
 * Store records as the API shows them (src/core/fleet/api.ts): secrets and hashes left out.
 * The assignments below also check at compile time that each record still fits its view.
 */
import type { AuditEntryView, EnrolmentKeyView, FleetDeviceView, GateView, GroupView, InventoryRowView, OperatorIdentity, OperatorView, PresenceView, UsageView } from '../../core/fleet/api.ts';
import type { AuditEntry, DeviceGroup, EnrolmentKey, FleetDevice, InventoryRow, Operator } from '../fleet/store/types.ts';
import type { DeviceRecord, GateRecord, UsageRecord } from '../store/types.ts';

export function operatorIdentity(o: Operator): OperatorIdentity {
  return { id: o.id, username: o.username, role: o.role, domain: o.domain };
}

export function operatorView(o: Operator): OperatorView {
  return { ...operatorIdentity(o), createdAtMs: o.createdAtMs, disabledAtMs: o.disabledAtMs };
}

export function keyView(k: EnrolmentKey): EnrolmentKeyView {
  return {
    id: k.id, group: k.group, label: k.label, createdAtMs: k.createdAtMs, createdBy: k.createdBy,
    expiresAtMs: k.expiresAtMs, revokedAtMs: k.revokedAtMs, uses: k.uses, lastUsedAtMs: k.lastUsedAtMs,
  };
}

export const groupView = (g: DeviceGroup): GroupView => g;
export const fleetDeviceView = (d: FleetDevice): FleetDeviceView => d;
export const inventoryRowView = (r: InventoryRow): InventoryRowView => r;
export const gateView = (g: GateRecord): GateView => g;
export const usageView = (u: UsageRecord): UsageView => u;
export const auditView = (a: AuditEntry): AuditEntryView => a;

export function presenceView(d: DeviceRecord): PresenceView {
  return {
    status: d.status, statusAtMs: d.statusAtMs, lastSeenMs: d.lastSeenMs, agentVersion: d.agentVersion, board: d.board,
    link: d.link, desiredVersion: d.desiredVersion, reportedVersion: d.reportedVersion,
  };
}
