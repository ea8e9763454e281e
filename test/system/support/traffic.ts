/** UDP probes through the lab and the DSCP they arrive with, counted by nft where they arrive. */
import { repoRoot } from '../../support/bundles.ts';
import type { Namespace } from './netns.ts';

const SEND_UDP = `${repoRoot}/test/system/support/send-udp.py`;
export const CLASSES = ['ef', 'af41', 'cs5', 'cs0'] as const;
export type ClassName = (typeof CLASSES)[number];

/** Counters in the receiving namespace, per family, destination port and arriving DSCP. */
export function observe(ns: Namespace, ports: readonly number[]): void {
  const counters: string[] = [];
  const rules: string[] = [];
  for (const [family, ip] of [['4', 'ip'], ['6', 'ip6']] as const) {
    for (const port of ports) {
      for (const dscp of CLASSES) {
        const name = `p${family}_${port}_${dscp}`;
        counters.push(`\tcounter ${name} {}`);
        rules.push(`\t\t${ip} dscp ${dscp} udp dport ${port} counter name ${name}`);
      }
    }
  }
  ns.nft(`table inet observe {\n${counters.join('\n')}\n\tchain input {\n\t\ttype filter hook input priority 0;\n${rules.join('\n')}\n\t}\n}\n`);
}

export function counted(ns: Namespace, family: '4' | '6', port: number, dscp: ClassName): number {
  const out = ns.run(['nft', '-j', 'list', 'counter', 'inet', 'observe', `p${family}_${port}_${dscp}`]).stdout;
  const entry = (JSON.parse(out) as { nftables: Array<{ counter?: { packets: number } }> }).nftables.find((e) => e.counter);
  return entry?.counter?.packets ?? -1;
}

/**
 * Sends `count` datagrams about 2 ms apart (python3, so that the source port and DSCP can be
 * chosen), each with `size` bytes of payload if given.
 */
export function send(ns: Namespace, src: string, sport: number, dst: string, dport: number, dscp: number, count: number, size?: number): void {
  const argv = ['python3', SEND_UDP, src, String(sport), dst, String(dport), String(dscp), String(count)];
  ns.run(size === undefined ? argv : [...argv, String(size)], undefined, 60_000);
}

/**
 * A call's packets both ways in the cloud lab: `count` from phone A's `portA` to phone B's `portB`,
 * then as many back to router A's public address (phone A is behind its NAT; A sent first, so
 * router A's conntrack knows where the answer goes). Returns what each phone counted as EF.
 */
export function efBothWays(lab: { phoneA: Namespace; phoneB: Namespace }, ends: { phoneA: string; phoneB: string; routerAWan: string }, portA: number, portB: number, count: number): { atB: number; atA: number } {
  send(lab.phoneA, ends.phoneA, portA, ends.phoneB, portB, 0, count);
  send(lab.phoneB, ends.phoneB, portB, ends.routerAWan, portA, 0, count);
  return { atB: counted(lab.phoneB, '4', portB, 'ef'), atA: counted(lab.phoneA, '4', portA, 'ef') };
}
