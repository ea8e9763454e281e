/**
 * A router's system as files, for the enrolment probe: /sys/class/net with two Ethernet ports and
 * a bridge, kernel modules (cake installed, act_ctinfo loaded), fq_codel as the default qdisc, and
 * a bin/ with a fake `nft` printing nft 1.0.6's version line beside the fake `ubus`
 * (test/fixtures/ubus/bin), whose `system board` is the COVR-X1860 fixture.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/bundles.ts';

export const FAKE_ROUTER_HARDWARE_ID = 'mac-9c53220a0b0c';
export const UBUS_FIXTURES = join(repoRoot, 'test', 'fixtures', 'ubus');

export function makeFakeRouter(root: string): { bin: string; ubusState: string } {
  const put = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  put('sys/class/net/eth0/address', '9c:53:22:0a:0b:0d\n');
  put('sys/class/net/eth0/addr_assign_type', '0\n');
  put('sys/class/net/lan1/address', '9c:53:22:0a:0b:0c\n');
  put('sys/class/net/lan1/addr_assign_type', '3\n');
  put('sys/class/net/br-lan/address', '00:00:00:00:00:01\n');
  put('sys/class/net/br-lan/addr_assign_type', '3\n');
  put('proc/sys/kernel/osrelease', '5.15.130\n');
  put('lib/modules/5.15.130/sch_cake.ko', '');
  mkdirSync(join(root, 'sys/module/act_ctinfo'), { recursive: true });
  put('proc/sys/net/core/default_qdisc', 'fq_codel\n');
  const bin = join(root, 'bin');
  put('bin/nft', '#!/bin/sh\n[ "$1" = --version ] && echo "nftables v1.0.6 (Lester Gooch #5)" && exit 0\nexit 1\n');
  chmodSync(join(bin, 'nft'), 0o755);
  chmodSync(join(UBUS_FIXTURES, 'bin', 'ubus'), 0o755);
  const ubusState = join(root, 'ubus-state');
  mkdirSync(ubusState, { recursive: true });
  writeFileSync(join(ubusState, 'board'), 'board.json\n');
  return { bin, ubusState };
}
