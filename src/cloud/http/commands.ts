/**
 * Handlers of the remote-command routes (src/core/fleet/api-commands.ts). Domain scope as
 * elsewhere: a command is visible when its router is (another domain's answers 404). The role
 * the route needs is checked in app.ts; a command that needs more (COMMAND_ROLE) is checked by the
 * command service.
 */
import { COMMAND_LIST_MAX, type CommandDetail, type CommandView, type SendCommandBody } from '../../core/fleet/api-commands.ts';
import type { RouteName, Rows } from '../../core/fleet/api.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import type { CommandRecord } from '../fleet/store/commands-sql.ts';
import type { Call, HandlerDeps } from './handlers.ts';

const notFound = (what: string): Result<never> => fail({ code: 'E_NOT_FOUND', message: `no such ${what}`, path: 'params.id' });
const off: Result<never> = fail({ code: 'E_STATE', message: 'remote commands need the fleet part: start the server with --identities embedded or dynsec' });

function commandView(c: CommandRecord): CommandView {
  return {
    id: c.id, deviceId: c.deviceId, name: c.name, args: c.args, state: c.state, createdBy: c.createdBy, createdAtMs: c.createdAtMs,
    deadlineMs: c.deadlineMs, sentAtMs: c.sentAtMs, finishedAtMs: c.finishedAtMs, error: c.error,
  };
}

const idOf = (c: Call): string => (c.params as { id: string }).id;

async function sendCommand(d: HandlerDeps, c: Call<SendCommandBody>): Promise<Result<CommandView>> {
  if (!d.commands) return off;
  const id = idOf(c);
  if (!(await c.scope.deviceVisible(id))) return notFound('device');
  const sent = await d.commands.submit(c.actor, c.who.operator.role, id, c.body);
  return sent.ok ? ok(commandView(sent.value)) : sent;
}

async function listCommands(d: HandlerDeps, c: Call): Promise<Result<Rows<CommandView>>> {
  if (!d.commands) return off;
  const id = idOf(c);
  if (!(await c.scope.deviceVisible(id))) return notFound('device');
  return ok({ rows: (await d.commands.list(id, COMMAND_LIST_MAX)).map(commandView) });
}

async function getCommand(d: HandlerDeps, c: Call): Promise<Result<CommandDetail>> {
  if (!d.commands) return off;
  const command = await d.commands.get(idOf(c));
  if (command === null || !(await c.scope.deviceVisible(command.deviceId))) return notFound('command');
  return ok({ ...commandView(command), data: command.data });
}

type Handler = (deps: HandlerDeps, call: Call<never, never, never>) => Promise<Result<unknown>>;

export const COMMAND_HANDLERS: Partial<Record<RouteName, Handler>> = { sendCommand, listCommands, getCommand };
