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
