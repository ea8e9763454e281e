/**
 * What the kernel and tools offer, from evidence the agent can read cheaply and without changing
 * anything (no test qdisc is added): a kernel module counts as present when it is loaded
 * (/sys/module/<name>) or installed for the running kernel (/lib/modules/<release>/<name>.ko,
 * where OpenWrt's kmod packages put them, loaded on first use). fq_codel is also present when it is
 * the default qdisc (net.core.default_qdisc), as OpenWrt sets it, since it is often built in and
 * a built-in qdisc without parameters has no /sys/module entry.
 */
import type { KernelFeatures } from '../../protocol/messages/enrol.ts';

/** The modules each feature needs (any one of them suffices). */
export const FEATURE_MODULES = {
  cake: ['sch_cake'],
  fqCodel: ['sch_fq_codel'],
  ctinfo: ['act_ctinfo'],
  // nftables flowtables (software offload); nft_flow_offload is the `flow add` expression.
  flowOffload: ['nf_flow_table', 'nft_flow_offload'],
} as const;

export const PROBED_MODULES: readonly string[] = Object.values(FEATURE_MODULES).flat();

export interface FeatureEvidence {
  /** Modules found loaded or installed, out of PROBED_MODULES. */
  readonly modules: ReadonlySet<string>;
  /** /proc/sys/net/core/default_qdisc, '' when unreadable. */
  readonly defaultQdisc: string;
  /** The first line of `nft --version`, '' when nft did not run. */
  readonly nftVersionLine: string;
}

/** `nftables v1.0.6 (Lester Gooch #5)` -> `1.0.6`; '' for anything else. */
export function parseNftVersion(line: string): string {
  const m = /^nftables v([0-9][0-9A-Za-z.+~_-]{0,30})(\s|$)/.exec(line.trim());
  return m === null ? '' : m[1]!;
}

export function kernelFeatures(evidence: FeatureEvidence): KernelFeatures {
  const has = (names: readonly string[]) => names.some((name) => evidence.modules.has(name));
  return {
    cake: has(FEATURE_MODULES.cake),
    fqCodel: has(FEATURE_MODULES.fqCodel) || evidence.defaultQdisc.trim() === 'fq_codel',
    ctinfo: has(FEATURE_MODULES.ctinfo),
    flowOffload: has(FEATURE_MODULES.flowOffload),
    nft: parseNftVersion(evidence.nftVersionLine),
  };
}

/** `Version: 2024-01-13-1` from an opkg control file; '' when there is none. */
export function packageVersion(control: string): string {
  const m = /^Version:\s*(\S{1,32})\s*$/m.exec(control);
  return m === null ? '' : m[1]!;
}
