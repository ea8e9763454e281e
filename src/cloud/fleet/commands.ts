/**
 * Remote commands to routers (issue 15, section 4): each gets an id, a deadline and a state
 * (src/core/fleet/api-commands.ts says what each state means), is kept in the fleet store, and is
 * in the audit log when it is asked for and when it ends (who, what, args, outcome).
 *
 * - A command for an online router goes out at once; one for an offline router waits in the store
 *   and goes out when the router is back (any server instance: the one that takes its message
 *   sends what is queued), or expires at its deadline. "Back" is the sync request a router sends
 *   after each accept, not its open: by then its downlink subscription is surely in place, while
 *   a command sent on the open can reach the broker before the router subscribed, and be lost.
 * - A result is matched to its command by corr (the id of the message last sent for it), so any
 *   instance can take it; each change of state is a compare-and-set in the store.
 * - rotate-credentials: the router's result carries its new password; the server sets it on the
 *   broker (dynamic security ends the router's connection itself; the embedded broker is told to),
 *   and the command succeeds when the router has opened again, with the new password. The
 *   password is never stored or logged.
 * - diagnostics: the server asks for the parts one after another and keeps them together.
 */
import { randomUUID } from 'node:crypto';
import {
  COMMAND_DEADLINE_DEFAULT_S, COMMAND_ROLE, type CommandName, type CommandState, type SendCommandBody,
} from '../../core/fleet/api-commands.ts';
import type { Message, MessageOf } from '../../core/protocol/envelope.ts';
import type { CommandBody } from '../../core/protocol/messages/fleet.ts';
import { BROKER_PASSWORD } from '../../core/protocol/messages/enrol.ts';
import type { Logger } from '../../core/log.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';
import type { Store } from '../store/types.ts';
import type { Actor } from './actions.ts';
import type { BrokerIdentities } from './identities.ts';
import type { CommandRecord, CommandUpdate } from './store/commands-sql.ts';
import type { FleetStore } from './store/types.ts';
import type { JsonValue } from '../store/types.ts';

const OPEN_STATES: readonly CommandState[] = ['queued', 'sent', 'acknowledged'];
const ANSWERABLE: readonly CommandState[] = ['sent', 'acknowledged'];
/** The diagnostics parts kept for one command: each is under 64 KiB, so at most 4 MiB. */
export const DIAGNOSTICS_PARTS_MAX = 64;

export interface CommandServiceDeps {
  readonly fleet: FleetStore;
  /** The server's store, for the routers' presence. */
  readonly store: Store;
  readonly identities: BrokerIdentities;
  /** Sends `command` on the router's downlink; the message's id is what its result's corr names. */
  readonly send: (deviceId: string, body: CommandBody) => Result<Message>;
  readonly log: Logger;
  readonly now?: () => number;
}

interface DiagnosticsData {
  readonly parts: { part: number; name: string; text: string }[];
}

export class CommandService {
  private readonly now: () => number;

