/**
 * HTB on one device's egress, the backend every kernel has:
 *
 *   1:    htb root, unclassified traffic to 1:20
 *   1:1   the link: rate = ceil = link rate
 *   1:10  priority (prio 0): rate = the EF budget, ceil = link; leaf: a short pfifo
 *   1:20  best effort (prio 1): rate = the rest, ceil = link; leaf: sfq or a bounded bfifo
 *
 * u32 filters on the DS field put EF, AF41 and CS5 (the gate classes) into 1:10, IPv4 and IPv6.
 * The priority class is served first whenever it has packets and is within its rate; what either
 * class does not use the other may borrow up to the link rate.
 */
import { GATE_CLASSES } from '../dataplane/model.ts';
import type { BestEffortQdisc, TcCommand } from './model.ts';

const PRIORITY = '1:10';
const BEST_EFFORT = '1:20';
// tc reads `default` as a hexadecimal minor, like the minor of a classid: 20 is 1:20.
const DEFAULT_MINOR = '20';

// HTB derives a class's quantum from rate / r2q: below 80 kbit/s that is under 1,000 bytes,
// above 16 Mbit/s over 200,000 bytes, and the kernel logs a warning for either. The
// quantum only shares bandwidth among classes of one priority level, and here each level has one
// class, so a full-size Ethernet frame suits every rate.
const QUANTUM = '1514';

/**
 * Bucket size: one millisecond at the rate (sqm-scripts' default), so that a fast link stays busy
 * between timer wake-ups; at least one full-size frame with room to spare, so that a slow class
 * can send a whole frame from its bucket instead of going into debt for it.
 */
function burstBytes(kbit: number): string {
  return `${Math.max(1600, Math.ceil(kbit / 8))}b`;
}

/**
 * Priority queue: room for one packet from each call the budget holds at once (a G.711 call is
 * about 80 kbit/s: 50 packets/s of 200 bytes), which drains in one 20 ms packet interval at the
 * budget rate; a voice packet that would wait longer is better dropped than played late, and
 * it would delay every packet behind it. At least 10, for a video frame's burst.
 */
function priorityLimit(efKbit: number): string {
  return String(Math.min(128, Math.max(10, Math.ceil(efKbit / 80))));
}

/**
 * Best-effort FIFO: about 100 ms at the link rate, a typical round trip, so that TCP can keep the
 * link busy without the queue growing to the kernel's default of 1,000 packets (592 ms at
 * 20 Mbit/s, MEASURED.md). Counted in bytes, not packets: forwarded TCP can arrive as GRO or TSO
 * aggregates of up to 64 kB (over veth, a 166-packet pfifo held 1.1 s of cubic at 20 Mbit/s). At
 * least 16 full-size frames; at most 4 MB, so that both devices' queues fit a 128 MB router.
 */
function bestEffortBytes(linkKbit: number): string {
  return String(Math.min(4_000_000, Math.max(16 * 1514, Math.ceil(linkKbit * 125 * 0.1))));
}

/** sfq's default, in packets: it serves each flow in turn, so a sparse flow skips the bulk's queue. */
const SFQ_LIMIT = '127';

function tcHex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

export function htbCommands(dev: string, linkKbit: number, efBudgetPercent: number, leaf: BestEffortQdisc): TcCommand[] {
  const efKbit = Math.max(1, Math.floor((linkKbit * efBudgetPercent) / 100));
  const link = `${linkKbit}kbit`;
  const linkBurst = burstBytes(linkKbit);
  const htbClass = (parent: string, classid: string, kbit: number, extra: readonly string[]) =>
    ['class', 'add', 'dev', dev, 'parent', parent, 'classid', classid, 'htb', 'rate', `${kbit}kbit`, 'ceil', link,
      'burst', burstBytes(kbit), 'cburst', linkBurst, ...extra, 'quantum', QUANTUM];
  const bestEffortLeaf = leaf === 'sfq' ? ['sfq', 'perturb', '10', 'limit', SFQ_LIMIT] : ['bfifo', 'limit', bestEffortBytes(linkKbit)];

  const argvs: string[][] = [
    ['qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', DEFAULT_MINOR],
    htbClass('1:', '1:1', linkKbit, []),
    htbClass('1:1', PRIORITY, efKbit, ['prio', '0']),
    htbClass('1:1', BEST_EFFORT, linkKbit - efKbit, ['prio', '1']),
    ['qdisc', 'add', 'dev', dev, 'parent', PRIORITY, 'handle', '10:', 'pfifo', 'limit', priorityLimit(efKbit)],
    ['qdisc', 'add', 'dev', dev, 'parent', BEST_EFFORT, 'handle', '20:', ...bestEffortLeaf],
  ];
  // The DSCP is the upper six bits of the IPv4 TOS byte and of the IPv6 traffic class; the mask
  // leaves the two ECN bits out, so ECN-capable voice is classified too.
  const filter = (protocol: string, prio: string, match: readonly string[]) =>
    ['filter', 'add', 'dev', dev, 'parent', '1:', 'protocol', protocol, 'prio', prio, 'u32', 'match', ...match, 'flowid', PRIORITY];
  for (const dscp of GATE_CLASSES.keys()) argvs.push(filter('ip', '1', ['ip', 'dsfield', tcHex(dscp << 2), '0xfc']));
  for (const dscp of GATE_CLASSES.keys()) argvs.push(filter('ipv6', '2', ['ip6', 'priority', tcHex(dscp << 2), '0xfc']));

  // Starting from no root qdisc makes the result the same whatever was there (our own HTB with
  // other rates, cake, the default qdisc). The delete fails when there is only the default.
  return [{ argv: ['qdisc', 'del', 'dev', dev, 'root'], mayFail: true }, ...argvs.map((argv) => ({ argv, mayFail: false }))];
}
