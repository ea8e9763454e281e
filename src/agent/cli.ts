/**
 * The agent's command line: `callqos-agent [--version | --help | <command> …]`.
 * It only parses and dispatches; each command lives in its own module.
 */
import type { Host } from '../core/host/index.ts';
import { createLogger } from '../core/log.ts';
import { DEFAULT_CONFIG_PATH, renderCommand } from './commands/render.ts';
import { runDaemon } from './daemon/run.ts';
import { gateCommand } from './commands/gate.ts';
import { rpcdCommand } from './commands/rpcd.ts';
import { teardownCommand } from './commands/teardown.ts';
import { AGENT_VERSION } from './version.ts';

const USAGE = `usage: callqos-agent <command> [options]

commands:
  run [--config PATH]      the daemon: keeps the kernel's marking and queueing in line with
                           the gates, serves the local command FIFO in the state directory
  gate add '<gate JSON>' | gate remove <id> | gate reconcile | gate reload  [--config PATH]
                           ask the running daemon; prints its answer as JSON
  rpcd list | rpcd call <method> [--config PATH]
                           the rpcd exec plugin's backend (ubus object callqos)
  teardown [--config PATH] remove the agent's nft table and qdiscs (service stop)
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
    case 'gate':
    case 'rpcd':
    case 'teardown': {
      const at = rest.indexOf('--config');
      const configPath = at >= 0 ? rest[at + 1] : DEFAULT_CONFIG_PATH;
      if (configPath === undefined) return 2;
      const args = at >= 0 ? rest.slice(0, at) : rest;
      if (command === 'teardown') return teardownCommand(host, log, configPath);
      return command === 'gate' ? gateCommand(host, log, args, configPath) : rpcdCommand(host, log, args, configPath);
    }
    case 'run':
      if (rest.length === 2 && rest[0] === '--config') return runDaemon(host, rest[1]!);
      if (rest.length === 0) return runDaemon(host, DEFAULT_CONFIG_PATH);
      log.error('usage: callqos-agent run [--config PATH]');
      return 2;
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
