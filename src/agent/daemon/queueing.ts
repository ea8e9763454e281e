/**
 * The tc side of the agent: shapes the WAN device's egress (uplink) and the LAN device's egress
 * (download, where the forward-path marks are visible) with an EF class ahead of best effort.
 * The devices come from the config's overrides or from what netifd reports for the interfaces.
 */
import type { AgentConfig } from '../../core/config/index.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { chooseBackend, renderTc, renderTcTeardown } from '../../core/queueing/index.ts';
import type { TcCommand, TcDevices } from '../../core/queueing/index.ts';
import { fail, ok } from '../../core/result.ts';
import type { Result } from '../../core/result.ts';
import { describeFailure, execute } from '../exec.ts';

/** Loaded kernel modules show in /sys/module; OpenWrt loads kmod-sched-cake at boot. */
export function kernelHasCake(host: Host): boolean {
  return host.files.exists('/sys/module/sch_cake');
}

async function runTc(host: Host, commands: readonly TcCommand[]): Promise<Result<void>> {
  for (const command of commands) {
    const argv = ['tc', ...command.argv];
    const done = await execute(host, argv, { timeoutMs: 10_000 });
    if (done.status.code !== 0 && !command.mayFail) return fail({ code: 'E_TC', message: describeFailure(argv, done) });
  }
  return ok(undefined);
}

export class Queueing {
  private applied: string | null = null;

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
  ) {}

  /** Applies the shaping for these devices; does nothing when it is already what was applied last. */
  async apply(config: AgentConfig, devices: TcDevices | null, force = false): Promise<Result<void>> {
    const choice = chooseBackend(config.qos.queueBackend, { cake: kernelHasCake(this.host) });
    if (choice.warning) this.log.warn(choice.warning);
    if (choice.backend === 'none' || devices === null) {
      if (devices === null && choice.backend !== 'none') this.log.warn('no WAN/LAN device known yet: marking only, no shaping');
      return ok(undefined);
    }
    const { uplinkKbit, downlinkKbit, efBudgetPercent } = config.qos;
    const shaping = { ...devices, uplinkKbit, downlinkKbit, efBudgetPercent, backend: choice.backend };
    const signature = JSON.stringify(shaping);
    if (!force && signature === this.applied) return ok(undefined);
    const commands = renderTc(shaping);
    if (!commands.ok) return commands;
    const done = await runTc(this.host, commands.value);
    if (!done.ok) {
      this.applied = null;
      return done;
    }
    this.applied = signature;
    this.log.info('queueing applied', { backend: choice.backend, wan: devices.wanDevice, lan: devices.lanDevice });
    return ok(undefined);
  }

  async teardown(devices: TcDevices): Promise<Result<void>> {
    const commands = renderTcTeardown(devices);
    if (!commands.ok) return commands;
    this.applied = null;
    return runTc(this.host, commands.value);
  }
}
