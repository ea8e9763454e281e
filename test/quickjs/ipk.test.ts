import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildIpk, readFeedMakefile } from '../../scripts/ipk.mjs';
import { bundles, repoRoot } from '../support/bundles.ts';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const feed = readFeedMakefile(readFileSync(join(repoRoot, 'feeds', 'callqos-agent', 'Makefile'), 'utf8'));
const RPCD_METHODS = { read: ['status', 'gates', 'interfaces', 'stats'], write: ['gate_add', 'gate_remove', 'reload'] };
const SHELL_SCRIPTS = ['etc/init.d/callqos', 'etc/hotplug.d/iface/50-callqos', 'usr/libexec/rpcd/callqos'];

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000, ...options });
}

function ok(cmd: string, args: string[], options: { cwd?: string } = {}) {
  const result = run(cmd, args, options);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${result.stderr}${result.error ?? ''}`);
  return result.stdout;
}

// The real package, built from the bundle the global setup just built, unpacked the way opkg
// does it: the outer container, then control.tar.gz and data.tar.gz.
let work = '';
let ipk = '';
const rootfs = () => join(work, 'root');
const controlDir = () => join(work, 'control');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'callqos-ipk-'));
  const built = buildIpk({ env: {} });
  ipk = join(work, built.fileName);
  writeFileSync(ipk, built.buffer);
  mkdirSync(join(work, 'outer'));
  mkdirSync(rootfs());
  mkdirSync(controlDir());
  ok('tar', ['-xzf', ipk, '-C', join(work, 'outer')]);
  ok('tar', ['-xzpf', join(work, 'outer', 'data.tar.gz'), '-C', rootfs()]);
  ok('tar', ['-xzpf', join(work, 'outer', 'control.tar.gz'), '-C', controlDir()]);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('callqos-agent .ipk', () => {
  it('is named and versioned after package.json and the feed Makefile', () => {
    expect(ipk.endsWith(`/callqos-agent_${pkg.version}-${feed.release}_all.ipk`)).toBe(true);
    expect(readFileSync(join(work, 'outer', 'debian-binary'), 'utf8')).toBe('2.0\n');
  });

  it('holds the same members in the ar container, which ar x unpacks', () => {
    const arDir = join(work, 'ar');
    mkdirSync(arDir);
    writeFileSync(join(arDir, 'package.ipk'), buildIpk({ outer: 'ar', env: {} }).buffer);
    expect(ok('ar', ['t', 'package.ipk'], { cwd: arDir })).toBe('debian-binary\ncontrol.tar.gz\ndata.tar.gz\n');
    ok('ar', ['x', 'package.ipk'], { cwd: arDir });
    for (const member of ['debian-binary', 'control.tar.gz', 'data.tar.gz']) {
      expect(readFileSync(join(arDir, member)).equals(readFileSync(join(work, 'outer', member)))).toBe(true);
    }
  });

  it('has the control fields opkg reads', () => {
    const control = readFileSync(join(controlDir(), 'control'), 'utf8');
    const fields = Object.fromEntries(
      control.split('\n').filter((line) => /^[A-Za-z-]+: /.test(line)).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
    );
    const dataTarSize = ok('sh', ['-c', `gzip -dc < '${join(work, 'outer', 'data.tar.gz')}' | wc -c`]).trim();
    expect(fields).toMatchObject({
      Package: 'callqos-agent',
      Version: `${pkg.version}-1`,
      Depends: 'quickjs, nftables-json, tc-tiny, kmod-sched-core, kmod-nft-core, mosquitto-client-ssl',
      Source: 'feeds/callqos/callqos-agent',
      License: 'Apache-2.0',
      Section: 'net',
      Architecture: 'all',
      'Installed-Size': dataTarSize,
      Maintainer: 'callqos developers',
    });
    expect(fields.Description).toMatch(/EF/);
    expect(control).toMatch(/\nDescription: .*\n( .*\n)+$/);
  });

  it('lists the config as a conffile, so that opkg keeps the user\'s edits', () => {
    expect(readFileSync(join(controlDir(), 'conffiles'), 'utf8')).toBe('/etc/config/callqos\n');
  });

  it('installs the scripts executable and the data files not', () => {
    const mode = (path: string) => (statSync(join(rootfs(), path)).mode & 0o777).toString(8);
    expect(mode('etc/init.d/callqos')).toBe('755');
    expect(mode('usr/libexec/rpcd/callqos')).toBe('755');
    expect(mode('usr/share/rpcd/acl.d/callqos.json')).toBe('644');
    expect(mode('etc/config/callqos')).toBe('600');
    expect(mode('etc/hotplug.d/iface/50-callqos')).toBe('644');
    expect(mode('usr/share/callqos/callqos-agent.js')).toBe('644');
    for (const script of ['postinst', 'postinst-pkg', 'prerm', 'postrm']) {
      expect((statSync(join(controlDir(), script)).mode & 0o777).toString(8)).toBe('755');
    }
  });

  it('has shell scripts that parse (sh -n)', () => {
    const scripts = [
      ...SHELL_SCRIPTS.map((path) => join(rootfs(), path)),
      ...['postinst', 'postinst-pkg', 'prerm', 'postrm'].map((path) => join(controlDir(), path)),
    ];
    for (const script of scripts) {
      const result = run('sh', ['-n', script]);
      expect(result.stderr, script).toBe('');
      expect(result.status, script).toBe(0);
    }
  });

  it('grants LuCI exactly the rpcd methods: reading ones to read, changing ones to write', () => {
    const acl = JSON.parse(readFileSync(join(rootfs(), 'usr/share/rpcd/acl.d/callqos.json'), 'utf8'));
    expect(Object.keys(acl)).toEqual(['luci-app-callqos']);
    const entry = acl['luci-app-callqos'];
    expect(entry.read).toEqual({ ubus: { callqos: RPCD_METHODS.read }, uci: ['callqos'] });
    expect(entry.write).toEqual({ ubus: { callqos: RPCD_METHODS.write }, uci: ['callqos'] });
  });

  it('carries the bundle, which runs under the real qjs as the init script and rpcd plugin start it', () => {
    const agent = join(rootfs(), 'usr/share/callqos/callqos-agent.js');
    expect(readFileSync(agent).equals(readFileSync(bundles.agent))).toBe(true);
    // The init script and the plugin run `qjs <file>` without -m: qjs must detect the module.
    for (const args of [['-m', agent, '--version'], [agent, '--version']]) {
      const version = run(inject('qjsPath'), args);
      expect(version.stderr).toBe('');
      expect(version.stdout).toBe(`callqos-agent ${pkg.version}\n`);
      expect(version.status).toBe(0);
    }
  });

  it('renders the packaged default config under the real qjs', () => {
    const agent = join(rootfs(), 'usr/share/callqos/callqos-agent.js');
    const render = run(inject('qjsPath'), ['-m', agent, 'render', '--config', join(rootfs(), 'etc/config/callqos')]);
    expect(render.stderr).toBe('');
    expect(render.status).toBe(0);
    expect(render.stdout).toContain('table inet callqos {');
  });
});

// The agent's `rpcd list` is the method list rpcd registers; the ACL must name exactly those methods.
describe('rpcd plugin', () => {
  it('offers exactly the methods the ACL grants', () => {
    const rpcdList = run(inject('qjsPath'), ['-m', bundles.agent, 'rpcd', 'list']);
    expect(rpcdList.status).toBe(0);
    const methods = Object.keys(JSON.parse(rpcdList.stdout)).sort();
    expect(methods).toEqual([...RPCD_METHODS.read, ...RPCD_METHODS.write].sort());
  });
});

describe('hotplug iface/50-callqos', () => {
  // The script as hotplug-call runs it (sourced in a subshell), with `uci` answering the state
  // directory; it must return at once whatever the agent does.
  function hotplug(stateDir: string, env: Record<string, string>) {
    const bin = join(stateDir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'uci'), `#!/bin/sh\necho '${stateDir}'\n`);
    chmodSync(join(bin, 'uci'), 0o755);
    const script = join(rootfs(), 'etc/hotplug.d/iface/50-callqos');
    const started = Date.now();
    const result = run('sh', ['-c', `( . '${script}' )`], {
      env: { PATH: `${bin}:${process.env.PATH}`, INTERFACE: 'wan', DEVICE: 'eth1', ...env },
    });
    return { ...result, ms: Date.now() - started };
  }

  function withFifo(test: (stateDir: string, fifo: string) => void) {
    const stateDir = mkdtempSync(join(tmpdir(), 'callqos-hotplug-'));
    try {
      const fifo = join(stateDir, 'cmd');
      ok('mkfifo', [fifo]);
      test(stateDir, fifo);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }

  /** Lines written to the FIFO within `ms`, read without blocking. */
  function readFifo(fd: number, ms: number): string {
    const buffer = Buffer.alloc(4096);
    let text = '';
    const until = Date.now() + ms;
    while (Date.now() < until && !text.endsWith('\n')) {
      try {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        text += buffer.toString('utf8', 0, n);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        spawnSync('sleep', ['0.05']);
      }
    }
    return text;
  }

  it('asks a running agent to reconcile on ifup', () => {
    withFifo((stateDir, fifo) => {
      const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const result = hotplug(stateDir, { ACTION: 'ifup' });
        expect(result.status).toBe(0);
        expect(readFifo(fd, 5_000)).toBe('{"cmd":"reconcile"}\n');
      } finally {
        closeSync(fd);
      }
    });
  });

  it('returns at once when nobody reads the FIFO, and does nothing without one', () => {
    withFifo((stateDir) => {
      const result = hotplug(stateDir, { ACTION: 'ifup' });
      expect(result.status).toBe(0);
      expect(result.ms).toBeLessThan(3_000);
    });
    const stateDir = mkdtempSync(join(tmpdir(), 'callqos-hotplug-'));
    try {
      expect(hotplug(stateDir, { ACTION: 'ifdown' }).status).toBe(0);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('ignores an ifupdate that changed nothing it depends on', () => {
    withFifo((stateDir, fifo) => {
      const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        expect(hotplug(stateDir, { ACTION: 'ifupdate' }).status).toBe(0);
        expect(readFifo(fd, 500)).toBe('');
        expect(hotplug(stateDir, { ACTION: 'ifupdate', IFUPDATE_ADDRESSES: '1' }).status).toBe(0);
        expect(readFifo(fd, 5_000)).toBe('{"cmd":"reconcile"}\n');
      } finally {
        closeSync(fd);
      }
    });
  });
});

