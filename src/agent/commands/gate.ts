/**
 * `callqos-agent gate add '<gate JSON>' | gate remove <id>` and `callqos-agent reconcile`: the
 * local interface from a shell, for static flows and diagnostics. Prints the agent's answer as JSON.
 */
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import { loadConfig } from '../load-config.ts';
import { sendLocalCommand } from './local-client.ts';

export async function gateCommand(host: Host, log: Logger, args: readonly string[], configPath: string): Promise<number> {
  const [action, operand] = args;
  let command: Record<string, unknown>;
  if (action === 'add' && operand !== undefined) {
    const gate = parseStrictJson(operand);
    if (!gate.ok) {
      log.error('gate add: the gate is not JSON', { reason: gate.error.message });
      return 2;
    }
    command = { cmd: 'gate_add', gate: gate.value };
  } else if (action === 'remove' && operand !== undefined) command = { cmd: 'gate_remove', id: operand };
  else if (action === 'reconcile' || action === 'reload') command = { cmd: action };
  else {
    log.error("usage: callqos-agent gate add '<gate JSON>' | gate remove <id> | gate reconcile | gate reload");
    return 2;
  }
  const config = loadConfig(host, log, configPath);
  if (config === null) return 1;
  const answer = await sendLocalCommand(host, config.agent.stateDir, command);
  host.writeOut(JSON.stringify(answer) + '\n');
  return answer.ok ? 0 : 1;
}
