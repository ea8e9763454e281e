/**
 * The agent as it runs on a router: the real bundle under real qjs as a daemon in the router
 * namespace (with source NAT, as a home router has), gates installed through its local interface,
 * real UDP through the router, DSCP counted where it arrives.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { bundles } from '../support/bundles.ts';
import { AgentProcess } from './support/agent-process.ts';
import { describeSystem } from './support/guard.ts';
import type { Namespace } from './support/netns.ts';
import { buildRouterLab } from './support/router-lab.ts';
import type { RouterLab } from './support/router-lab.ts';
import { counted, observe, send } from './support/traffic.ts';

const NAT = 'table ip nat {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat;\n\t\toifname "wan" masquerade\n\t}\n}\n';

function gate(id: string, lanPort: number, remotePort: number | null, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    id,
    direction: 'both',
    lan: { address: '192.168.1.20', port: lanPort },
    remote: { address: remotePort === null ? null : '203.0.113.9', port: remotePort },
    dscp: 46,
    rateKbps: 100,
    lifetimeS: 600,
    ...extra,
  });
}

describeSystem('agent daemon under qjs: gates, policing, reconcile', ['ip', 'nft', 'python3', 'mkfifo'], () => {
  let lab: RouterLab;
  let phone: Namespace;
  let router: Namespace;
  let far: Namespace;
  let agent: AgentProcess;
  let temp: string;

  /** Gate ids in the up_v4 map; none while the table is missing. */
  const gateIdsInKernel = (): string[] => {
    const listed = spawnSync('ip', ['netns', 'exec', router.name, 'nft', 'list', 'map', 'inet', 'callqos', 'up_v4'], { encoding: 'utf8' });
    return listed.status === 0 ? [...listed.stdout.matchAll(/comment "([^"]+)"/g)].map((m) => m[1]!).sort() : [];
  };

  beforeAll(async () => {
    lab = buildRouterLab({ nat: true });
    ({ phone, router, far } = lab);
    observe(far, [42000, 42010, 42100, 42200, 42300, 42600]);
    observe(phone, [6000, 6600]);
    temp = mkdtempSync(join(tmpdir(), 'callqos-agent-'));
    AgentProcess.writeConfig(join(temp, 'callqos'), join(temp, 'state'));
    agent = new AgentProcess(inject('qjsPath'), router, join(temp, 'callqos'));
    agent.start();
    await agent.waitForLog('callqos agent running');
  });

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    lab?.lab.destroy();
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  it('installs a gate from the local interface and marks the call EF both ways through NAT', async () => {
    expect(await agent.gate('add', gate('call-a', 6000, 42000))).toEqual({ ok: true, value: { replaced: false } });
    send(phone, '192.168.1.20', 6000, '203.0.113.9', 42000, 0, 20);
    expect(counted(far, '4', 42000, 'ef')).toBe(20);
    // The answer goes to the router's public address; conntrack maps it back to the phone.
    send(far, '203.0.113.9', 42000, '203.0.113.1', 6000, 0, 20);
    expect(counted(phone, '4', 6000, 'ef')).toBe(20);
  });

  it('marks an IPv6 gate EF both ways (no NAT for IPv6) and classes it in the queues', async () => {
    const v6 = { lan: { address: '2001:db8:0:1::20', port: 6600 }, remote: { address: '2001:db8:ffff::9', port: 42600 } };
    expect((await agent.gate('add', gate('call-v6', 6600, 42600, v6))).ok).toBe(true);
    send(phone, '2001:db8:0:1::20', 6600, '2001:db8:ffff::9', 42600, 0, 20);
    expect(counted(far, '6', 42600, 'ef')).toBe(20);
    send(far, '2001:db8:ffff::9', 42600, '2001:db8:0:1::20', 6600, 0, 20);
    expect(counted(phone, '6', 6600, 'ef')).toBe(20);
    expect((await agent.gate('remove', 'call-v6')).ok).toBe(true);
  });

  it('shapes the WAN and LAN devices with an HTB priority class, and EF lands in it', async () => {
    const wan = router.run(['tc', 'qdisc', 'show', 'dev', 'wan']).stdout;
    expect(wan).toContain('qdisc htb 1: root');
    const before = router.run(['tc', '-s', 'class', 'show', 'dev', 'wan', 'classid', '1:10']).stdout;
    const sentPackets = (text: string) => Number(/Sent \d+ bytes (\d+) pkt/.exec(text)?.[1] ?? -1);
    send(phone, '192.168.1.20', 6000, '203.0.113.9', 42000, 0, 20);
    const after = router.run(['tc', '-s', 'class', 'show', 'dev', 'wan', 'classid', '1:10']).stdout;
    expect(sentPackets(after) - sentPackets(before)).toBe(20);
    expect(router.run(['tc', 'qdisc', 'show', 'dev', 'br-lan']).stdout).toContain('qdisc htb 1: root');
    expect(counted(far, '4', 42000, 'ef')).toBe(40);
  });

  it('answers the rpcd plugin: status, gates, stats, and gate_add/gate_remove through the daemon', async () => {
    expect(await agent.rpcd('status')).toMatchObject({ running: true, gates: 5 });
    const gates = (await agent.rpcd('gates')).gates as Array<{ id: string; source: string }>;
    expect(gates.map((g) => `${g.id}:${g.source}`).sort()).toEqual(['audio:static', 'call-a:local', 'natphone:static', 'v6phone:static', 'video:static']);
    const stats = await agent.rpcd('stats');
    const counters = stats.gates as Array<{ id: string; way: string; packets: number }>;
    expect(counters.find((g) => g.id === 'call-a' && g.way === 'up')?.packets).toBe(40);
    expect(Object.keys(stats.queues as object)).toEqual(['wan', 'br-lan']);
    expect(JSON.stringify(stats.queues)).toContain('"kind":"htb"');
    const added = await agent.rpcd('gate_add', { gate: { id: 'rpcd-1', direction: 'up', lan: { address: '192.168.1.21', port: 7100 }, remote: { address: null, port: null }, dscp: 34, rateKbps: 500 } });
    expect(added).toEqual({ ok: true, result: { replaced: false } });
    const listed = (await agent.rpcd('gates')).gates as Array<{ id: string; lifetimeS: number }>;
    expect(listed.find((g) => g.id === 'rpcd-1')?.lifetimeS).toBe(3600);
    expect(await agent.rpcd('gate_add', { gate: { id: 'rpcd-2', direction: 'up', lan: { address: 'not-an-ip', port: 1 }, remote: { address: null, port: null }, dscp: 46, rateKbps: 1 } })).toMatchObject({ error: 'E_FORMAT' });
    expect((await agent.rpcd('gate_remove', { id: 'rpcd-1' })).ok).toBe(true);
  });

  it('washes EF that the phone set on a flow nobody admitted', async () => {
    send(phone, '192.168.1.20', 6010, '203.0.113.9', 42010, 46, 20);
    expect(counted(far, '4', 42010, 'cs0')).toBe(20);
    expect(counted(far, '4', 42010, 'ef')).toBe(0);
  });

  it('demotes what a gate sends beyond its admitted rate to best effort, and drops none of it', async () => {
    // 32 kbit/s admitted (+10%: 4,400 bytes/s); 400 datagrams of 228 bytes, 2-5 ms apart, are 10-25x that.
    // The kernel's byte limit starts with one second of rate plus the burst (3,000 bytes) in its bucket.
    expect((await agent.gate('add', gate('call-p', 6100, 42100, { rateKbps: 32 }))).ok).toBe(true);
    const started = Date.now();
    send(phone, '192.168.1.20', 6100, '203.0.113.9', 42100, 0, 400, 200);
    const seconds = (Date.now() - started) / 1000;
    const ef = counted(far, '4', 42100, 'ef');
    const demoted = counted(far, '4', 42100, 'cs0');
    expect(ef + demoted).toBe(400);
    // What stays EF is what the limit lets through: rate x time plus the burst, in 228-byte packets.
    expect(ef).toBeLessThanOrEqual(Math.ceil((4400 * (seconds + 1) + 3000) / 228) + 5);
    expect(ef).toBeGreaterThanOrEqual(13);
    expect(demoted).toBeGreaterThan(0);
  });

  it('keeps a wildcard gate\'s LAN endpoint in its set while another wildcard gate there needs it', async () => {
    const wild = (id: string, address: string) => gate(id, 6300, null, { direction: 'up', remote: { address, port: null } });
    const lanSet = () => router.run(['nft', 'list', 'set', 'inet', 'callqos', 'up_v4_lan']).stdout;
    expect((await agent.gate('add', wild('wild-a', '203.0.113.9'))).ok).toBe(true);
    expect((await agent.gate('add', wild('wild-b', '198.51.100.1'))).ok).toBe(true);
    expect((await agent.gate('remove', 'wild-b')).ok).toBe(true);
    expect(lanSet()).toContain('192.168.1.20 . 6300');
    send(phone, '192.168.1.20', 6300, '203.0.113.9', 42300, 0, 20);
    expect(counted(far, '4', 42300, 'ef')).toBe(20);
    expect((await agent.gate('remove', 'wild-a')).ok).toBe(true);
    expect(lanSet()).not.toContain('192.168.1.20 . 6300');
    send(phone, '192.168.1.20', 6300, '203.0.113.9', 42300, 0, 20);
    expect(counted(far, '4', 42300, 'cs0')).toBe(20);
  });

  it('removes a gate with its kernel elements and answers with the usage it counted', async () => {
    const removed = (await agent.gate('remove', 'call-p')) as { ok: boolean; value: { usage: { up: { packets: number } } } };
    expect(removed.ok).toBe(true);
    expect(removed.value.usage.up.packets).toBe(400);
    expect(gateIdsInKernel()).not.toContain('call-p');
    const table = router.run(['nft', 'list', 'table', 'inet', 'callqos']).stdout;
    expect(table).not.toContain('"call-p"');
    expect(table).not.toContain('6100');
  });

  it('modifies a gate whose kernel elements someone else changed, by rebuilding the table', async () => {
    expect((await agent.gate('add', gate('drift', 6700, 42700))).ok).toBe(true);
    // Another tool rewrites the gate's up element behind the agent's back (another class).
    router.nft(
      'delete element inet callqos up_v4 { 192.168.1.20 . 6700 . 203.0.113.9 . 42700 }\n' +
        'add element inet callqos up_v4 { 192.168.1.20 . 6700 . 203.0.113.9 . 42700 : goto mark_af41_v4 }\n',
    );
    const modified = await agent.gate('add', gate('drift', 6700, 42701));
    expect(modified).toEqual({ ok: true, value: { replaced: true } });
    expect(agent.log).toContain('gate change refused by the kernel; rebuilding the table');
    expect(router.run(['nft', 'list', 'map', 'inet', 'callqos', 'up_v4']).stdout).toContain('192.168.1.20 . 6700 . 203.0.113.9 . 42701');
    expect(gateIdsInKernel()).toContain('call-a');
    expect((await agent.gate('remove', 'drift')).ok).toBe(true);
  });

  it('refuses invalid gates with an error naming the field, and the kernel and the agent stay as they were', async () => {
    const before = gateIdsInKernel();
    const cases: Array<[string, string]> = [
      [gate('x1', 6200, 42200, { lan: { address: '192.168.1.20; flush ruleset', port: 6200 } }), 'gate.lan.address'],
      [gate('x2', 70000, 42200), 'gate.lan.port'],
      [gate('x3', 6200, 42200, { dscp: 47 }), 'gate.dscp'],
      [gate('x4', 6200, 42200, { remote: { address: '2001:db8::9', port: 1 } }), 'gate.remote.address'],
      [gate('x5" } ; flush ruleset ; add element inet callqos up_v4 { "', 6200, 42200), 'gate.id'],
      [gate('x6', 6200, 42200, { lifetimeS: 0 }), 'gate.lifetimeS'],
      [gate('call-dup', 6000, null), 'lan'], // overlaps call-a
    ];
    for (const [json, path] of cases) {
      const answer = await agent.gate('add', json);
      expect(answer.ok, json).toBe(false);
      expect(answer.error?.path, json).toBe(path);
      expect(answer.error?.message.length).toBeGreaterThan(10);
    }
    expect(gateIdsInKernel()).toEqual(before);
    expect(agent.running).toBe(true);
  });

  it('survives 10,000 random and mutated command lines on its FIFO', async () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const base = JSON.stringify({ cmd: 'gate_add', gate: JSON.parse(gate('fz', 6300, 42300)) });
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i += 1) {
      let text = base;
      for (let n = 1 + Math.floor(rnd() * 4); n > 0; n -= 1) {
        const at = Math.floor(rnd() * text.length);
        text = text.slice(0, at) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + text.slice(at + 1 + Math.floor(rnd() * 3));
      }
      lines.push(rnd() < 0.1 ? Array.from({ length: 40 }, () => String.fromCharCode(Math.floor(rnd() * 256))).join('').replace(/\n/g, ' ') : text);
    }
    const before = gateIdsInKernel();
    const fifo = join(temp, 'state', 'cmd');
    // Asynchronously: the test must keep reading the agent's log meanwhile, or the agent would
    // block on a full stderr pipe and stop reading its FIFO.
    const writer = spawn('sh', ['-c', 'exec 3<>"$1" && cat >&3', 'sh', fifo], { stdio: ['pipe', 'ignore', 'ignore'] });
    writer.stdin.end(lines.join('\n') + '\n');
    expect(await new Promise((resolve) => writer.on('exit', resolve))).toBe(0);
    // A valid command after the flood is still served, so the flood was read through.
    expect((await agent.gate('add', gate('after-flood', 6400, 42400))).ok).toBe(true);
    expect(agent.running).toBe(true);
    const now = gateIdsInKernel().filter((id) => id !== 'after-flood' && !id.startsWith('f'));
    expect(now).toEqual(before.filter((id) => !id.startsWith('f')));
    expect((await agent.gate('remove', 'after-flood')).ok).toBe(true);
  });

  it('restores its table and every live gate within 5 s after nft flush ruleset', async () => {
    router.run(['nft', 'flush', 'ruleset']);
    router.nft(NAT); // as fw4 would bring its own tables back
    const flushed = Date.now();
    while (!gateIdsInKernel().includes('call-a')) {
      expect(Date.now() - flushed).toBeLessThan(5_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    send(phone, '192.168.1.20', 6000, '203.0.113.9', 42000, 0, 20);
    expect(counted(far, '4', 42000, 'ef')).toBe(60);
    // The monitor also reports the agent's own table replacement; that must not start another.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(agent.log.match(/converged reason="table deleted"/g)).toHaveLength(1);
  });

  it('keeps marking while the agent is killed, and converges within 2 s after it restarts', async () => {
    await agent.kill('SIGKILL');
    send(phone, '192.168.1.20', 6000, '203.0.113.9', 42000, 0, 100);
    expect(counted(far, '4', 42000, 'ef')).toBe(160);
    expect(counted(far, '4', 42000, 'cs0')).toBe(0);
    agent.log = '';
    const restarted = Date.now();
    agent.start();
    await agent.waitForLog('data plane converged', 2_000);
    expect(Date.now() - restarted).toBeLessThan(2_000);
    expect(gateIdsInKernel()).toContain('call-a');
  });

  it('lets the kernel drop a gate whose removal never came (lifetime plus grace)', async () => {
    expect((await agent.gate('add', gate('short', 6500, 42500, { lifetimeS: 10 }))).ok).toBe(true);
    await agent.kill('SIGKILL');
    expect(gateIdsInKernel()).toContain('short');
    await new Promise((r) => setTimeout(r, 16_000)); // 10 s lifetime + 5 s grace
    expect(gateIdsInKernel()).not.toContain('short');
    expect(gateIdsInKernel()).toContain('call-a');
    agent.log = '';
    agent.start();
    await agent.waitForLog('callqos agent running');
    expect(agent.log).toContain('gate expired while the agent was down');
    expect(gateIdsInKernel()).not.toContain('short');
  }, 40_000);

  it('stops on SIGTERM leaving the kernel marking, and teardown (service stop) removes table and qdiscs', async () => {
    await agent.kill('SIGTERM');
    expect(agent.log).toContain('callqos agent stopped');
    expect(gateIdsInKernel()).toContain('call-a');
    const teardown = spawnSync('ip', ['netns', 'exec', router.name, inject('qjsPath'), bundles.agent, 'teardown', '--config', agent.configPath], { encoding: 'utf8' });
    expect(teardown.stderr).toBe('');
    expect(teardown.status).toBe(0);
    expect(router.run(['nft', 'list', 'tables']).stdout).not.toContain('callqos');
    expect(router.run(['tc', 'qdisc', 'show', 'dev', 'wan']).stdout).not.toContain('htb');
    expect(router.run(['tc', 'qdisc', 'show', 'dev', 'br-lan']).stdout).not.toContain('htb');
  });
});
