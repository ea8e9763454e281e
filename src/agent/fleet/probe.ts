/**
 * What the router is, for its enrolment request: hardware id (src/core/fleet/router/hardware-id.ts),
 * board and release (ubus `system board`), versions, and kernel features
 * (src/core/fleet/router/features.ts). Every probe that fails leaves its field empty ('' or
 * false) and the others as found: a router with no ubus or no nft still enrols.
 */
import type { Host } from '../../core/host/index.ts';
import { hardwareIdOf, type NetDevice } from '../../core/fleet/router/hardware-id.ts';
import { kernelFeatures, packageVersion, PROBED_MODULES } from '../../core/fleet/router/features.ts';
import type { AgentVersions, HardwareInfo, KernelFeatures } from '../../core/protocol/messages/enrol.ts';
import { bounded } from '../../core/text/bounded.ts';
import { execute } from '../exec.ts';
import { readBoard } from '../system/ubus.ts';
import { AGENT_VERSION } from '../version.ts';

/** Where the probes read; tests point them at a directory of their own. */
export interface ProbePaths {
  readonly sysNet: string;
  readonly deviceTreeSerial: string;
  readonly sysModule: string;
  readonly libModules: string;
  readonly kernelRelease: string;
  readonly defaultQdisc: string;
  /** opkg's control file of the quickjs package (OpenWrt up to 24.10). */
  readonly quickjsControl: string;
}

export const ROUTER_PATHS: ProbePaths = {
  sysNet: '/sys/class/net',
  deviceTreeSerial: '/proc/device-tree/serial-number',
  sysModule: '/sys/module',
  libModules: '/lib/modules',
  kernelRelease: '/proc/sys/kernel/osrelease',
  defaultQdisc: '/proc/sys/net/core/default_qdisc',
  quickjsControl: '/usr/lib/opkg/info/quickjs.control',
};

/** The same layout under `root` (a test's fake system). */
export function pathsUnder(root: string): ProbePaths {
  const under = (path: string) => `${root}${path}`;
  return {
    sysNet: under(ROUTER_PATHS.sysNet),
    deviceTreeSerial: under(ROUTER_PATHS.deviceTreeSerial),
    sysModule: under(ROUTER_PATHS.sysModule),
    libModules: under(ROUTER_PATHS.libModules),
    kernelRelease: under(ROUTER_PATHS.kernelRelease),
    defaultQdisc: under(ROUTER_PATHS.defaultQdisc),
    quickjsControl: under(ROUTER_PATHS.quickjsControl),
  };
}

export interface RouterProbe {
  /** '' when the router has no usable MAC or serial: it cannot enrol. */
  readonly hardwareId: string;
  /** '' when ubus did not say. */
  readonly hostname: string;
  readonly hardware: HardwareInfo;
  readonly versions: AgentVersions;
  readonly features: KernelFeatures;
}

const NFT_TIMEOUT_MS = 5_000;

function readOr(host: Host, path: string, fallback = ''): string {
  const read = host.files.readText(path);
  return read.ok ? read.value : fallback;
}

function netDevices(host: Host, paths: ProbePaths): NetDevice[] {
  const names = host.files.list(paths.sysNet);
  if (!names.ok) return [];
  return names.value.map((name) => ({
    name,
    address: readOr(host, `${paths.sysNet}/${name}/address`),
    assignType: readOr(host, `${paths.sysNet}/${name}/addr_assign_type`),
  }));
}

function presentModules(host: Host, paths: ProbePaths): Set<string> {
  const release = readOr(host, paths.kernelRelease).trim();
  // A release with a `/` or `..` would read elsewhere; uname never prints one.
  const releaseDir = /^[A-Za-z0-9._+~-]{1,64}$/.test(release) && release !== '..' ? `${paths.libModules}/${release}` : undefined;
  const found = new Set<string>();
  for (const name of PROBED_MODULES) {
    if (host.files.exists(`${paths.sysModule}/${name}`) || (releaseDir !== undefined && host.files.exists(`${releaseDir}/${name}.ko`))) found.add(name);
  }
  return found;
}

async function nftVersionLine(host: Host): Promise<string> {
  try {
    const done = await execute(host, ['nft', '--version'], { timeoutMs: NFT_TIMEOUT_MS });
    return done.status.code === 0 ? (done.stdout[0] ?? '') : '';
  } catch {
    return '';
  }
}

function quickjsVersion(host: Host, paths: ProbePaths): string {
  if (host.runtime === 'node') return 'node';
  return packageVersion(readOr(host, paths.quickjsControl));
}

export async function probeRouter(host: Host, paths: ProbePaths = ROUTER_PATHS): Promise<RouterProbe> {
  const hardwareId = hardwareIdOf(netDevices(host, paths), readOr(host, paths.deviceTreeSerial)) ?? '';
  const board = await readBoard(host).catch(() => null);
  const info = board?.ok ? board.value : null;
  const features = kernelFeatures({
    modules: presentModules(host, paths),
    defaultQdisc: readOr(host, paths.defaultQdisc),
    nftVersionLine: await nftVersionLine(host),
  });
  return {
    hardwareId,
    hostname: bounded(info?.hostname ?? '', 64),
    hardware: {
      model: bounded(info?.model ?? '', 128),
      boardName: bounded(info?.boardName ?? '', 128),
      release: bounded(info?.release?.version ?? '', 64),
      target: bounded(info?.release?.target ?? '', 64),
      kernel: bounded(info?.kernel ?? '', 64),
    },
    versions: { agent: AGENT_VERSION, quickjs: bounded(quickjsVersion(host, paths), 32) },
    features,
  };
}
