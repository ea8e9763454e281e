/**
 * `callqos-agent teardown [--config PATH]`: removes the agent's nft table and its qdiscs, for
 * `/etc/init.d/callqos stop`. A crashed agent never comes here, so procd's respawn finds the
 * kernel still marking live calls; only an administrator's stop ends the QoS.
 */
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import { Dataplane } from '../daemon/dataplane.ts';
import { Queueing } from '../daemon/queueing.ts';
import { loadConfig } from '../load-config.ts';

export async function teardownCommand(host: Host, log: Logger, configPath: string): Promise<number> {
  const config = loadConfig(host, log, configPath);
  if (config === null) return 1;
  let failed = false;
  const table = await new Dataplane(host, log).deleteTable();
  if (!table.ok) {
    log.error('cannot delete the nft table', { reason: table.error.message });
    failed = true;
  }
  // The devices the daemon last shaped, as it recorded them, unless the config names them.
  const status = host.files.readText(`${config.agent.stateDir}/status.json`);
  const parsed = status.ok ? parseStrictJson(status.value) : null;
  const shaped = parsed?.ok ? (parsed.value as { devices?: { wanDevice?: unknown; lanDevice?: unknown } }).devices : undefined;
  const wanDevice = config.qos.wanDevice ?? (typeof shaped?.wanDevice === 'string' ? shaped.wanDevice : undefined);
  const lanDevice = config.qos.lanDevice ?? (typeof shaped?.lanDevice === 'string' ? shaped.lanDevice : undefined);
  if (wanDevice && lanDevice) {
    const removed = await new Queueing(host, log).teardown({ wanDevice, lanDevice });
    if (!removed.ok) {
      log.error('cannot remove the qdiscs', { reason: removed.error.message });
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
