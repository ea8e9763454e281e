/**
 * How a call's stored lines read to call control: one `session.state` body. The call is `active`
 * only when every line that has gates is active (authorized is not installed); any failed line
 * makes it `failed`; it is `rejected` when every line was; `pending` while installs or removals
 * are outstanding.
 */
import type { SessionState, SessionStateBody } from '../../core/protocol/messages/cc.ts';
import type { GateRecord, SessionRecord } from '../store/types.ts';

/** Lines in the order of their m-line index. */
export function overallState(lines: readonly SessionRecord[]): SessionState {
  const states = new Set(lines.map((l) => l.state));
  if (states.size === 0) return 'ended';
  if (states.has('failed')) return 'failed';
  if (states.has('pending')) return 'pending';
  if (states.has('ending')) return 'ending';
  if (states.has('active')) return 'active';
  if (states.has('rejected') && !states.has('ended')) return 'rejected';
  return 'ended';
}

export function sessionView(callId: string, lines: readonly SessionRecord[], gates: readonly GateRecord[]): SessionStateBody {
  const sorted = [...lines].sort((a, b) => a.line - b.line);
  const state = overallState(sorted);
  const reason = sorted.find((l) => l.state === state && l.reason !== null)?.reason ?? sorted.find((l) => l.reason !== null)?.reason ?? null;
  return {
    callId,
    state,
    reason,
    lines: sorted.map((l) => ({
      line: l.line,
      state: l.state,
      reason: l.reason,
      gates: gates
        .filter((g) => g.callId === callId && g.line === l.line && g.state !== 'removed' && g.state !== 'failed')
        .slice(0, 4)
        .map((g) => ({ device: g.device, id: g.id, dscp: g.gate.dscp, rateKbps: g.rateKbps })),
    })),
  };
}
