/**
 * `callqos-agent render [--config PATH]`: prints the nft batch the agent would apply for the
 * config's static gates, touching nothing (a dry run, as firewall4's `fw4 print`).
 */
import type { DataplaneGate } from '../../core/dataplane/model.ts';
import { dataplaneSettings } from '../../core/dataplane/settings.ts';
import { renderNftBatch } from '../../core/dataplane/render-nft.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { loadConfig } from '../load-config.ts';

export const DEFAULT_CONFIG_PATH = '/etc/config/callqos';

export function renderCommand(host: Host, log: Logger, args: readonly string[]): number {
  let configPath = DEFAULT_CONFIG_PATH;
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === '--config' && args[i + 1] !== undefined) configPath = args[++i]!;
    else {
      log.error('render: unexpected argument', { argument: args[i] });
      return 2;
    }
  }
  const config = loadConfig(host, log, configPath);
  if (config === null) return 1;

  const gates: DataplaneGate[] = config.gates.map((gate) => ({ ...gate, lifetimeS: null }));
  const batch = renderNftBatch(dataplaneSettings(config), gates);
  if (!batch.ok) {
    log.error(batch.error.message, { code: batch.error.code, field: batch.error.path });
    return 1;
  }
  host.writeOut(batch.value);
  return 0;
}