describe('init script', () => {
  // procd's and UCI's shell helpers replaced by ones that print their arguments, one [arg] each:
  // what start_service declares, which triggers it sets, what reload does.
  const STUBS = `
show() { printf '%s' "$1"; shift; for a in "$@"; do printf ' [%s]' "$a"; done; echo; }
procd_open_instance() { show open_instance "$@"; }
procd_set_param() { show "$@"; }
procd_close_instance() { show close_instance; }
procd_add_reload_trigger() { show reload_trigger "$@"; }
procd_add_reload_interface_trigger() { show interface_trigger "$@"; }
procd_running() { [ -n "$RUNNING" ]; }
procd_send_signal() { show signal "$@"; }
start() { show start; }
config_load() { :; }
config_get_bool() { eval "$1=\${ENABLED:-$4}"; }
config_get() { eval "$1=\$4"; }
`;
  function initScript(call: string, env: Record<string, string> = {}) {
    const script = join(rootfs(), 'etc/init.d/callqos');
    const result = run('sh', ['-c', `${STUBS}\n. '${script}'\n${call}`], { env: { PATH: process.env.PATH, ...env } });
    expect(result.stderr).not.toMatch(/not found|error/i);
    expect(result.status).toBe(0);
    return result.stdout.trim().split('\n').filter(Boolean);
  }

  it('declares one procd instance running the agent, with respawn, logging, limits and watched files', () => {
    expect(initScript('echo "START=$START STOP=$STOP USE_PROCD=$USE_PROCD"; start_service')).toEqual([
      'START=95 STOP=10 USE_PROCD=1',
      'open_instance',
      'command [/usr/bin/qjs] [/usr/share/callqos/callqos-agent.js] [run]',
      'respawn [120] [10] [30]',
      'stdout [1]',
      'stderr [1]',
      'limits [nofile=1024 1024]',
      'file [/etc/config/callqos] [/usr/share/callqos/callqos-agent.js]',
      'close_instance',
    ]);
  });

  it('declares nothing when agent.enabled is 0', () => {
    expect(initScript('start_service', { ENABLED: '0' })).toEqual([]);
  });

  it('reloads on its config and on the WAN and LAN interfaces', () => {
    expect(initScript('service_triggers')).toEqual(['reload_trigger [callqos]', 'interface_trigger [wan]', 'interface_trigger [lan]']);
  });

  it('reloads a running agent with SIGHUP, and otherwise starts (or, disabled, stops) it', () => {
    expect(initScript('reload_service', { RUNNING: '1' })).toEqual(['signal [callqos] [*] [HUP]']);
    expect(initScript('reload_service')).toEqual(['start']);
    expect(initScript('reload_service', { RUNNING: '1', ENABLED: '0' })).toEqual(['start']);
  });
});
