/**
 * The client side of the daemon's local command FIFO (used by `callqos-agent gate …` and the rpcd
 * plugin): writes one command line, then waits for the reply file the daemon writes.
 */
import { MAX_COMMAND_BYTES } from '../../core/gates/local-command.ts';
import type { Host } from '../../core/host/index.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import { fail } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';
import { execute } from '../exec.ts';

const REPLY_TIMEOUT_MS = 10_000;
// A reply file is looked for this often: a stat, cheap beside the nft run the answer waits for.
const REPLY_POLL_MS = 5;

export async function sendLocalCommand(host: Host, stateDir: string, command: Record<string, unknown>): Promise<Result<unknown>> {
  const reply = `r${Math.round(host.clock.monotonicMs())}${Math.random().toString(36).slice(2, 8)}`;
  const line = JSON.stringify({ ...command, reply });
  if (line.length > MAX_COMMAND_BYTES) return fail({ code: 'E_COMMAND', message: 'command too long' });
  const fifo = `${stateDir}/cmd`;
  if (!host.files.exists(fifo)) return fail({ code: 'E_AGENT_DOWN', message: `the agent is not running (no ${fifo})` });
  // Opened read-write, so the write never blocks even if no agent reads; the text is an argument, not shell.
  const sent = await execute(host, ['sh', '-c', 'exec 3<>"$1" && printf "%s\\n" "$2" >&3', 'sh', fifo, line]);
  if (sent.status.code !== 0) return fail({ code: 'E_AGENT_DOWN', message: `cannot write to ${fifo}` });

  const replyPath = `${stateDir}/replies/${reply}.json`;
  const deadline = host.clock.monotonicMs() + REPLY_TIMEOUT_MS;
  while (host.clock.monotonicMs() < deadline) {
    const text = host.files.readText(replyPath);
    if (text.ok) {
      // A reply left behind is harmless: its name is never used again.
      const removed = host.files.remove(replyPath);
      if (!removed.ok) host.writeErrLine(`cannot remove ${replyPath}: ${removed.error.message}`);
      const parsed = parseStrictJson(text.value);
      return parsed.ok ? (parsed.value as Result<unknown>) : parsed;
    }
    await new Promise<void>((resolve) => host.timers.setTimeout(resolve, REPLY_POLL_MS));
  }
  return fail({ code: 'E_AGENT_TIMEOUT', message: `no answer from the agent within ${REPLY_TIMEOUT_MS / 1000} s` });
}
