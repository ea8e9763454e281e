/**
 * The lab most system tests use: a LAN host (phone), a router, and a far end on the router's WAN.
 *   phone  eth0 192.168.1.20/24, .21/24, 2001:db8:0:1::20/64   (default via the router)
 *   router br-lan 192.168.1.1/24, 2001:db8:0:1::1/64; wan 203.0.113.1/24, 2001:db8:ffff::1/64
 *   far    eth0 203.0.113.9/24, 2001:db8:ffff::9/64
 */
import { Lab, type Namespace } from './netns.ts';

export interface RouterLab {
  readonly lab: Lab;
  readonly phone: Namespace;
  readonly router: Namespace;
  readonly far: Namespace;
}

export function buildRouterLab(options: { nat?: boolean } = {}): RouterLab {
  const lab = new Lab();
  const phone = lab.namespace('lan');
  const router = lab.namespace('rtr');
  const far = lab.namespace('far');
  lab.link(phone, 'eth0', '192.168.1.20/24', router, 'br-lan', '192.168.1.1/24');
  lab.link(router, 'wan', '203.0.113.1/24', far, 'eth0', '203.0.113.9/24');
  phone.run(['ip', 'addr', 'add', '192.168.1.21/24', 'dev', 'eth0']);
  phone.run(['ip', 'addr', 'add', '2001:db8:0:1::20/64', 'dev', 'eth0']);
  router.run(['ip', 'addr', 'add', '2001:db8:0:1::1/64', 'dev', 'br-lan']);
  router.run(['ip', 'addr', 'add', '2001:db8:ffff::1/64', 'dev', 'wan']);
  far.run(['ip', 'addr', 'add', '2001:db8:ffff::9/64', 'dev', 'eth0']);
  phone.run(['ip', 'route', 'add', 'default', 'via', '192.168.1.1']);
  phone.run(['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:0:1::1']);
  if (!options.nat) far.run(['ip', 'route', 'add', '192.168.1.0/24', 'via', '203.0.113.1']);
  far.run(['ip', '-6', 'route', 'add', '2001:db8:0:1::/64', 'via', '2001:db8:ffff::1']);
  router.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  if (options.nat) {
    // Source NAT like a home router's: the far end sees only 203.0.113.1.
    router.nft('table ip nat {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat;\n\t\toifname "wan" masquerade\n\t}\n}\n');
  }
  return { lab, phone, router, far };
}