  constructor(private readonly deps: CommandServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** An operator's command; the caller has checked that the actor may see the device. */
  async submit(actor: Actor, role: 'viewer' | 'operator' | 'admin', deviceId: string, body: SendCommandBody): Promise<Result<CommandRecord>> {
    const needed = COMMAND_ROLE[body.name];
    if (needed === 'admin' && role !== 'admin') return fail(coreError('E_FORBIDDEN', `command ${body.name} needs the admin role`, 'body.name'));
    const [device, fleetDevice] = await Promise.all([this.deps.store.getDevice(deviceId), this.deps.fleet.getFleetDevice(deviceId)]);
    if (device === null && fleetDevice === null) return fail(coreError('E_NOT_FOUND', 'no such device', 'params.id'));
    if (fleetDevice !== null && (fleetDevice.state === 'revoked' || fleetDevice.state === 'rejected')) {
      return fail(coreError('E_STATE', `device ${deviceId} is ${fleetDevice.state}: it takes no commands`, 'params.id'));
    }
    if (body.name === 'rotate-credentials' && fleetDevice?.state !== 'accepted') {
      return fail(coreError('E_STATE', 'rotate-credentials is for a router with an enrolled login (accepted in the fleet)', 'body.name'));
    }
    const at = this.now();
    const command: CommandRecord = {
      id: randomUUID(), deviceId, name: body.name, args: { ...(body.args ?? {}) }, state: 'queued', createdBy: actor.name, createdAtMs: at,
      deadlineMs: at + (body.deadlineS ?? COMMAND_DEADLINE_DEFAULT_S) * 1000, sentAtMs: null, finishedAtMs: null, messageId: null, error: null, data: null,
    };
    await this.deps.fleet.commands.createCommand(command);
    await this.deps.fleet.appendAudit({
      atMs: at, actor: actor.name, action: `command.${body.name}`, target: `device:${deviceId}`, before: null,
      after: { command: command.id, args: command.args, deadlineMs: command.deadlineMs },
    });
    const sent = device?.status === 'online' ? await this.sendQueued(command) : null;
    return ok(sent ?? command);
  }

  get(id: string): Promise<CommandRecord | null> {
    return this.deps.fleet.commands.getCommand(id);
  }

  list(deviceId: string, limit: number): Promise<CommandRecord[]> {
    return this.deps.fleet.commands.listDeviceCommands(deviceId, limit);
  }

  /**
   * Every message from a router's uplink passes here before the device link: results are taken,
   * and once the router is back (its sync request after an accept), its queued commands go out and
   * a rotation waiting for its return succeeds.
   */
  async fromDevice(deviceId: string, message: Message, next: () => Promise<void>): Promise<void> {
    if (message.type === 'result') {
      if (message.device === deviceId) await this.result(deviceId, message);
      return;
    }
    await next();
    if (message.type === 'sync.request' && message.body.part.index === 0) await this.deviceBack(deviceId);
  }

  private async deviceBack(deviceId: string): Promise<void> {
    for (const command of await this.deps.fleet.commands.listCommandsIn(['queued', 'acknowledged'], deviceId)) {
      if (command.state === 'queued') await this.sendQueued(command);
      else if (command.name === 'rotate-credentials') {
        await this.finish(command, ['acknowledged'], 'succeeded', { data: command.data });
        this.deps.log.info('router back with its new broker password', { device: deviceId, command: command.id });
      }
    }
  }

  /** Sends a queued command (claimed first, so that two instances never both send it). */
  private async sendQueued(command: CommandRecord): Promise<CommandRecord | null> {
    if (command.deadlineMs <= this.now()) return this.finish(command, ['queued'], 'expired', {});
    const claimed = await this.deps.fleet.commands.updateCommand(command.id, { state: 'sent', ifStateIn: ['queued'], sentAtMs: this.now() });
    if (claimed === null) return null;
    const args = command.name === 'diagnostics' ? { ...command.args, part: '0' } : command.args;
    return this.sendMessage(claimed, args, 'sent');
  }

  private async sendMessage(command: CommandRecord, args: Readonly<Record<string, string>>, state: 'sent' | 'acknowledged', extra: Partial<CommandUpdate> = {}): Promise<CommandRecord | null> {
    const message = this.deps.send(command.deviceId, { name: command.name, args: { ...args } });
    if (!message.ok) return this.finish(command, [state], 'failed', { error: { code: message.error.code, message: `cannot send: ${message.error.message}` } });
    return this.deps.fleet.commands.updateCommand(command.id, { ...extra, state, ifStateIn: [state], messageId: message.value.id });
  }

  private async result(deviceId: string, message: MessageOf<'result'>): Promise<void> {
    const corr = message.corr;
    if (corr === undefined) return;
    const command = await this.deps.fleet.commands.getCommandByMessage(corr);
    if (command === null || command.deviceId !== deviceId || !ANSWERABLE.includes(command.state)) {
      this.deps.log.debug('result for no open command; dropped', { device: deviceId, corr });
      return;
    }
    const body = message.body;
    if (!body.ok) {
      await this.finish(command, ANSWERABLE, 'failed', { error: { code: body.error.code, message: body.error.message } });
      return;
    }
    switch (command.name) {
      case 'rotate-credentials':
        return this.rotated(command, body.data);
      case 'diagnostics':
        return this.diagnosticsPart(command, body.data);
      default:
        await this.finish(command, ANSWERABLE, 'succeeded', { data: body.data });
    }
  }

  private async rotated(command: CommandRecord, data: JsonValue): Promise<void> {
    const password = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as { password?: unknown }).password : undefined;
    if (typeof password !== 'string' || !BROKER_PASSWORD.test(password)) {
      await this.finish(command, ['sent'], 'failed', { error: { code: 'E_RESULT', message: 'the router answered without a valid password' } });
      return;
    }
    const acknowledged = await this.deps.fleet.commands.updateCommand(command.id, { state: 'acknowledged', ifStateIn: ['sent'], data: { rotatedAtMs: this.now() } });
    if (acknowledged === null) return;
    const set = await this.deps.identities.upsertDevice(command.deviceId, password);
    if (!set.ok) {
      // The router keeps using its current password (it falls back when the new one is refused).
      await this.finish(acknowledged, ['acknowledged'], 'failed', { error: { code: set.error.code, message: `the broker did not take the new password: ${set.error.message}` } });
      return;
    }
    this.deps.log.info('new broker password set; the router reconnects with it', { device: command.deviceId, command: command.id });
    this.deps.identities.disconnectDevice?.(command.deviceId);
  }

