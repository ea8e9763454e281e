#!/usr/bin/env node
// Builds dist/callqos-agent_<version>-<release>_all.ipk without the OpenWrt SDK, byte for byte
// the same every time: the package the SDK would make from feeds/callqos-agent/Makefile.
//
// The Makefile is the one definition of the package: its fields, dependencies, install lines
// (which file goes where, with which mode), conffiles and scripts are read from it here. The
// layout follows the SDK's include/package-pack.mk and scripts/ipkg-build: a control.tar.gz
// (control, conffiles, and postinst/prerm wrappers that call base-files' default_postinst and
// default_prerm, which run the package's own postinst-pkg/prerm-pkg and enable, start, stop the
// init script), a data.tar.gz, and `debian-binary`, every tar entry `./`-prefixed, owned 0:0,
// dated SOURCE_DATE_EPOCH (else the Makefile's PKG_SOURCE_DATE), in name order.
//
// The outer container is a gzipped tar by default, because OpenWrt's opkg (opkg-lede, up to
// OpenWrt 24.10; 25.12 moved to apk, whose packages only the SDK makes) reads only that: since its
// commit dd4c78a "libbb: use external gzip command as I/O layer" (2017) deb_extract() pipes the
// whole file through `gzip -d` and walks a tar; it no longer recognises `!<arch>`. `--ar` writes
// the Debian-style ar container (debian-binary, control.tar.gz, data.tar.gz) that upstream opkg
// and dpkg read.
import { gzipSync } from 'node:zlib';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// ustar (POSIX.1-1988) writer

const BLOCK = 512;
const TAR_TYPE = { file: '0', dir: '5' };

/**
 * A tar archive of `entries` ({ path, type: 'file' | 'dir', mode, mtime, data? }), in the
 * order given. Paths longer than 100 bytes use the ustar prefix field (up to 255 bytes split at
 * a `/`); a directory's path ends in `/`. Owner and group are 0 (root).
 */
export function tarArchive(entries) {
  const parts = [];
  for (const entry of entries) {
    const data = entry.type === 'file' ? Buffer.from(entry.data ?? '') : Buffer.alloc(0);
    parts.push(tarHeader(entry, data.length), data, Buffer.alloc(padding(data.length, BLOCK)));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function tarHeader(entry, size) {
  const type = TAR_TYPE[entry.type];
  if (type === undefined) throw new Error(`tar: ${entry.path}: unknown entry type ${entry.type}`);
  if (entry.type === 'dir' && !entry.path.endsWith('/')) throw new Error(`tar: directory ${entry.path} must end in /`);
  const [prefix, name] = splitUstarPath(entry.path);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, entry.mode & 0o7777);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, entry.mtime);
  header.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  header.write(type, 156, 1, 'latin1');
  header.write('ustar\u000000', 257, 8, 'latin1');
  header.write('root', 265, 32, 'latin1');
  header.write('root', 297, 32, 'latin1');
  writeOctal(header, 329, 8, 0);
  writeOctal(header, 337, 8, 0);
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return header;
}

/** [prefix, name] with name ≤ 100 and prefix ≤ 155 bytes, split at a `/` (POSIX ustar). */
function splitUstarPath(path) {
  const bytes = Buffer.byteLength(path);
  if (bytes <= 100) return ['', path];
  // A directory's trailing slash stays with the name; the split slash itself is dropped.
  for (let at = path.lastIndexOf('/', path.length - 2); at > 0; at = path.lastIndexOf('/', at - 1)) {
    const prefix = path.slice(0, at);
    const name = path.slice(at + 1);
    if (Buffer.byteLength(prefix) > 155) continue;
    if (Buffer.byteLength(name) > 100) break;
    return [prefix, name];
  }
  throw new Error(`tar: path too long for ustar (${bytes} bytes): ${path}`);
}

