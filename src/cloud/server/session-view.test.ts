import { describe, expect, it } from 'vitest';
import { REASON_MAX } from '../../core/protocol/limits.ts';
import { MAX_MEDIA_LINES, sessionStateBody } from '../../core/protocol/messages/cc.ts';
import { validate } from '../../core/protocol/schema.ts';
import type { SessionRecord } from '../store/types.ts';
import { sessionView } from './session-view.ts';

function line(n: number, state: SessionRecord['state'], reason: string | null = null): SessionRecord {
  return { callId: 'c1', line: n, client: 'pbx-1', state, spec: {}, reason, gateIds: [], createdAtMs: 0, updatedAtMs: 0, deadlineMs: null, activeAtMs: null, endedAtMs: null };
}

describe('sessionView', () => {
  it('always fits session.state: a stored reason past the bound (stored before reasons were bounded) is cut', () => {
    const view = sessionView('c1', [line(0, 'rejected', `E_NO_ROUTER: ${'x'.repeat(400)}`)], []);
    expect(view.reason).toHaveLength(REASON_MAX);
    expect(view.lines[0]!.reason).toHaveLength(REASON_MAX);
    expect(validate(sessionStateBody, view).ok).toBe(true);
  });

  it('lists at most the lines an answer may carry, the unfinished ones first, in m-line order', () => {
    // A call that gathered 20 lines over several requests: lines 0..9 ended, 10..19 active.
    const lines = Array.from({ length: 20 }, (_, n) => line(n, n < 10 ? 'ended' : 'active'));
    const view = sessionView('c1', lines, []);
    expect(view.lines).toHaveLength(MAX_MEDIA_LINES);
    // All ten active lines, then the first six ended ones to fill the answer.
    expect(view.lines.map((l) => l.line)).toEqual([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(view.state).toBe('active');
    expect(validate(sessionStateBody, view).ok).toBe(true);
  });
});
