/**
 * cake on one device's egress, where the kernel has it (most OpenWrt routers, kmod-sched-cake).
 * One qdisc does shaping, classification and flow fairness:
 *
 *   diffserv4   four tins by DSCP; EF and CS5 go to Voice, AF41 to Video. Not `besteffort`, which
 *               ignores the DSCP and would make the marks pointless.
 *   nat         on the WAN side only: packets there already carry the router's address after
 *               source NAT, and cake looks the LAN host up in conntrack to share fairly per host.
 *               On the LAN side the addresses are the real ones already (`nonat`).
 *   nowash      keep the DSCP on the wire: the far network honours EF under the settlement between
 *               domains, and phones' Wi-Fi mapping (RFC 8325) needs it on the LAN side. Unadmitted
 *               EF is washed by the agent's nft rules, not here.
 *
 * The EF budget cannot be set: cake's Voice tin is given priority up to a fixed 25% of the
 * bandwidth, and beyond that only best-effort weight, so admission should stay below 25% on cake.
 * `replace` makes it idempotent: it changes cake in place or replaces any other root qdisc.
 */
import type { TcCommand } from './model.ts';

export function cakeCommand(dev: string, kbit: number, side: 'wan' | 'lan'): TcCommand {
  return {
    argv: ['qdisc', 'replace', 'dev', dev, 'root', 'cake', 'bandwidth', `${kbit}kbit`, 'diffserv4', side === 'wan' ? 'nat' : 'nonat', 'nowash'],
    mayFail: false,
  };
}