function writeOctal(buffer, offset, width, value) {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`tar: bad number ${value}`);
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${value} does not fit ${width - 1} octal digits`);
  buffer.write(`${digits.padStart(width - 1, '0')}\u0000`, offset, width, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// ar writer (the common format of binutils and dpkg: `!<arch>\n`, 60-byte member headers)

/**
 * An ar archive of `members` ({ name, data, mode, mtime }), names space-padded as dpkg writes
 * them. At most 15 bytes: binutils drops the 16th byte of a name that no `/` ends.
 */
export function arArchive(members) {
  const parts = [Buffer.from('!<arch>\n', 'latin1')];
  for (const member of members) {
    const data = Buffer.from(member.data);
    if (!/^[!-~]{1,15}$/.test(member.name) || member.name.includes('/')) {
      throw new Error(`ar: member name must be 1-15 printable bytes without '/': ${member.name}`);
    }
    const header =
      field(member.name, 16) +
      field(String(member.mtime), 12) +
      field('0', 6) +
      field('0', 6) +
      field((member.mode & 0o7777 | 0o100000).toString(8), 8) +
      field(String(data.length), 10) +
      '`\n';
    parts.push(Buffer.from(header, 'latin1'), data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

function field(text, width) {
  if (text.length > width) throw new Error(`ar: '${text}' does not fit ${width} bytes`);
  return text.padEnd(width, ' ');
}

function padding(length, unit) {
  return (unit - (length % unit)) % unit;
}

// ---------------------------------------------------------------------------------------------
// The feed Makefile

/**
 * The package that an OpenWrt feed Makefile defines, as far as a package without compiled code
 * needs: top-level `VAR:=value` lines, the `Package/<name>` fields, and its description,
 * conffiles, install and script blocks. Anything this cannot map without make (a conditional
 * dependency, a make variable inside a script) is an error, not a guess.
 */
export function readFeedMakefile(text) {
  const vars = {};
  const blocks = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const define = /^define\s+(\S+)\s*$/.exec(line);
    if (define) {
      const body = [];
      for (i++; i < lines.length && !/^endef\s*$/.test(lines[i]); i++) body.push(lines[i]);
      if (i === lines.length) throw new Error(`Makefile: define ${define[1]} has no endef`);
      blocks[define[1]] = body;
      continue;
    }
    const assign = /^([A-Z][A-Z0-9_]*)\s*:?=\s*(.*?)\s*$/.exec(line);
    if (assign) vars[assign[1]] = assign[2];
  }

  const name = required(vars, 'PKG_NAME');
  const fields = {};
  for (const line of blockOf(blocks, `Package/${name}`)) {
    const assign = /^\s*([A-Z_]+)\s*:?=\s*(.*?)\s*$/.exec(line);
    if (assign) fields[assign[1]] = assign[2];
  }
  /** @type {Partial<Record<'preinst' | 'postinst' | 'prerm' | 'postrm', string>>} */
  const scripts = {};
  for (const script of /** @type {const} */ (['preinst', 'postinst', 'prerm', 'postrm'])) {
    const body = blocks[`Package/${name}/${script}`];
    if (body) scripts[script] = `${body.map(unescapeMake).join('\n')}\n`;
  }
  return {
    name,
    version: required(vars, 'PKG_VERSION'),
    release: required(vars, 'PKG_RELEASE'),
    sourceDate: vars.PKG_SOURCE_DATE,
    license: vars.PKG_LICENSE,
    maintainer: vars.PKG_MAINTAINER,
    section: required(fields, 'SECTION'),
    title: required(fields, 'TITLE'),
    arch: fields.PKGARCH ?? 'all',
    depends: parseDepends(fields.DEPENDS ?? ''),
    description: (blocks[`Package/${name}/description`] ?? [fields.TITLE]).map((l) => l.trim()).filter(Boolean),
    conffiles: (blocks[`Package/${name}/conffiles`] ?? []).map((l) => l.trim()).filter(Boolean),
    install: parseInstall(blockOf(blocks, `Package/${name}/install`)),
    scripts,
  };
}

function required(record, key) {
  const value = record[key];
  if (!value) throw new Error(`Makefile: ${key} is not set`);
  return value;
}

function blockOf(blocks, name) {
  const block = blocks[name];
  if (!block) throw new Error(`Makefile: no define ${name}`);
  return block;
}

/** `+a +b` → ['a', 'b']; `@SYMBOL`, `+COND:pkg` and `(a||b)` need the SDK's config. */
function parseDepends(text) {
  return text.split(/\s+/).filter(Boolean).map((dep) => {
    if (!/^\+[a-z0-9][a-z0-9.+_-]*$/.test(dep)) {
      throw new Error(`Makefile: dependency '${dep}' needs the SDK to resolve; ipk.mjs maps only +package`);
    }
    return dep.slice(1);
  });
}

/** The text make passes on: `$$` is one `$`; any other `$` would be a make reference. */
function unescapeMake(line) {
  return line.replace(/\$(.?)/g, (match, next) => {
    if (next === '$') return '$';
    throw new Error(`Makefile: script line needs make to expand '${match}': ${line.trim()}`);
  });
}

const INSTALL_MODES = { INSTALL_BIN: 0o755, INSTALL_DATA: 0o644, INSTALL_CONF: 0o600 };

