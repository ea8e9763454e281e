/**
 * How a call's stored lines read to call control: one `session.state` body. The call is `active`
 * only when every line that has gates is active (authorized is not installed); any failed line
 * makes it `failed`; it is `rejected` when every line was; `pending` while installs or removals
 * are outstanding.
 */
import { MAX_LINE_GATES, MAX_MEDIA_LINES, type SessionState, type SessionStateBody } from '../../core/protocol/messages/cc.ts';
import { REASON_MAX } from '../../core/protocol/limits.ts';
import { bounded } from '../../core/text/bounded.ts';
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

/**
 * The lines an answer lists: all of them in m-line order, or when a call has gathered more than
 * one answer may list (each request carries at most MAX_MEDIA_LINES, but a later one may name
 * other m-lines), the unfinished ones first.
 */
function listed(sorted: readonly SessionRecord[]): readonly SessionRecord[] {
  if (sorted.length <= MAX_MEDIA_LINES) return sorted;
  const finished = (l: SessionRecord) => l.state === 'ended' || l.state === 'rejected';
  return [...sorted.filter((l) => !finished(l)), ...sorted.filter(finished)].slice(0, MAX_MEDIA_LINES).sort((a, b) => a.line - b.line);
}

/** A stored reason as the answer carries it: reasons are bounded when made (reasons.ts), and again here for rows stored before. */
const shown = (reason: string | null): string | null => (reason === null ? null : bounded(reason, REASON_MAX));

export function sessionView(callId: string, lines: readonly SessionRecord[], gates: readonly GateRecord[]): SessionStateBody {
  const sorted = [...lines].sort((a, b) => a.line - b.line);
  const state = overallState(sorted);
  const reason = sorted.find((l) => l.state === state && l.reason !== null)?.reason ?? sorted.find((l) => l.reason !== null)?.reason ?? null;
  return {
    callId,
    state,
    reason: shown(reason),
    lines: listed(sorted).map((l) => ({
      line: l.line,
      state: l.state,
      reason: shown(l.reason),
      gates: gates
        .filter((g) => g.callId === callId && g.line === l.line && g.state !== 'removed' && g.state !== 'failed')
        .slice(0, MAX_LINE_GATES)
        .map((g) => ({ device: g.device, id: g.id, dscp: g.gate.dscp, rateKbps: g.rateKbps })),
    })),
  };
}
