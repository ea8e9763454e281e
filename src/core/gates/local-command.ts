/**
 * Commands on the agent's local interface: one JSON object per line on the FIFO
 * `<state_dir>/cmd`, from the rpcd plugin, the CLI and the hotplug hook. A command that wants an
 * answer names a reply file; the agent writes it as `<state_dir>/replies/<reply>.json`, so a
 * request can never make the agent write anywhere else.
 */
import type { DataplaneGate } from '../dataplane/model.ts';
import { gateId } from '../protocol/fields.ts';
import { gate as gateSchema } from '../protocol/messages/gates.ts';
import { validate } from '../protocol/schema.ts';
import { parseStrictJson } from '../protocol/strict-json.ts';
import { fail, ok } from '../result.ts';
import type { Result } from '../result.ts';

export type LocalCommand =
  | { readonly cmd: 'gate_add'; readonly gate: DataplaneGate; readonly reply: string | null }
  | { readonly cmd: 'gate_remove'; readonly id: string; readonly reply: string | null }
  | { readonly cmd: 'reconcile'; readonly reply: string | null }
  | { readonly cmd: 'reload'; readonly reply: string | null };

export const REPLY_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A FIFO write of at most PIPE_BUF bytes is never interleaved with another writer's. */
export const MAX_COMMAND_BYTES = 4096;

const bad = (message: string, path = ''): Result<never> => fail({ code: 'E_COMMAND', message, path });

export function parseLocalCommand(line: string): Result<LocalCommand> {
  if (line.length > MAX_COMMAND_BYTES) return bad(`command longer than ${MAX_COMMAND_BYTES} bytes`);
  const parsed = parseStrictJson(line);
  if (!parsed.ok) return parsed;
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('command is not a JSON object');
  const { cmd, reply = null } = value as Record<string, unknown>;
  if (reply !== null && (typeof reply !== 'string' || !REPLY_NAME.test(reply))) return bad('reply must be 1-64 of A-Z a-z 0-9 _ -', 'reply');
  const allowed: Record<string, readonly string[]> = { gate_add: ['gate'], gate_remove: ['id'], reconcile: [], reload: [] };
  if (typeof cmd !== 'string' || !Object.prototype.hasOwnProperty.call(allowed, cmd)) return bad('cmd must be gate_add, gate_remove, reconcile or reload', 'cmd');
  for (const key of Object.keys(value)) {
    if (key !== 'cmd' && key !== 'reply' && !allowed[cmd]!.includes(key)) return bad(`unknown field ${JSON.stringify(key)}`, key);
  }
  switch (cmd) {
    case 'gate_add': {
      const gate = validate(gateSchema, (value as { gate?: unknown }).gate);
      if (!gate.ok) return fail({ ...gate.error, path: gate.error.path ? `gate.${gate.error.path}` : 'gate' });
      const { id, direction, lan, remote, dscp, rateKbps, lifetimeS } = gate.value;
      return ok({ cmd, reply, gate: { id, direction, lan, remote, dscp, rateKbit: rateKbps, lifetimeS } });
    }
    case 'gate_remove': {
      const id = validate(gateId, (value as { id?: unknown }).id);
      if (!id.ok) return fail({ ...id.error, path: 'id' });
      return ok({ cmd, reply, id: id.value });
    }
    default:
      return ok({ cmd: cmd as 'reconcile' | 'reload', reply });
  }
}

/** The reply name of a line that may not be a valid command, so that even a refusal is answered. */
export function replyNameOf(line: string): string | null {
  const parsed = line.length <= MAX_COMMAND_BYTES ? parseStrictJson(line) : null;
  const reply = parsed?.ok && typeof parsed.value === 'object' && parsed.value !== null ? (parsed.value as { reply?: unknown }).reply : null;
  return typeof reply === 'string' && REPLY_NAME.test(reply) ? reply : null;
}
