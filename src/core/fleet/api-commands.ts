/**
 * The operators' API for remote commands to routers (src/core/protocol/messages/fleet.ts):
 * request schemas, response types and routes, joined into `ROUTES` in ./api.ts.
 *
 * A command has an id, a deadline and a state:
 *
 *   queued        stored; the router is offline, so it waits for the router's next `open`
 *   sent          on the router's downlink; no result yet
 *   acknowledged  the router answered, the server finishes its part (the new password set on the
 *                 broker and the router not back yet; the next diagnostics part asked for)
 *   succeeded     done (the result's data is kept with it)
 *   failed        the router (or the server's part) refused it: `error` says why
 *   timed-out     sent, but not finished by the deadline
 *   expired       never sent: the router stayed offline until the deadline
 *
 * This module imports only types from ./api.ts: api.ts imports COMMAND_ROUTES from here.
 */
import { DEVICE_ID } from '../protocol/fields.ts';
import { COMMANDS, commandBody, type CommandName } from '../protocol/messages/fleet.ts';
import { int, obj, oneOf, optional, str, type Infer } from '../protocol/schema.ts';
import type { Role, RouteSpec } from './api.ts';

export { COMMANDS, type CommandName };

export const COMMAND_STATES = ['queued', 'sent', 'acknowledged', 'succeeded', 'failed', 'timed-out', 'expired'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];
/** States a command does not leave. */
export const FINAL_COMMAND_STATES: readonly CommandState[] = ['succeeded', 'failed', 'timed-out', 'expired'];

/** Deadline bounds (seconds from the request): long enough for a router to come back, at most a day. */
export const COMMAND_DEADLINE_MIN_S = 5;
export const COMMAND_DEADLINE_MAX_S = 86_400;
export const COMMAND_DEADLINE_DEFAULT_S = 120;

/**
 * Who may send each command. Reading and routine actions are the operator's; rotating a router's
 * broker password changes its identity on the broker, like approval and revocation: admin.
 */
export const COMMAND_ROLE: Record<CommandName, Role> = {
  status: 'operator', reload: 'operator', gates: 'operator', stats: 'operator', interfaces: 'operator', resync: 'operator',
  restart: 'operator', 'rotate-credentials': 'admin', diagnostics: 'operator', 'test-gate': 'operator',
};

const deviceId = str({ min: 1, max: 64, pattern: DEVICE_ID, format: 'device id' });
const commandId = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]{1,64}$/, format: 'command id' });

/** The arguments as the protocol's `command` carries them (one schema for both). */
export const sendCommandBody = obj({
  name: oneOf(COMMANDS),
  args: optional(commandBody.shape.args),
  deadlineS: optional(int({ min: COMMAND_DEADLINE_MIN_S, max: COMMAND_DEADLINE_MAX_S })),
});
export type SendCommandBody = Infer<typeof sendCommandBody>;

/** How many of a router's commands the list returns (the newest). */
export const COMMAND_LIST_MAX = 100;

export const deviceCommandParams = obj({ id: deviceId });
export const commandParams = obj({ id: commandId });

export interface CommandError {
  readonly code: string;
  readonly message: string;
}

export interface CommandView {
  readonly id: string;
  readonly deviceId: string;
  readonly name: CommandName;
  readonly args: Readonly<Record<string, string>>;
  readonly state: CommandState;
  /** `operator:<username>`. */
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly deadlineMs: number;
  readonly sentAtMs: number | null;
  readonly finishedAtMs: number | null;
  readonly error: CommandError | null;
}

/** One command with its result's data: the router's answer; diagnostics' parts together as `{parts: [...]}`. */
export interface CommandDetail extends CommandView {
  readonly data: unknown;
}

const p = '/api/v1';

export const COMMAND_ROUTES = [
  { name: 'sendCommand', method: 'POST', path: `${p}/devices/:id/commands`, access: 'operator', params: deviceCommandParams, body: sendCommandBody, scoped: true, response: 'CommandView', summary: 'Send a command to a router (queued until it is online, or until its deadline); rotate-credentials needs admin' },
  { name: 'listCommands', method: 'GET', path: `${p}/devices/:id/commands`, access: 'viewer', params: deviceCommandParams, scoped: true, response: 'Rows<CommandView>', summary: 'A router\'s last 100 commands, newest first' },
  { name: 'getCommand', method: 'GET', path: `${p}/commands/:id`, access: 'viewer', params: commandParams, scoped: true, response: 'CommandDetail', summary: 'One command with its state and the router\'s result' },
] as const satisfies readonly RouteSpec[];
