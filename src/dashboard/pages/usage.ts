/** Usage reports joined to gates: the newest report of each gate (pure). */
import type { UsageView } from '../../core/fleet/api.ts';

export function latestUsageByGate(rows: readonly UsageView[]): Map<string, UsageView> {
  const byGate = new Map<string, UsageView>();
  for (const row of rows) {
    const seen = byGate.get(row.gateId);
    if (!seen || row.receivedAtMs > seen.receivedAtMs) byGate.set(row.gateId, row);
  }
  return byGate;
}
