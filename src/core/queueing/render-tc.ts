/**
 * Renders the queueing for both directions as tc argv lists that rebuild it from scratch, in
 * order. The caller runs each as `tc ...argv` without a shell, ignores a failure only where
 * `mayFail` is set, and on any other failure runs renderTcTeardown's commands, so that a device
 * is never left half built.
 *
 *   upload    WAN device egress, shaped to uplinkKbit.
 *   download  LAN device egress, shaped to downlinkKbit. The agent marks in the forward hook, so
 *             the DSCP is already set here and no IFB is needed. Traffic the router itself sends
 *             to the LAN (LuCI, a file share on the router) passes this shaper too; traffic a
 *             bridge switches between its own ports does not.
 *
 * The agent owns the root qdisc of both devices: another shaper there (sqm-scripts) is replaced.
 */
import { ok, type Result } from '../result.ts';
import { cakeCommand } from './cake.ts';
import { htbCommands } from './htb.ts';
import type { TcCommand, TcDevices, TcShaping } from './model.ts';
import { checkDevices, checkShaping } from './tc-values.ts';

export function renderTc(shaping: TcShaping): Result<readonly TcCommand[]> {
  const checked = checkShaping(shaping);
  if (!checked.ok) return checked;
  const s = checked.value;
  if (s.backend === 'cake') {
    return ok([cakeCommand(s.wanDevice, s.uplinkKbit, 'wan'), cakeCommand(s.lanDevice, s.downlinkKbit, 'lan')]);
  }
  const leaf = s.bestEffortQdisc ?? 'bfifo';
  return ok([
    ...htbCommands(s.wanDevice, s.uplinkKbit, s.efBudgetPercent, leaf),
    ...htbCommands(s.lanDevice, s.downlinkKbit, s.efBudgetPercent, leaf),
  ]);
}

/** Removes the root qdisc of both devices (and with it every class and filter under it). */
export function renderTcTeardown(devices: TcDevices): Result<readonly TcCommand[]> {
  const checked = checkDevices(devices);
  if (!checked.ok) return checked;
  // Already gone, or never built: the kernel's default root qdisc cannot be deleted.
  return ok([checked.value.wanDevice, checked.value.lanDevice].map((dev) => ({ argv: ['qdisc', 'del', 'dev', dev, 'root'], mayFail: true })));
}

/**
 * One command per line, as `tc -batch` reads them (argv values never contain blanks), with the
 * commands that may fail marked by a comment: for dry runs, logs and golden files.
 */
export function formatTcCommands(commands: readonly TcCommand[]): string {
  return commands.map((c) => `${c.argv.join(' ')}${c.mayFail ? '  # may fail' : ''}\n`).join('');
}