/** The install block's `$(INSTALL_DIR) $(1)/dir…` and `$(INSTALL_X) src $(1)/dest` lines. */
function parseInstall(lines) {
  const dirs = [];
  const files = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line) continue;
    const words = line.split(/\s+/);
    const op = /^\$\((INSTALL_[A-Z]+)\)$/.exec(words[0] ?? '')?.[1];
    if (op === 'INSTALL_DIR') {
      for (const dest of words.slice(1)) dirs.push(installDest(dest, line));
    } else if (op && op in INSTALL_MODES && words.length === 3) {
      const source = words[1];
      let dest = installDest(words[2], line);
      if (dest.endsWith('/')) dest += basename(source);
      files.push({ source, dest, mode: INSTALL_MODES[op] });
    } else {
      throw new Error(`Makefile: install line ipk.mjs cannot map: ${line}`);
    }
  }
  return { dirs, files };
}

function installDest(word, line) {
  if (!word.startsWith('$(1)/')) throw new Error(`Makefile: install destination must start with $(1)/: ${line}`);
  const dest = word.slice('$(1)/'.length);
  if (dest.split('/').some((part) => part === '..' || part === '.')) throw new Error(`Makefile: bad destination: ${line}`);
  return dest;
}

// ---------------------------------------------------------------------------------------------
// The package

/** Build/Prepare copies the bundle and openwrt/files/ into $(PKG_BUILD_DIR); these are them. */
function sourcePath(source, paths) {
  const prefix = '$(PKG_BUILD_DIR)/';
  if (!source.startsWith(prefix)) throw new Error(`Makefile: install source outside $(PKG_BUILD_DIR): ${source}`);
  const rest = source.slice(prefix.length);
  if (rest === 'callqos-agent.js') return paths.bundle;
  if (rest.startsWith('files/')) return join(paths.files, rest.slice('files/'.length));
  throw new Error(`Makefile: install source ipk.mjs cannot map: ${source}`);
}

