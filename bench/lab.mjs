// The benchmarks' network lab: namespaces (phone, router, far end) joined by veth pairs, and
// every child started in them, all removed by close(). Root only.
import { spawn, spawnSync } from 'node:child_process';

export const ADDR = { phone: '192.168.1.20', routerLan: '192.168.1.1', routerWan: '203.0.113.1', far: '203.0.113.9' };

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function run(argv, { input, what = argv.join(' '), timeoutMs = 30_000 } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, timeout: timeoutMs, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${(r.stderr ?? r.error?.message ?? '').trim().slice(0, 500)}`);
  return r.stdout;
}

/** Why the benchmark cannot run here (not root, a tool missing), or null. */
export function missing(tools) {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) return `needs ${tool}`;
  }
  return null;
}

export class Lab {
  constructor(tag) {
    this.prefix = `cq${tag}${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
    this.names = [];
    this.children = new Set();
  }

  ns(role) {
    const name = `${this.prefix}-${role}`;
    run(['ip', 'netns', 'add', name]);
    this.names.push(name);
    this.in(name, ['ip', 'link', 'set', 'lo', 'up']);
    return name;
  }

  in(ns, argv, options) {
    return run(['ip', 'netns', 'exec', ns, ...argv], options);
  }

  /** A child in ns, killed by close(). */
  spawn(ns, argv) {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('error', () => {});
    child.on('close', () => this.children.delete(child));
    return child;
  }

  /** Kills every process in the namespaces (the children's own children too), then removes them. */
  close() {
    for (const child of this.children) child.kill('SIGKILL');
    for (const name of this.names) {
      const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout?.split(/\s+/).filter((p) => /^\d+$/.test(p)) ?? [];
      for (const pid of pids) spawnSync('kill', ['-9', pid]);
    }
    for (const name of this.names.splice(0)) spawnSync('ip', ['netns', 'del', name]);
  }
}

/**
 * phone (eth0) — (br-lan) router (wan) — (eth0) far end, IPv4, the router forwarding.
 * wireFrames: let the hosts hand the router frames no larger than a real wire would (a veth
 * otherwise passes the sender's TSO aggregates of up to 64 kB).
 */
export function buildRouterLab(lab, { wireFrames = false } = {}) {
  const phone = lab.ns('phone');
  const router = lab.ns('rtr');
  const far = lab.ns('far');
  run(['ip', 'link', 'add', 'name', 'eth0', 'netns', phone, 'type', 'veth', 'peer', 'name', 'br-lan', 'netns', router]);
  run(['ip', 'link', 'add', 'name', 'wan', 'netns', router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', far]);
  for (const [ns, dev, addr] of [[phone, 'eth0', ADDR.phone], [router, 'br-lan', ADDR.routerLan], [router, 'wan', ADDR.routerWan], [far, 'eth0', ADDR.far]]) {
    lab.in(ns, ['ip', 'addr', 'add', `${addr}/24`, 'dev', dev]);
    lab.in(ns, ['ip', 'link', 'set', dev, 'up']);
  }
  if (wireFrames) for (const ns of [phone, far]) lab.in(ns, ['ip', 'link', 'set', 'dev', 'eth0', 'gso_max_segs', '1']);
  lab.in(phone, ['ip', 'route', 'add', 'default', 'via', ADDR.routerLan]);
  lab.in(far, ['ip', 'route', 'add', '192.168.1.0/24', 'via', ADDR.routerWan]);
  lab.in(router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return { phone, router, far };
}

/** Removes the agent's table, if there is one, so that a case starts from a clean kernel. */
export function dropTable(lab, router) {
  spawnSync('ip', ['netns', 'exec', router, 'nft', 'delete', 'table', 'inet', 'callqos'], { stdio: 'ignore' });
}

/**
 * Two routers and a cloud namespace: rtA and rtB each reach the cloud over their `wan` veth
 * (10.99.<i>.2, the cloud side 10.99.<i>.1), the broker listens on 10.99.0.1 (a /32 on the cloud's
 * loopback); each router's LAN is `br-lan` 198.18.<i>.1/24, a veth whose far end stays inside.
 */
export function buildTwoRouterLab(lab) {
  const cloud = lab.ns('cloud');
  const routers = { A: lab.ns('rtA'), B: lab.ns('rtB') };
  for (const [i, name] of [[1, 'A'], [2, 'B']]) {
    const ns = routers[name];
    run(['ip', 'link', 'add', 'name', 'wan', 'netns', ns, 'type', 'veth', 'peer', 'name', `to${name}`, 'netns', cloud]);
    lab.in(ns, ['ip', 'addr', 'add', `10.99.${i}.2/24`, 'dev', 'wan']);
    lab.in(cloud, ['ip', 'addr', 'add', `10.99.${i}.1/24`, 'dev', `to${name}`]);
    for (const [where, dev] of [[ns, 'wan'], [cloud, `to${name}`]]) lab.in(where, ['ip', 'link', 'set', dev, 'up']);
    lab.in(ns, ['ip', 'route', 'add', 'default', 'via', `10.99.${i}.1`]);
    // No dummy driver in this kernel: a veth pair whose far end stays in the router.
    lab.in(ns, ['ip', 'link', 'add', 'br-lan', 'type', 'veth', 'peer', 'name', 'lanpeer']);
    lab.in(ns, ['ip', 'link', 'set', 'lanpeer', 'up']);
    lab.in(ns, ['ip', 'addr', 'add', `198.18.${i}.1/24`, 'dev', 'br-lan']);
    lab.in(ns, ['ip', 'link', 'set', 'br-lan', 'up']);
  }
  lab.in(cloud, ['ip', 'addr', 'add', '10.99.0.1/32', 'dev', 'lo']);
  return { cloud, routers };
}

/** What `ubus call network.interface dump` prints on a router with one LAN and one WAN, IPv4. */
export function ubusDump(lan4, wan4) {
  const iface = (name, dev, address) => ({
    interface: name, up: true, pending: false, available: true, autostart: true, dynamic: false, uptime: 60, l3_device: dev, proto: 'static', device: dev,
    'ipv4-address': [{ address, mask: 24 }], 'ipv6-address': [], 'ipv6-prefix': [], 'ipv6-prefix-assignment': [], route: [], 'dns-server': [], 'dns-search': [], neighbors: [], data: {},
  });
  return JSON.stringify({ interface: [iface('lan', 'br-lan', lan4), iface('wan', 'wan', wan4)] });
}

/** An agent's UCI config with the cloud link on. */
export function agentConfig({ stateDir, device, broker, port, uplinkKbit = 1000000, downlinkKbit = 1000000 }) {
  return [
    "config agent 'agent'", `\toption device_id '${device}'`, `\toption state_dir '${stateDir}'`,
    "config qos 'qos'", `\toption uplink_kbit '${uplinkKbit}'`, `\toption downlink_kbit '${downlinkKbit}'`, "\toption wan_device 'wan'", "\toption lan_device 'br-lan'",
    "config cloud 'cloud'", "\toption enabled '1'", `\toption broker '${broker}'`, `\toption port '${port}'`, "\toption tls '0'", "\toption keepalive_s '30'", '',
  ].join('\n');
}
