/**
 * The session state machine, written down as data: for each media line of a call (the unit the
 * server keeps state for), which event moves it from which state to which, and which decisions
 * the routers get because of it. The session manager (sessions.ts) implements these moves;
 * `session-machine.test.ts` drives the real manager through every row of this table, and
 * docs/protocol.md carries the same table, rendered by `renderTransitionTable`, so that the
 * three cannot drift apart.
 *
 * The states are the store's SessionState. `new` stands for a line the server has not seen.
 */
import type { SessionState } from '../store/types.ts';

export const SESSION_EVENTS = {
  request: 'session add with media both routers can carry',
  'request-refused': "session add that does not fit a router's EF budget",
  'request-no-stream': 'session add whose only stream is removed (port 0)',
  'same-request': 'the same add again (a retransmission)',
  'all-installed': 'every router involved reports success',
  'one-installed': 'one of two routers reports success',
  'install-failed': 'a router reports failure for its gate',
  'install-deadline': 'the decision deadline passes without every report',
  'router-offline': "a router's will or status says offline (offline policy `fail`)",
  'deadline-router-offline': 'the decision deadline passes while the router that has not reported is offline (offline policy `wait`)',
  'gate-lost': 'a router reports that it removed a gate by itself (`delete`, e.g. expired)',
  'media-changed': 're-INVITE or UPDATE that moves the media (session modify)',
  'media-change-refused': "modify that no longer fits a router's EF budget",
  'stream-removed': 'modify that removes the stream (port 0)',
  delete: 'session delete (BYE, CANCEL)',
  'all-removed': 'every router confirms the removal (success or final usage)',
  'removal-deadline': 'the removal deadline passes without every confirmation',
} as const;

export type SessionEvent = keyof typeof SESSION_EVENTS;
export type LineState = SessionState | 'new';
export type DecisionType = 'decision.install' | 'decision.modify' | 'decision.remove';

export interface Transition {
  readonly from: LineState;
  readonly event: SessionEvent;
  readonly to: LineState;
  /** The decisions the event sends, by type; empty when the routers hear nothing. */
  readonly sends: readonly DecisionType[];
  readonly note: string;
}

const t = (from: LineState, event: SessionEvent, to: LineState, sends: readonly DecisionType[], note: string): Transition => ({ from, event, to, sends, note });

export const SESSION_TRANSITIONS: readonly Transition[] = [
  t('new', 'request', 'pending', ['decision.install'], 'gates planned, admitted and stored in one transaction; decisions to both routers'),
  t('new', 'request-refused', 'rejected', [], 'nothing installed anywhere; the reason names the router and direction (the call goes best effort)'),
  t('new', 'request-no-stream', 'rejected', [], 'no gate to install; the reason says why (stream removed or inactive)'),
  t('pending', 'same-request', 'pending', [], 'idempotent by call id and media line'),
  t('pending', 'one-installed', 'pending', [], 'QoS-active only when every router has reported'),
  t('pending', 'all-installed', 'active', [], 'the answer to call control says active'),
  t('pending', 'install-failed', 'failed', ['decision.remove'], "rolled back: the other router's gate is removed; the reason names the router and its error"),
  t('pending', 'install-deadline', 'failed', ['decision.remove'], 'rolled back; the reason names the routers that did not report'),
  t('pending', 'router-offline', 'failed', ['decision.remove'], 'with offline policy `wait` the line stays pending and the router gets the gate on resync'),
  t('pending', 'deadline-router-offline', 'pending', [], 'the call goes on best effort; the router gets the gate when it resynchronises, and the line turns active'),
  t('pending', 'delete', 'ending', ['decision.remove'], 'a CANCEL before the installs were confirmed'),
  t('active', 'same-request', 'active', [], 'idempotent'),
  t('active', 'all-installed', 'active', [], 'a repeated report changes nothing'),
  t('active', 'media-changed', 'pending', ['decision.modify'], 'each gate is replaced in place in one nft transaction: marking never stops'),
  t('active', 'media-change-refused', 'active', [], 'the old gates keep marking; the reason says the change was refused'),
  t('active', 'stream-removed', 'ending', ['decision.remove'], ''),
  t('active', 'gate-lost', 'failed', ['decision.remove'], "the call lost its QoS; the other router's gate is removed too"),
  t('active', 'delete', 'ending', ['decision.remove'], 'BYE: the routers remove the gates and report final usage'),
  t('ending', 'all-removed', 'ended', [], 'usage recorded once per gate'),
  t('ending', 'removal-deadline', 'ended', [], 'gates marked removed unconfirmed; their lifetime removes what a lost removal left'),
  t('ending', 'delete', 'ending', [], 'a repeated delete changes nothing'),
  t('failed', 'delete', 'ended', [], ''),
  t('failed', 'same-request', 'failed', [], 'a finished line is not revived: a new call id is a new session'),
  t('rejected', 'delete', 'ended', [], ''),
  t('rejected', 'same-request', 'rejected', [], 'idempotent'),
  t('ended', 'same-request', 'ended', [], 'a finished line is not revived'),
  t('ended', 'delete', 'ended', [], ''),
];

/** The table as Markdown, for docs/protocol.md. */
export function renderTransitionTable(): string {
  const rows = SESSION_TRANSITIONS.map((r) => `| ${r.from} | ${r.event} | ${r.to} | ${r.sends.length === 0 ? '—' : r.sends.join(', ')} | ${r.note} |`);
  const events = Object.entries(SESSION_EVENTS).map(([name, meaning]) => `| ${name} | ${meaning} |`);
  return [
    '| event | what happened |',
    '| --- | --- |',
    ...events,
    '',
    '| from | event | to | decisions sent | notes |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
