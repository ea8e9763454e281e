/**
 * Every value that enters a tc argv is checked here first. Errors name the field (`path`) so
 * that the agent can point at the config option.
 */
import { fail, ok, type CoreError, type Result } from '../result.ts';
import type { TcDevices, TcShaping } from './model.ts';

// The same bounds as uplink_kbit, downlink_kbit and ef_budget_percent in /etc/config/callqos.
export const LINK_KBIT_MIN = 64;
export const LINK_KBIT_MAX = 10_000_000;
export const EF_BUDGET_PERCENT_MIN = 1;
export const EF_BUDGET_PERCENT_MAX = 90;

const DEVICE = /^[A-Za-z0-9_.:@-]{1,15}$/;

function invalid(path: string, problem: string): CoreError {
  return { code: 'E_CONFIG', message: `${path}: ${problem}`, path };
}

function checkDevice(path: string, value: unknown): CoreError | null {
  // The kernel refuses "." and ".." as names; the pattern alone would let them through.
  if (typeof value === 'string' && DEVICE.test(value) && value !== '.' && value !== '..') return null;
  return invalid(path, `${JSON.stringify(value)} is not a network device name (1-15 of A-Z a-z 0-9 _ . : @ -)`);
}

function checkWhole(path: string, value: unknown, min: number, max: number, unit: string): CoreError | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return null;
  return invalid(path, `${JSON.stringify(value)} is not a whole number of ${unit} in ${min}..${max}`);
}

export function checkDevices(devices: TcDevices): Result<TcDevices> {
  const error =
    checkDevice('wanDevice', devices.wanDevice) ??
    checkDevice('lanDevice', devices.lanDevice) ??
    // One root qdisc per device: the second direction would replace the first.
    (devices.lanDevice === devices.wanDevice ? invalid('lanDevice', 'is the same device as wanDevice') : null);
  return error === null ? ok(devices) : fail(error);
}

export function checkShaping(shaping: TcShaping): Result<TcShaping> {
  const devices = checkDevices(shaping);
  if (!devices.ok) return devices;
  const error =
    checkWhole('uplinkKbit', shaping.uplinkKbit, LINK_KBIT_MIN, LINK_KBIT_MAX, 'kbit/s') ??
    checkWhole('downlinkKbit', shaping.downlinkKbit, LINK_KBIT_MIN, LINK_KBIT_MAX, 'kbit/s') ??
    checkWhole('efBudgetPercent', shaping.efBudgetPercent, EF_BUDGET_PERCENT_MIN, EF_BUDGET_PERCENT_MAX, 'percent') ??
    (shaping.backend === 'htb' || shaping.backend === 'cake'
      ? null
      : invalid('backend', `${JSON.stringify(shaping.backend)} is not htb or cake`)) ??
    (shaping.bestEffortQdisc === undefined || shaping.bestEffortQdisc === 'sfq' || shaping.bestEffortQdisc === 'bfifo'
      ? null
      : invalid('bestEffortQdisc', `${JSON.stringify(shaping.bestEffortQdisc)} is not sfq or bfifo`));
  return error === null ? ok(shaping) : fail(error);
}
