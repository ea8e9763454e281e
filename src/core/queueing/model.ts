/**
 * The queueing half of the router data plane (DESIGN.md section 3): what the agent asks tc to
 * build on the WAN device (upload) and the LAN device (download). Rendered to tc argv lists by
 * render-tc.ts; the caller runs them without a shell.
 */

export type ShapingBackend = 'htb' | 'cake';

/** The best-effort leaf under HTB: sfq where the kernel has it, else a FIFO bounded in bytes. */
export type BestEffortQdisc = 'sfq' | 'bfifo';

export interface TcDevices {
  /** Linux netdev names: the layer-3 devices (pppoe-wan, eth0.2, br-lan), where packets are IP. */
  readonly wanDevice: string;
  readonly lanDevice: string;
}

export interface TcShaping extends TcDevices {
  readonly uplinkKbit: number;
  readonly downlinkKbit: number;
  /** The share of each direction guaranteed to the priority (EF, AF41, CS5) class. */
  readonly efBudgetPercent: number;
  readonly backend: ShapingBackend;
  /** HTB only; absent means bfifo, which every kernel has (sch_fifo is built in). */
  readonly bestEffortQdisc?: BestEffortQdisc;
}

/** One tc invocation, without the leading `tc`. */
export interface TcCommand {
  readonly argv: readonly string[];
  /** Clearing what may not be there: a failure is expected and is no error. */
  readonly mayFail: boolean;
}
