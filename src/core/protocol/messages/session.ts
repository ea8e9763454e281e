/**
 * Session messages: how a device and a server open, keep and close their relationship
 * (RFC 2748 sections 3.6-3.9), and the device's retained presence.
 */
import { agentVersion, deviceId, keepaliveS, stateVersion, text, timestamp } from '../fields.ts';
import { arr, bool, int, obj, oneOf, type Infer } from '../schema.ts';
import { BOARD_TARGET_MAX, BOARD_TEXT_MAX, REASON_MAX } from '../limits.ts';

/** Queue disciplines an agent can build its EF class with (DESIGN.md section 3). */
export const QUEUE_BACKENDS = ['htb', 'cake'] as const;
export type QueueBackend = (typeof QUEUE_BACKENDS)[number];

/**
 * `open` (device -> server; COPS Client-Open, OPN, RFC 2748 section 3.6): the first message after every connect.
 * Says what the agent is and can do, and the keep-alive interval it would like.
 */
export const openBody = obj({
  agentVersion,
  /** From ubus `system board`: model, board_name, release.description, release.target. */
  board: obj({ model: text(BOARD_TEXT_MAX, 1), name: text(BOARD_TEXT_MAX, 1), release: text(BOARD_TEXT_MAX, 1), target: text(BOARD_TARGET_MAX, 1) }),
  capabilities: obj({
    queues: arr(oneOf(QUEUE_BACKENDS), { min: 1, max: QUEUE_BACKENDS.length, unique: { key: (q) => q } }),
    ipv6: bool(),
    /** How many gates the device can hold at once. */
    maxGates: int({ min: 1, max: 65535 }),
  }),
  /**
   * The shaped link and its priority share, from UCI (`uplink_kbit`, `downlink_kbit`,
   * `ef_budget_percent`): the server admits gates against this budget in each direction.
   */
  link: obj({
    upKbps: int({ min: 1, max: 100000000 }),
    downKbps: int({ min: 1, max: 100000000 }),
    efBudgetPercent: int({ min: 1, max: 100 }),
  }),
  keepaliveS,
});

/**
 * `accept` (server -> device, corr = the open; COPS Client-Accept, CAT, section 3.7): the server takes the
 * device on. `keepaliveS` is binding for both sides; `accountingS` is the interim usage report
 * interval (COPS AcctTimer; 0 = reports only when gates end); `version` is the desired-state
 * version the device should reach (a sync follows when it differs).
 */
export const acceptBody = obj({
  server: deviceId,
  keepaliveS,
  accountingS: int({ min: 0, max: 86400 }),
  version: stateVersion,
});

export const CLOSE_REASONS = [
  'shutdown',
  'restart',
  'protocol-error',
  'version-unsupported',
  'auth-failure',
  'keepalive-timeout',
  'replaced',
  'unspecified',
] as const;

/**
 * `close` (either side; COPS Client-Close, CC, section 3.8): the sender ends the relationship. `replaced`
 * means a newer session of the same device took over; the device reopens after `restart`.
 */
export const closeBody = obj({ reason: oneOf(CLOSE_REASONS), text: text(REASON_MAX) });

/**
 * `keepalive` (either side; COPS Keep-Alive, KA, section 3.9): proves the peer is alive within the
 * accepted interval. The body is always `{}`.
 */
export const keepaliveBody = obj({});

/**
 * `status` (device, retained on its status topic; no COPS counterpart): presence for fleet
 * management. The broker publishes the `offline` one as the device's will.
 */
export const statusBody = obj({ state: oneOf(['online', 'offline']), agentVersion, since: timestamp });

export type OpenBody = Infer<typeof openBody>;
export type AcceptBody = Infer<typeof acceptBody>;
export type CloseBody = Infer<typeof closeBody>;
export type CloseReason = (typeof CLOSE_REASONS)[number];
export type KeepaliveBody = Infer<typeof keepaliveBody>;
export type StatusBody = Infer<typeof statusBody>;
