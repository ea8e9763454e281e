/** Linux network namespaces for system tests: each run gets names of its own and removes them. */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function check(what: string, run: SpawnSyncReturns<string>): RunResult {
  if (run.error) throw new Error(`${what}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${what} exited ${run.status}: ${run.stderr.trim()}`);
  return run;
}

export function sh(argv: readonly string[], input?: string, timeoutMs = 30_000): RunResult {
  return check(argv.join(' '), spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, timeout: timeoutMs }));
}

export class Namespace {
  constructor(readonly name: string) {}

  /** Runs a command inside the namespace and fails on a non-zero exit. */
  run(argv: readonly string[], input?: string, timeoutMs?: number): RunResult {
    return sh(['ip', 'netns', 'exec', this.name, ...argv], input, timeoutMs);
  }

  nft(script: string): RunResult {
    return this.run(['nft', '-f', '-'], script);
  }
}

/** A set of namespaces joined by veth pairs, all removed by destroy(). */
export class Lab {
  readonly prefix = `cq${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  private readonly spaces: Namespace[] = [];

  namespace(role: string): Namespace {
    const ns = new Namespace(`${this.prefix}-${role}`);
    sh(['ip', 'netns', 'add', ns.name]);
    this.spaces.push(ns);
    // Without duplicate address detection an interface answers neighbour solicitations at once,
    // instead of a second or two later, which would lose a test's first IPv6 packets.
    ns.run(['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    ns.run(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair between two namespaces, with an address (CIDR) on each end. */
  link(a: Namespace, aDev: string, aAddr: string, b: Namespace, bDev: string, bAddr: string): void {
    const tmp = `${this.prefix}${this.spaces.length}${Math.random().toString(36).slice(2, 4)}`;
    sh(['ip', 'link', 'add', `${tmp}a`, 'type', 'veth', 'peer', 'name', `${tmp}b`]);
    sh(['ip', 'link', 'set', `${tmp}a`, 'netns', a.name]);
    sh(['ip', 'link', 'set', `${tmp}b`, 'netns', b.name]);
    a.run(['ip', 'link', 'set', `${tmp}a`, 'name', aDev]);
    b.run(['ip', 'link', 'set', `${tmp}b`, 'name', bDev]);
    for (const [ns, dev, addr] of [[a, aDev, aAddr], [b, bDev, bAddr]] as const) {
      ns.run(['ip', 'addr', 'add', addr, 'dev', dev]);
      ns.run(['ip', 'link', 'set', dev, 'up']);
    }
  }

  destroy(): void {
    for (const ns of this.spaces.splice(0)) spawnSync('ip', ['netns', 'del', ns.name]);
  }
}
