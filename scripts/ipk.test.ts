import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test/support/temp.ts';
import { arArchive, buildIpk, listFiles, packageMtime, readFeedMakefile, tarArchive } from './ipk.mjs';

const repo = join(import.meta.dirname, '..');
const feedMakefile = readFileSync(join(repo, 'feeds', 'callqos-agent', 'Makefile'), 'utf8');
const MTIME = 1_700_000_000;

function run(cmd: string, args: string[], options: { input?: Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(cmd, args, { ...options, maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout;
}

let temp: ReturnType<typeof makeTempDir> | null = null;
afterEach(() => {
  temp?.remove();
  temp = null;
});
function tempDir(): string {
  temp = makeTempDir('ipk');
  return temp.path;
}

describe('tar writer', () => {
  const long = (n: number, c: string) => c.repeat(n);
  const entries = [
    { path: './', type: 'dir', mode: 0o755, mtime: MTIME },
    { path: './empty', type: 'file', mode: 0o644, mtime: MTIME, data: Buffer.alloc(0) },
    { path: './secret', type: 'file', mode: 0o600, mtime: MTIME, data: 'one line\n' },
    { path: './run.sh', type: 'file', mode: 0o755, mtime: MTIME, data: '#!/bin/sh\nexit 0\n' },
    { path: './block', type: 'file', mode: 0o644, mtime: MTIME, data: randomBytes(512) },
    { path: './block-and-one', type: 'file', mode: 0o640, mtime: MTIME, data: randomBytes(513) },
    // exactly 100 bytes: still the name field alone
    { path: `./${long(98, 'n')}`, type: 'file', mode: 0o644, mtime: MTIME, data: 'a' },
    // over 100 bytes: split into the ustar prefix and name
    { path: `./${long(90, 'd')}/`, type: 'dir', mode: 0o700, mtime: MTIME },
    { path: `./${long(90, 'd')}/${long(60, 'f')}`, type: 'file', mode: 0o644, mtime: MTIME, data: 'b' },
    { path: `./${long(150, 'p')}/${long(99, 'q')}`, type: 'file', mode: 0o755, mtime: MTIME, data: randomBytes(1000) },
  ];

  it('writes archives that GNU tar lists in order, with modes, owner 0:0 and the given time', () => {
    const listing = run('tar', ['-tv', '--numeric-owner', '--full-time', '-f', '-'], { input: tarArchive(entries), env: { ...process.env, TZ: 'UTC' } })
      .toString()
      .trim()
      .split('\n');
    expect(listing).toHaveLength(entries.length);
    expect(listing.map((line) => line.split(/\s+/))).toEqual(
      entries.map((entry) => [
        (entry.type === 'dir' ? 'd' : '-') + modeString(entry.mode),
        '0/0',
        String(entry.type === 'file' ? Buffer.from(entry.data ?? '').length : 0),
        '2023-11-14',
        '22:13:20',
        entry.path,
      ]),
    );
  });

  it('writes archives that GNU tar extracts byte for byte, modes and times included', () => {
    const dir = tempDir();
    run('tar', ['-x', '-p', '-f', '-', '-C', dir], { input: tarArchive(entries) });
    for (const entry of entries) {
      const stat = statSync(join(dir, entry.path));
      expect(stat.mode & 0o7777).toBe(entry.mode);
      if (entry.type === 'file') {
        expect(readFileSync(join(dir, entry.path)).equals(Buffer.from(entry.data ?? ''))).toBe(true);
        expect(stat.mtimeMs / 1000).toBe(MTIME);
      } else {
        expect(stat.isDirectory()).toBe(true);
      }
    }
  });

  it('refuses a path that no ustar prefix/name split can hold', () => {
    const file = (path: string) => [{ path, type: 'file', mode: 0o644, mtime: MTIME, data: 'x' }];
    expect(() => tarArchive(file(`./${long(101, 'x')}`))).toThrow(/too long for ustar/);
    expect(() => tarArchive(file(`./${long(200, 'a')}/b`))).toThrow(/too long for ustar/);
    expect(() => tarArchive([{ path: './dir', type: 'dir', mode: 0o755, mtime: MTIME }])).toThrow(/must end in \//);
  });
});

describe('ar writer', () => {
  const members = [
    { name: 'debian-binary', data: Buffer.from('2.0\n'), mode: 0o644, mtime: MTIME },
    { name: 'odd', data: randomBytes(7), mode: 0o600, mtime: MTIME },
    { name: 'fifteen-bytes.x', data: randomBytes(4096), mode: 0o755, mtime: MTIME },
    { name: 'empty', data: Buffer.alloc(0), mode: 0o644, mtime: MTIME },
  ];

  it('writes archives that binutils ar lists in order with modes, owner and time', () => {
    const dir = tempDir();
    const file = join(dir, 'test.a');
    writeFileSync(file, arArchive(members));
    const listing = run('ar', ['tv', file], { env: { ...process.env, TZ: 'UTC' } }).toString().trim().split('\n');
    expect(listing.map((line) => line.replace(/\s+/g, ' '))).toEqual(
      members.map((m) => `${modeString(m.mode)} 0/0 ${m.data.length} Nov 14 22:13 2023 ${m.name}`),
    );
  });

  it('writes members that binutils ar extracts byte for byte', () => {
    const dir = tempDir();
    const file = join(dir, 'test.a');
    writeFileSync(file, arArchive(members));
    for (const member of members) expect(run('ar', ['p', file, member.name]).equals(member.data)).toBe(true);
    run('ar', ['x', file], { cwd: dir });
    for (const member of members) expect(readFileSync(join(dir, member.name)).equals(member.data)).toBe(true);
  });

  it('refuses names that binutils would cut', () => {
    expect(() => arArchive([{ name: 'sixteen-bytes.xy', data: Buffer.alloc(1), mode: 0o644, mtime: MTIME }])).toThrow(/1-15/);
    expect(() => arArchive([{ name: 'a/b', data: Buffer.alloc(1), mode: 0o644, mtime: MTIME }])).toThrow(/without '\/'/);
  });
});

describe('feed Makefile', () => {
  const meta = readFeedMakefile(feedMakefile);

  it('names the package, its real OpenWrt dependencies and its conffile', () => {
    expect(meta).toMatchObject({ name: 'callqos-agent', release: '1', arch: 'all', section: 'net', license: 'Apache-2.0' });
    expect(meta.depends).toEqual(['quickjs', 'nftables-json', 'tc-tiny', 'kmod-sched-core', 'kmod-nft-core', 'mosquitto-client-ssl']);
    expect(meta.conffiles).toEqual(['/etc/config/callqos']);
  });

  it('has the same version as package.json, which the bundle reports', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(meta.version).toBe(pkg.version);
  });

  it('installs every file under openwrt/files, executables 0755, the config 0600, the rest 0644', () => {
    const installed = new Map(meta.install.files.map((f: { source: string; dest: string; mode: number }) => [f.dest, f]));
    for (const path of listFiles(join(repo, 'openwrt', 'files'))) {
      expect(installed.get(path)?.source, `openwrt/files/${path} is not installed by the Makefile`).toBe(`$(PKG_BUILD_DIR)/files/${path}`);
    }
    const modes = Object.fromEntries([...installed].map(([dest, f]) => [dest, f.mode.toString(8)]));
    expect(modes).toEqual({
      'usr/share/callqos/callqos-agent.js': '644',
      'etc/config/callqos': '600',
      'etc/init.d/callqos': '755',
      'etc/hotplug.d/iface/50-callqos': '644',
      'usr/libexec/rpcd/callqos': '755',
      'usr/share/rpcd/acl.d/callqos.json': '644',
    });
  });

  it('passes scripts on as make would: $$ is $', () => {
    expect(meta.scripts.postinst).toContain('[ -n "${IPKG_INSTROOT}" ] ||');
    expect(meta.scripts.postinst).not.toContain('$$');
  });

  it('refuses what only the SDK can resolve', () => {
    const withDeps = (deps: string) => feedMakefile.replace(/DEPENDS:=.*/, `DEPENDS:=${deps}`);
    expect(() => readFeedMakefile(withDeps('+quickjs +PACKAGE_foo:bar'))).toThrow(/needs the SDK/);
    expect(() => readFeedMakefile(withDeps('+quickjs @TARGET_x86'))).toThrow(/needs the SDK/);
    expect(() => readFeedMakefile(feedMakefile.replace('exit 0', 'echo $(PKG_NAME)'))).toThrow(/needs make to expand/);
    expect(() => readFeedMakefile(feedMakefile.replace('$(INSTALL_DIR) $(1)/etc/init.d', '$(CP) ./x $(1)/etc/init.d'))).toThrow(
      /cannot map/,
    );
  });

  it('dates the files with SOURCE_DATE_EPOCH, else with PKG_SOURCE_DATE', () => {
    expect(packageMtime(meta, { SOURCE_DATE_EPOCH: '1234567890' })).toBe(1234567890);
    expect(packageMtime({ ...meta, sourceDate: '2026-01-02' }, {})).toBe(Date.UTC(2026, 0, 2) / 1000);
    expect(() => packageMtime(meta, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/whole seconds/);
  });
});

describe('package', () => {
  function stand_in_bundle(): string {
    const path = join(tempDir(), 'callqos-agent.js');
    writeFileSync(path, 'import * as std from "std";\nstd.out.puts("stand-in\\n");\n');
    return path;
  }

  it('builds to identical bytes every time', () => {
    const bundle = stand_in_bundle();
    for (const outer of ['tar', 'ar'] as const) {
      const first = buildIpk({ bundle, outer, env: {} });
      const second = buildIpk({ bundle, outer, env: {} });
      expect(first.fileName).toBe('callqos-agent_0.1.0-1_all.ipk');
      expect(first.buffer.equals(second.buffer)).toBe(true);
    }
    const other = buildIpk({ bundle, env: { SOURCE_DATE_EPOCH: String(MTIME) } });
    expect(other.buffer.equals(buildIpk({ bundle, env: {} }).buffer)).toBe(false);
  });

  it('holds the same three members in either container, in the order debian-binary, control, data', () => {
    const bundle = stand_in_bundle();
    const dir = temp!.path;
    const tarIpk = join(dir, 'tar.ipk');
    const arIpk = join(dir, 'ar.ipk');
    writeFileSync(tarIpk, buildIpk({ bundle, env: {} }).buffer);
    writeFileSync(arIpk, buildIpk({ bundle, outer: 'ar', env: {} }).buffer);
    expect(run('tar', ['-tzf', tarIpk]).toString()).toBe('./debian-binary\n./control.tar.gz\n./data.tar.gz\n');
    expect(run('ar', ['t', arIpk]).toString()).toBe('debian-binary\ncontrol.tar.gz\ndata.tar.gz\n');
    for (const member of ['debian-binary', 'control.tar.gz', 'data.tar.gz']) {
      expect(run('tar', ['-xzOf', tarIpk, `./${member}`]).equals(run('ar', ['p', arIpk, member]))).toBe(true);
    }
    expect(run('ar', ['p', arIpk, 'debian-binary']).toString()).toBe('2.0\n');
    const data = gunzipSync(run('ar', ['p', arIpk, 'data.tar.gz']));
    const control = gunzipSync(run('ar', ['p', arIpk, 'control.tar.gz']));
    expect(run('tar', ['-xOf', '-', './control'], { input: control }).toString()).toContain(`Installed-Size: ${data.length}\n`);
    expect(run('tar', ['-xOf', '-', './usr/share/callqos/callqos-agent.js'], { input: data }).equals(readFileSync(bundle))).toBe(true);
  });

  it('refuses a Makefile version other than package.json', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '9.9.9' }));
    writeFileSync(join(dir, 'callqos-agent.js'), '');
    expect(() => buildIpk({ packageJson: join(dir, 'package.json'), bundle: join(dir, 'callqos-agent.js'), env: {} })).toThrow(
      /PKG_VERSION 0\.1\.0 differs from package\.json's 9\.9\.9/,
    );
  });
});

function modeString(mode: number): string {
  return [6, 3, 0].map((shift) => {
    const bits = (mode >> shift) & 7;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  }).join('');
}
