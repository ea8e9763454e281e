/**
 * The agent's command line: `callqos-agent [--version | --help | <command> …]`.
 * It only parses and dispatches; each command lives in its own module.
 */
import type { Host } from '../core/host/index.ts';
import { createLogger } from '../core/log.ts';
import { renderCommand } from './commands/render.ts';
import { AGENT_VERSION } from './version.ts';

const USAGE = `usage: callqos-agent <command> [options]

commands:
  render [--config PATH]   print the nft batch for the config's static gates (default
                           config /etc/config/callqos); changes nothing
  --version                print the agent version
  --help                   print this help
`;

export async function runAgentCli(host: Host): Promise<number> {
  const [command, ...rest] = host.args;
  const log = createLogger((line) => host.writeErrLine(line), 'info');
  switch (command) {
    case 'render':
      return renderCommand(host, log, rest);
    case '--version':
    case 'version':
      host.writeOut(`callqos-agent ${AGENT_VERSION}\n`);
      return 0;
    case undefined:
    case '--help':
    case 'help':
      host.writeOut(USAGE);
      return 0;
    default:
      host.writeErrLine(`callqos-agent: unknown command '${command}'`);
      host.writeErrLine(USAGE.trimEnd());
      return 2;
  }
}