/** The package's file times: SOURCE_DATE_EPOCH when set (reproducible-builds.org), else the version's date. */
export function packageMtime(meta, env = process.env) {
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^\d+$/.test(fromEnv)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds, not '${fromEnv}'`);
    return Number(fromEnv);
  }
  if (!meta.sourceDate || !/^\d{4}-\d{2}-\d{2}$/.test(meta.sourceDate)) {
    throw new Error('Makefile: PKG_SOURCE_DATE (YYYY-MM-DD) is not set and neither is SOURCE_DATE_EPOCH');
  }
  return Date.parse(`${meta.sourceDate}T00:00:00Z`) / 1000;
}

/** `./a/`, `./a/b` … sorted by path component, as `tar --sort=name` walks a tree. */
function byComponents(a, b) {
  const pa = a.path.split('/');
  const pb = b.path.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

function treeEntries(files, extraDirs, mtime) {
  const dirs = new Set(['./']);
  const addParents = (path) => {
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) dirs.add(`./${dir}/`);
  };
  for (const dir of extraDirs) {
    dirs.add(`./${dir.replace(/\/$/, '')}/`);
    addParents(dir.replace(/\/$/, ''));
  }
  for (const file of files) addParents(file.path);
  return [
    ...[...dirs].map((path) => ({ path, type: 'dir', mode: 0o755, mtime })),
    ...files.map((file) => ({ path: `./${file.path}`, type: 'file', mode: file.mode, mtime, data: file.data })),
  ].sort(byComponents);
}

// package-pack.mk writes these two wrappers into every package; the package's own scripts become
// postinst-pkg and prerm-pkg, which default_postinst and default_prerm source.
const POSTINST_WRAPPER = `#!/bin/sh
[ "\${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
`;
const PRERM_WRAPPER = `#!/bin/sh
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
`;

function controlText(meta, { version, installedSize, mtime }) {
  const fields = [
    ['Package', meta.name],
    ['Version', version],
    ['Depends', meta.depends.join(', ')],
    ['Source', `feeds/callqos/${meta.name}`],
    ['SourceName', meta.name],
    ['License', meta.license],
    ['Section', meta.section],
    ['SourceDateEpoch', String(mtime)],
    ['Maintainer', meta.maintainer],
    ['Architecture', meta.arch],
    ['Installed-Size', String(installedSize)],
  ];
  const lines = fields.filter(([, value]) => value).map(([key, value]) => `${key}: ${value}`);
  const [first, ...rest] = meta.description;
  lines.push(`Description: ${first}`, ...rest.map((line) => ` ${line}`));
  return `${lines.join('\n')}\n`;
}

/**
 * The .ipk for the Makefile at `paths.makefile`, from the bundle and files it names.
 * `outer`: 'tar' (gzipped tar, what OpenWrt's opkg reads) or 'ar' (Debian-style).
 */
export function buildIpk({
  root = repoRoot,
  makefile = join(root, 'feeds', 'callqos-agent', 'Makefile'),
  bundle = join(root, 'dist', 'agent', 'callqos-agent.js'),
  files = join(root, 'openwrt', 'files'),
  packageJson = join(root, 'package.json'),
  outer = 'tar',
  env = process.env,
} = {}) {
  if (outer !== 'tar' && outer !== 'ar') throw new Error(`outer must be 'tar' or 'ar', not '${outer}'`);
  const meta = readFeedMakefile(readFileSync(makefile, 'utf8'));
  const pkgVersion = JSON.parse(readFileSync(packageJson, 'utf8')).version;
  if (pkgVersion !== meta.version) {
    // The bundle reports package.json's version: the package must not claim another.
    throw new Error(`${relative(root, makefile)}: PKG_VERSION ${meta.version} differs from package.json's ${pkgVersion}`);
  }
  const version = `${meta.version}-${meta.release}`;
  const mtime = packageMtime(meta, env);

  const payload = meta.install.files.map((file) => {
    const from = sourcePath(file.source, { bundle, files });
    try {
      return { path: file.dest, mode: file.mode, data: readFileSync(from) };
    } catch (err) {
      throw new Error(`cannot read ${relative(root, from)} for /${file.dest}: ${err.code ?? err.message}`);
    }
  });
  for (const conffile of meta.conffiles) {
    if (!payload.some((file) => `/${file.path}` === conffile)) throw new Error(`conffile ${conffile} is not installed`);
  }
  const dataTar = tarArchive(treeEntries(payload, meta.install.dirs, mtime));

  const control = [
    { path: 'control', mode: 0o644, data: controlText(meta, { version, installedSize: dataTar.length, mtime }) },
    { path: 'postinst', mode: 0o755, data: POSTINST_WRAPPER },
    { path: 'prerm', mode: 0o755, data: PRERM_WRAPPER },
  ];
  if (meta.conffiles.length > 0) control.push({ path: 'conffiles', mode: 0o644, data: `${meta.conffiles.join('\n')}\n` });
  const scriptFile = { preinst: 'preinst', postinst: 'postinst-pkg', prerm: 'prerm-pkg', postrm: 'postrm' };
  for (const [script, body] of Object.entries(meta.scripts)) control.push({ path: scriptFile[script], mode: 0o755, data: body });
  const controlTar = tarArchive(treeEntries(control, [], mtime));

  const members = [
    { name: 'debian-binary', data: Buffer.from('2.0\n'), mode: 0o644, mtime },
    { name: 'control.tar.gz', data: gzip(controlTar), mode: 0o644, mtime },
    { name: 'data.tar.gz', data: gzip(dataTar), mode: 0o644, mtime },
  ];
  const buffer =
    outer === 'ar'
      ? arArchive(members)
      : gzip(tarArchive(members.map((m) => ({ path: `./${m.name}`, type: 'file', mode: m.mode, mtime, data: m.data }))));
  return { buffer, fileName: `${meta.name}_${version}_${meta.arch}.ipk`, meta, version };
}

/** Like `gzip -n`: no name, no time, so equal input gives equal bytes. */
function gzip(buffer) {
  return gzipSync(buffer, { level: 9 });
}

/** Builds the .ipk and writes it to `outDir` (dist/ by default). */
export function writeIpk({ outDir, ...options } = {}) {
  const built = buildIpk(options);
  const dir = outDir ?? join(options.root ?? repoRoot, 'dist');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, built.fileName);
  writeFileSync(path, built.buffer);
  return { path, bytes: built.buffer.length, version: built.version };
}

/** Every file below `dir`, as paths relative to it with `/` separators. */
export function listFiles(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(dir, path) : [path];
  });
}

function main(argv) {
  const outer = argv.includes('--ar') ? 'ar' : 'tar';
  const unknown = argv.filter((arg) => arg !== '--ar');
  if (unknown.length > 0) {
    console.error(`usage: node scripts/ipk.mjs [--ar]   (unknown: ${unknown.join(' ')})`);
    process.exit(2);
  }
  const bundle = join(repoRoot, 'dist', 'agent', 'callqos-agent.js');
  if (!statSync(bundle, { throwIfNoEntry: false })) throw new Error(`${relative(repoRoot, bundle)} is missing: run npm run build`);
  const { path, bytes } = writeIpk({ outer });
  console.log(`${relative(repoRoot, path)}: ${(bytes / 1024).toFixed(1)} KiB (${outer === 'ar' ? 'ar' : 'tar.gz'} container)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`callqos ipk: ${err.message}`);
    process.exit(1);
  }
}
