/**
 * The agent's rendered data plane in a real kernel: three namespaces (LAN host, router, far end),
 * the router's table from `callqos-agent render` under real qjs, real UDP through the router, and
 * the DSCP counted where the packets arrive.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { bundles, repoRoot } from '../support/bundles.ts';
import { describeSystem } from './support/guard.ts';
import type { Namespace } from './support/netns.ts';
import { buildRouterLab } from './support/router-lab.ts';
import type { RouterLab } from './support/router-lab.ts';
import { counted, observe, send as sendUdp } from './support/traffic.ts';

const PACKETS = 20;
const send = (ns: Namespace, src: string, sport: number, dst: string, dport: number, dscp: number) => sendUdp(ns, src, sport, dst, dport, dscp, PACKETS);

describeSystem('data plane: per-gate DSCP marking in the kernel', ['ip', 'nft', 'python3'], () => {
  let lab: RouterLab;
  let phone: Namespace;
  let router: Namespace;
  let far: Namespace;

  beforeAll(() => {
    lab = buildRouterLab();
    ({ phone, router, far } = lab);

    // Another package's conntrack mark bit, which the agent must leave alone.
    router.nft('table inet otherpkg {\n\tchain pre {\n\t\ttype filter hook prerouting priority -100;\n\t\tct mark set ct mark or 0x1\n\t}\n}\n');
    router.nft(
      'table inet probe {\n\tcounter ef_with_other_bit {}\n\tchain post {\n\t\ttype filter hook postrouting priority 100;\n' +
        '\t\tudp dport 40000 ct mark and 0x003f0001 == 0x002e0001 counter name ef_with_other_bit\n\t}\n}\n',
    );

    const render = spawnSync(inject('qjsPath'), [bundles.agent, 'render', '--config', `${repoRoot}/test/system/fixtures/lab.uci`], {
      encoding: 'utf8',
    });
    expect(render.stderr).toBe('');
    expect(render.status).toBe(0);
    router.nft(render.stdout);

    observe(far, [40000, 40002, 40010, 41234, 40100]);
    observe(phone, [5004, 5006]);
  });

  afterAll(() => lab?.lab.destroy());

  it('marks an admitted IPv4 flow EF going out, and its class in the masked conntrack bits', () => {
    send(phone, '192.168.1.20', 5004, '203.0.113.9', 40000, 0);
    expect(counted(far, '4', 40000, 'ef')).toBe(PACKETS);
    expect(counted(far, '4', 40000, 'cs0')).toBe(0);
    const probe = router.run(['nft', '-j', 'list', 'counter', 'inet', 'probe', 'ef_with_other_bit']).stdout;
    expect(probe).toContain(`"packets": ${PACKETS}`);
  });

  it('marks the same flow EF coming in, where the LAN host is the destination', () => {
    send(far, '203.0.113.9', 40000, '192.168.1.20', 5004, 0);
    expect(counted(phone, '4', 5004, 'ef')).toBe(PACKETS);
  });

  it('gives a video gate AF41', () => {
    send(phone, '192.168.1.20', 5006, '203.0.113.9', 40002, 0);
    expect(counted(far, '4', 40002, 'af41')).toBe(PACKETS);
  });

  it('washes EF that a host set on a flow nobody admitted', () => {
    send(phone, '192.168.1.20', 6000, '203.0.113.9', 40010, 46);
    expect(counted(far, '4', 40010, 'cs0')).toBe(PACKETS);
    expect(counted(far, '4', 40010, 'ef')).toBe(0);
  });

  it('marks a gate with a wildcard remote for any far address and port', () => {
    send(phone, '192.168.1.21', 7078, '203.0.113.9', 41234, 0);
    expect(counted(far, '4', 41234, 'ef')).toBe(PACKETS);
  });

  it('marks an IPv6 up-only gate going out and leaves its return traffic alone', () => {
    send(phone, '2001:db8:0:1::20', 5004, '2001:db8:ffff::9', 40100, 0);
    expect(counted(far, '6', 40100, 'ef')).toBe(PACKETS);
    send(far, '2001:db8:ffff::9', 40100, '2001:db8:0:1::20', 5004, 0);
    expect(counted(phone, '6', 5004, 'cs0')).toBe(PACKETS);
    expect(counted(phone, '6', 5004, 'ef')).toBe(0);
  });

  it('counts each gate per direction in its map element', () => {
    const list = (map: string) => router.run(['nft', '-j', 'list', 'map', 'inet', 'callqos', map]).stdout;
    const packetsOf = (json: string, comment: string): number => {
      const data = JSON.parse(json) as { nftables: Array<{ map?: { elem?: Array<[{ elem: { comment?: string; counter?: { packets: number } } }, unknown]> } }> };
      const elems = data.nftables.find((e) => e.map)?.map?.elem ?? [];
      return elems.find(([key]) => key.elem.comment === comment)?.[0].elem.counter?.packets ?? -1;
    };
    expect(packetsOf(list('up_v4'), 'audio')).toBe(PACKETS);
    expect(packetsOf(list('down_v4'), 'audio')).toBe(PACKETS);
    expect(packetsOf(list('up_v4'), 'video')).toBe(PACKETS);
    expect(packetsOf(list('up_v6_any'), 'v6phone')).toBe(PACKETS);
    // The wildcard gate's LAN endpoint is what lets packets reach the interval map at all.
    expect(router.run(['nft', 'list', 'set', 'inet', 'callqos', 'up_v6_lan']).stdout).toContain('2001:db8:0:1::20 . 5004');
  });
});