  private async diagnosticsPart(command: CommandRecord, data: JsonValue): Promise<void> {
    const part = data as { part?: unknown; parts?: unknown; name?: unknown; text?: unknown } | null;
    const valid = typeof part === 'object' && part !== null && Number.isSafeInteger(part.part) && Number.isSafeInteger(part.parts)
      && typeof part.name === 'string' && typeof part.text === 'string' && (part.parts as number) >= 1 && (part.parts as number) <= DIAGNOSTICS_PARTS_MAX;
    const kept = ((command.data as DiagnosticsData | null)?.parts ?? []);
    if (!valid || part.part !== kept.length) {
      await this.finish(command, ANSWERABLE, 'failed', { error: { code: 'E_RESULT', message: `diagnostics part ${kept.length} expected; the router answered ${JSON.stringify(part?.part ?? null)}` } });
      return;
    }
    const parts = [...kept, { part: part.part as number, name: part.name as string, text: part.text as string }];
    const collected = { parts } as unknown as JsonValue;
    if (parts.length >= (part.parts as number)) {
      await this.finish(command, ANSWERABLE, 'succeeded', { data: collected });
      return;
    }
    const stepped = await this.deps.fleet.commands.updateCommand(command.id, { state: 'acknowledged', ifStateIn: ANSWERABLE, data: collected });
    if (stepped !== null) await this.sendMessage(stepped, { ...command.args, part: String(parts.length) }, 'acknowledged');
  }

  /** Commands past their deadline: never sent, expired; sent and unfinished, timed out. */
  async sweep(): Promise<void> {
    const at = this.now();
    for (const command of await this.deps.fleet.commands.listCommandsDue(OPEN_STATES, at)) {
      await this.finish(command, [command.state], command.state === 'queued' ? 'expired' : 'timed-out', {
        error: { code: command.state === 'queued' ? 'E_EXPIRED' : 'E_TIMEOUT', message: command.state === 'queued' ? 'the router stayed offline until the deadline' : 'no result from the router by the deadline' },
      });
    }
  }

  /** Ends a command (compare-and-set) and says how in the audit log. */
  private async finish(command: CommandRecord, from: readonly CommandState[], state: CommandState, change: Partial<CommandUpdate>): Promise<CommandRecord | null> {
    const at = this.now();
    const done = await this.deps.fleet.commands.updateCommand(command.id, { ...change, state, ifStateIn: from, finishedAtMs: at });
    if (done === null) return null;
    await this.deps.fleet.appendAudit({
      atMs: at, actor: done.createdBy, action: `command.${done.name}.${state}`, target: `device:${done.deviceId}`,
      before: { command: done.id, state: command.state },
      after: { command: done.id, args: done.args, state, ...(done.error ? { error: done.error } : {}) },
    });
    if (state !== 'succeeded') this.deps.log.info('command ended', { device: done.deviceId, command: done.id, name: done.name, state, reason: done.error?.message ?? '' });
    return done;
  }
}

export type { CommandName };
