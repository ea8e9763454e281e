/**
 * `ubus call system board`: what procd knows about the hardware and the firmware.
 *
 * Shape from procd's system.c (system_board; openwrt/procd 2c1834ab): `kernel` and `hostname`
 * from uname(2); `system`, `model`, `board_name` from /proc/cpuinfo, /tmp/sysinfo and the device
 * tree when found; `rootfs_type`; `release` from os-release with `distribution`, `version`,
 * `revision`, `target`, `description` and, in newer releases, `codename`, `builddate`,
 * `firmware_url`. procd reads those files into 256-byte lines, which bounds every string.
 * Real output: forum.openwrt.org/t/openwrt-support-for-linksys-mx4200/86477 (post 1740, a D-Link
 * COVR-X1860 on 23.05), copied in test/fixtures/ubus/board.json.
 */
import { optional, str } from '../protocol/schema.ts';
import { ok, type Result } from '../result.ts';
import { loose, readAs } from './read.ts';

export interface BoardRelease {
  readonly distribution: string | null;
  readonly version: string | null;
  readonly revision: string | null;
  readonly codename: string | null;
  readonly target: string | null;
  readonly description: string | null;
  readonly builddate: string | null;
}

export interface BoardInfo {
  readonly kernel: string;
  readonly hostname: string;
  readonly system: string | null;
  readonly model: string | null;
  readonly boardName: string | null;
  readonly rootfsType: string | null;
  readonly release: BoardRelease | null;
}

const text = optional(str({ max: 256 }));

const releaseSchema = loose({
  distribution: text,
  version: text,
  revision: text,
  codename: text,
  target: text,
  description: text,
  builddate: text,
});

const boardSchema = loose({
  kernel: str({ min: 1, max: 256 }),
  hostname: str({ min: 1, max: 256 }),
  system: text,
  model: text,
  board_name: text,
  rootfs_type: text,
  release: optional(releaseSchema),
});

export function parseBoard(value: unknown): Result<BoardInfo> {
  const r = readAs(boardSchema, value, 'system board');
  if (!r.ok) return r;
  const b = r.value;
  const rel = b.release;
  return ok({
    kernel: b.kernel,
    hostname: b.hostname,
    system: b.system ?? null,
    model: b.model ?? null,
    boardName: b.board_name ?? null,
    rootfsType: b.rootfs_type ?? null,
    release:
      rel === undefined
        ? null
        : {
            distribution: rel.distribution ?? null,
            version: rel.version ?? null,
            revision: rel.revision ?? null,
            codename: rel.codename ?? null,
            target: rel.target ?? null,
            description: rel.description ?? null,
            builddate: rel.builddate ?? null,
          },
  });
}
