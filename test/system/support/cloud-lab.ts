/**
 * The lab for control-plane system tests: two routers, each with a phone behind it, and a cloud
 * namespace for the broker and the QoS control server, all joined by an "internet" router.
 *
 *   phoneA eth0 192.168.1.20/24, 2001:db8:a:1::20/64  -- routerA br-lan 192.168.1.1/24, 2001:db8:a:1::1/64
 *   routerA wan 203.0.113.1/24, 2001:db8:ffa::1/64 (IPv4 source NAT: phone A is behind NAT)
 *   phoneB eth0 198.18.20.20/24, 2001:db8:b:1::20/64  -- routerB br-lan 198.18.20.1/24, 2001:db8:b:1::1/64
 *   routerB wan 198.51.100.1/24, 2001:db8:ffb::1/64 (routed, no NAT: phone B's address is public)
 *   cloud  eth0 192.0.2.10/24, 2001:db8:c::10/64
 *   inet   joins the three: .254 (IPv4) and ::fe (IPv6) on each side, routes to the LANs it may reach
 *
 * Addresses are documentation and benchmarking ranges (RFC 5737, 2544, 3849): none is RFC 1918
 * except phone A's, which is the point.
 */
import { Lab, type Namespace } from './netns.ts';

export interface CloudLab {
  readonly lab: Lab;
  readonly phoneA: Namespace;
  readonly routerA: Namespace;
  readonly phoneB: Namespace;
  readonly routerB: Namespace;
  readonly cloud: Namespace;
  readonly inet: Namespace;
}

export const CLOUD_ADDRESS = '192.0.2.10';
export const ROUTER_A_WAN = '203.0.113.1';
export const ROUTER_B_WAN = '198.51.100.1';
export const PHONE_A = { v4: '192.168.1.20', v6: '2001:db8:a:1::20' } as const;
export const PHONE_B = { v4: '198.18.20.20', v6: '2001:db8:b:1::20' } as const;

function router(lab: Lab, role: string, phone: Namespace, lan4: string, lan6: string, phone4: string, phone6: string): Namespace {
  const ns = lab.namespace(role);
  lab.link(phone, 'eth0', `${phone4}/24`, ns, 'br-lan', `${lan4}/24`);
  phone.run(['ip', 'addr', 'add', `${phone6}/64`, 'dev', 'eth0']);
  ns.run(['ip', 'addr', 'add', `${lan6}/64`, 'dev', 'br-lan']);
  phone.run(['ip', 'route', 'add', 'default', 'via', lan4]);
  phone.run(['ip', '-6', 'route', 'add', 'default', 'via', lan6]);
  ns.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  return ns;
}

export function buildCloudLab(): CloudLab {
  const lab = new Lab();
  const inet = lab.namespace('inet');
  const phoneA = lab.namespace('phA');
  const phoneB = lab.namespace('phB');
  const cloud = lab.namespace('cloud');
  const routerA = router(lab, 'rtA', phoneA, '192.168.1.1', '2001:db8:a:1::1', PHONE_A.v4, PHONE_A.v6);
  const routerB = router(lab, 'rtB', phoneB, '198.18.20.1', '2001:db8:b:1::1', PHONE_B.v4, PHONE_B.v6);

  lab.link(routerA, 'wan', `${ROUTER_A_WAN}/24`, inet, 'toA', '203.0.113.254/24');
  lab.link(routerB, 'wan', `${ROUTER_B_WAN}/24`, inet, 'toB', '198.51.100.254/24');
  lab.link(cloud, 'eth0', `${CLOUD_ADDRESS}/24`, inet, 'toC', '192.0.2.254/24');
  const v6 = [
    [routerA, 'wan', '2001:db8:ffa::1', 'toA', '2001:db8:ffa::fe'],
    [routerB, 'wan', '2001:db8:ffb::1', 'toB', '2001:db8:ffb::fe'],
    [cloud, 'eth0', '2001:db8:c::10', 'toC', '2001:db8:c::fe'],
  ] as const;
  for (const [ns, dev, addr, inetDev, inetAddr] of v6) {
    ns.run(['ip', 'addr', 'add', `${addr}/64`, 'dev', dev]);
    inet.run(['ip', 'addr', 'add', `${inetAddr}/64`, 'dev', inetDev]);
    ns.run(['ip', '-6', 'route', 'add', 'default', 'via', inetAddr]);
  }
  routerA.run(['ip', 'route', 'add', 'default', 'via', '203.0.113.254']);
  routerB.run(['ip', 'route', 'add', 'default', 'via', '198.51.100.254']);
  cloud.run(['ip', 'route', 'add', 'default', 'via', '192.0.2.254']);
  inet.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  // Phone B's network is routed; phone A's private one is not (it is behind router A's NAT).
  inet.run(['ip', 'route', 'add', '198.18.20.0/24', 'via', ROUTER_B_WAN]);
  inet.run(['ip', '-6', 'route', 'add', '2001:db8:a:1::/64', 'via', '2001:db8:ffa::1']);
  inet.run(['ip', '-6', 'route', 'add', '2001:db8:b:1::/64', 'via', '2001:db8:ffb::1']);
  routerA.nft('table ip nat {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat;\n\t\toifname "wan" masquerade\n\t}\n}\n');
  return { lab, phoneA, routerA, phoneB, routerB, cloud, inet };
}
