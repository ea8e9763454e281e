import * as os from 'os';
import type { SignalName } from '../../core/host/index.ts';

// Signal numbers differ between CPU architectures (SIGUSR1 is 10 on x86 and ARM, 16 on MIPS), so
// they come from QuickJS's own constants. SIGHUP and SIGKILL are 1 and 9 everywhere on Linux; QuickJS
// 2021-03-27 does not export them.
const SIGHUP = 1;
const SIGKILL = 9;

const numberByName: Readonly<Record<string, number>> = {
  SIGHUP,
  SIGINT: os.SIGINT,
  SIGQUIT: os.SIGQUIT,
  SIGKILL,
  SIGUSR1: os.SIGUSR1,
  SIGUSR2: os.SIGUSR2,
  SIGTERM: os.SIGTERM,
  SIGPIPE: os.SIGPIPE,
  SIGCHLD: os.SIGCHLD,
  SIGABRT: os.SIGABRT,
  SIGALRM: os.SIGALRM,
  SIGSEGV: os.SIGSEGV,
};

const nameByNumber = new Map<number, string>(Object.keys(numberByName).map((name) => [numberByName[name]!, name]));

export function signalNumber(name: SignalName): number {
  const value = numberByName[name];
  if (value === undefined) throw new RangeError(`unknown signal ${name}`);
  return value;
}

export function signalName(value: number): `SIG${string}` {
  return (nameByNumber.get(value) as `SIG${string}` | undefined) ?? `SIG${value}`;
}
