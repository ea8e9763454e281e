#!/usr/bin/env node
// "Classification at scale": what 10,000 gates cost the router, in the kernel and in the agent.
//
//   phone (eth0) ── (br-lan) router (wan) ── (eth0) far       three namespaces of this run's own
//
// 1. Forwarding rate with the agent's table holding 0 gates versus 10,000 (the same flood, the
//    same run, alternated 0, 10k, 10k, 0, 0, 10k so that drift on a shared machine cancels out;
//    before and after, the router without our table, for reference).
//    The flood is `iperf3 -u -b 0 -l 64` (64-byte payloads as fast as one sender can write them)
//    from the phone to the far end, counted as packets the router sent out of `wan`. On veth pairs
//    the whole path (the sender's syscall, the router's forward hook with our maps, the far end's
//    receive) runs in softirq on the sending CPU, one packet at a time: a saturated flood's rate is
//    therefore 1 / (CPU time per packet), and a slower lookup in our maps shows in it directly. A
//    fixed packet rate below saturation would show nothing (both runs would forward it all), and
//    this kernel has no pktgen. The flood matches no gate, like bulk traffic: it measures what every
//    forwarded packet pays for the lookups (the exact maps and the LAN endpoint sets, both hash
//    lookups; the interval maps are only consulted for endpoints that have a wildcard gate), not
//    the marking of admitted ones.
// 2. Installing one gate while 10,000 exist: from the client's view through the daemon's FIFO
//    (command written until the reply file appears) and the bare `nft -f` of the same kind of
//    one-gate batch (rendered by src/core/dataplane/render-changes.ts), 50 samples each.
// 3. A deep reconcile: the daemon's rebuild on start (start until it logs `data plane converged`)
//    and what its nft calls cost with 10,000 gates: the full-table batch, `nft -j list map … up_v4`
//    (what readAllUsage runs for each of the eight maps) and `nft -j list chain … forward` (isCurrent, which the
//    daemon runs every 2 s), each with its time and peak memory.
//
// The tables are rendered by the project's own code (bundled from src/ with esbuild, as
// bench/run.mjs does): renderNftBatch for the table, renderGateChanges for a gate.
//
// `node bench/classification-at-scale.mjs` runs it alone (after `npm run build`); `npm run bench`
// merges it into latest.json. Needs root; otherwise returns one metric saying it was skipped.
// Writes bench/results/classification-at-scale.json when it measured.
import { build } from 'esbuild';
import { ADDR, buildRouterLab, dropTable, Lab, missing, run, sleep } from './lab.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, watch, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const AGENT_BUNDLE = join(root, 'dist', 'agent', 'callqos-agent.js');
const SCALE = 10_000;
const FLOOD_SECONDS = 3;
// 'none': no callqos table at all (and so no conntrack in the namespace), for reference.
const FLOOD_ORDER = ['none', 0, SCALE, SCALE, 0, 0, SCALE, 'none'];
const ADD_SAMPLES = 50;
const SMALL_DAEMON_SIZES = [1_000, 2_000];
const SMALL_DAEMON_ADD_SAMPLES = 20;
const LIFETIME_S = 3600;
/** What the daemon adds to a gate's lifetime for the kernel (src/agent/daemon/gates.ts). */
const KERNEL_GRACE_S = 5;

const has = (tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;

/** A long-running child in ns, killed by lab.close(); `lines` collects its output with arrival times. */
export function startLogged(lab, ns, argv) {
  const child = lab.spawn(ns, argv);
  const proc = { child, startedAt: performance.now(), lines: [], text: '' };
  const take = (d) => {
    proc.text += d;
    proc.lines.push({ at: performance.now(), text: String(d) });
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return proc;
}

/** The agent daemon under real qjs in a namespace. */
export class Daemon {
  constructor(lab, ns, qjs, configPath) {
    this.lab = lab;
    this.ns = ns;
    this.qjs = qjs;
    this.configPath = configPath;
  }

  /** With the open-file limit procd gives it (openwrt/files/etc/init.d/callqos): QuickJS closes every descriptor below it in each child it forks. */
  start() {
    const argv = [this.qjs, AGENT_BUNDLE, 'run', '--config', this.configPath];
    this.proc = startLogged(this.lab, this.ns, ['sh', '-c', 'ulimit -n 1024 && exec "$@"', 'sh', ...argv]);
    return this;
  }

  get pid() {
    return this.proc.child.pid;
  }

  /** Milliseconds from start until the log showed `text`, or null after timeoutMs. */
  async waitFor(text, timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.proc.text.includes(text)) {
        let seen = '';
        for (const line of this.proc.lines) {
          seen += line.text;
          if (seen.includes(text)) return line.at - this.proc.startedAt;
        }
      }
      if (this.proc.child.exitCode !== null || this.proc.child.signalCode !== null) throw new Error(`agent exited: ${this.proc.text.slice(-1000)}`);
      await sleep(10);
    }
    return null;
  }

  /** VmRSS and VmHWM of the qjs process (`ip netns exec` execs it, so the pid is qjs's), in KiB. */
  memory() {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const name = /^Name:\s+(\S+)/m.exec(status)?.[1];
    if (name !== 'qjs') throw new Error(`pid ${this.pid} is ${name}, not qjs`);
    const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
  }

  /** SIGTERM (the agent leaves its table), SIGKILL after 5 s. */
  async stop() {
    const child = this.proc?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)])) === false) child.kill('SIGKILL');
    await Promise.race([exited, sleep(2_000)]);
  }
}

/** The project's renderers and config reader, bundled from src/ for Node. */
export async function projectCode() {
  const outfile = join(root, 'dist', 'bench', 'dataplane.mjs');
  const contents = [
    `export { renderNftBatch } from './src/core/dataplane/render-nft.ts';`,
    `export { renderGateChanges } from './src/core/dataplane/render-changes.ts';`,
    `export { gateElements } from './src/core/dataplane/gate-elements.ts';`,
    `export { classMap, FAMILIES, WAYS } from './src/core/dataplane/model.ts';`,
    `export { dataplaneSettings } from './src/core/dataplane/settings.ts';`,
    `export { parseAgentConfig } from './src/core/config/agent-config.ts';`,
    `export { serializeState } from './src/core/gates/state.ts';`,
  ].join('\n');
  await build({ stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: 'bench-dataplane.ts' }, outfile, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'warning', define: { CALLQOS_VERSION: '"bench"' } });
  return import(`${pathToFileURL(outfile).href}?${Date.now()}`);
}

/** Monotonic milliseconds as the agent under qjs 2021-03-27 reads them (/proc/uptime). */
const monotonicMs = () => Math.round(parseFloat(readFileSync('/proc/uptime', 'utf8')) * 1000);

/**
 * `count` distinct valid gates: two per phone (audio EF 100 kbit/s on 5004, video AF41 1.5 Mbit/s on
 * 5006) on LAN hosts 10.0.0.0/16 (`lanBase` moves them), 80% both directions, 10% up only, 10%
 * down only; 20% with a wildcard remote (a phone behind far-side NAT), 10% with only the remote
 * port open, the rest exact.
 */
export function makeGates(count, { lanBase = 0, idPrefix = 'call' } = {}) {
  const gates = [];
  for (let i = 0; i < count; i += 1) {
    const phone = (lanBase << 16) + (i >> 1) + 1;
    const kind = i % 10;
    const remote =
      kind < 2 ? { address: null, port: null } : kind === 2 ? { address: `198.51.100.${(i % 250) + 1}`, port: null } : { address: `203.0.${(i >> 8) & 255}.${(i % 250) + 1}`, port: 20_000 + (i % 40_000) };
    const video = (i & 1) === 1;
    gates.push({
      id: `${idPrefix}-${i}-${video ? 'video' : 'audio'}`,
      direction: kind === 8 ? 'up' : kind === 9 ? 'down' : 'both',
      lan: { address: `10.${(phone >> 16) & 255}.${(phone >> 8) & 255}.${phone & 255}`, port: video ? 5006 : 5004 },
      remote,
      dscp: video ? 34 : 46,
      rateKbit: video ? 1500 : 100,
      lifetimeS: LIFETIME_S,
    });
  }
  return gates;
}

/** The state file the daemon would have written for these gates (source cloud, an hour to live). */
export function stateFile(code, gates) {
  const now = monotonicMs();
  return code.serializeState(gates.map((gate) => ({ gate, source: 'cloud', installedAtMs: now, expiresAtMs: now + gate.lifetimeS * 1000 })));
}

const kernelGate = (gate) => ({ ...gate, lifetimeS: gate.lifetimeS === null ? null : gate.lifetimeS + KERNEL_GRACE_S });

/** The whole table for these gates, as the daemon's rebuild renders it. */
export function fullBatch(code, settings, gates) {
  const batch = code.renderNftBatch(settings, gates.map(kernelGate));
  if (!batch.ok) throw new Error(batch.error.message);
  return batch.value;
}

/** The one-gate batch the daemon's gate_add applies (renderGateChanges), and its command. */
function oneGate(code, settings, gate) {
  const e = code.gateElements(kernelGate(gate), settings);
  if (!e.ok) throw new Error(e.error.message);
  const { rateKbit, ...rest } = gate;
  return { batch: code.renderGateChanges({ remove: [], add: [e.value] }), command: { cmd: 'gate_add', gate: { ...rest, rateKbps: rateKbit } } };
}

/** The bench config: the lab's agent and qos sections, a state directory of its own, no static gates. */
export function benchConfig(stateDir, { withLabGates = false } = {}) {
  const lab = readFileSync(join(root, 'test', 'system', 'fixtures', 'lab.uci'), 'utf8');
  const text = lab.replace("option device_id 'lab-router'", `option device_id 'lab-router'\n\toption state_dir '${stateDir}'`);
  return withLabGates ? text : text.slice(0, text.indexOf('config gate'));
}

/** Time (ms) and peak memory (KiB) of one process in a namespace, its stdout size in bytes. */
export async function measureProcess(ns, argv, input) {
  const withTime = has('/usr/bin/time');
  const full = ['nsenter', `--net=/run/netns/${ns}`, ...(withTime ? ['/usr/bin/time', '-f', 'maxrss %M'] : []), ...argv];
  const child = spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const started = performance.now();
  let stdoutBytes = 0;
  let stderr = '';
  let polledKiB = 0;
  child.stdout.on('data', (d) => (stdoutBytes += d.length));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input ?? '');
  // Without /usr/bin/time: the high-water mark of the process (nsenter execs argv), polled.
  const poll = withTime
    ? null
    : setInterval(() => {
        try {
          const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
          if (hwm > polledKiB) polledKiB = hwm;
        } catch {}
      }, 2);
  const status = await new Promise((resolve) => child.on('close', resolve));
  const ms = performance.now() - started;
  if (poll) clearInterval(poll);
  if (status !== 0) throw new Error(`${argv.join(' ')} exited ${status}: ${stderr.trim().slice(0, 500)}`);
  const timed = /maxrss (\d+)/.exec(stderr);
  return { ms, peakKiB: timed ? Number(timed[1]) : polledKiB, stdoutBytes, peakBy: withTime ? '/usr/bin/time -v maximum resident set size' : 'VmHWM polled every 2 ms' };
}

/** Time (ms) of one short process in the namespace, spawned the cheapest way Node can. */
function timedSync(ns, argv, input) {
  const started = performance.now();
  run(['nsenter', `--net=/run/netns/${ns}`, ...argv], { input });
  return performance.now() - started;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const median = (values) => percentile(values, 50);

/** Sends one command on the FIFO; ms until its reply file appeared, and the reply. */
async function fifoRoundTrip(stateDir, fd, command, name, timeoutMs = 10_000) {
  const dir = join(stateDir, 'replies');
  const file = `${name}.json`;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  let started = 0;
  const check = () => {
    if (existsSync(join(dir, file))) resolveDone(performance.now() - started);
    else if (performance.now() - started > timeoutMs) resolveDone(null);
  };
  const watcher = watch(dir, (_event, changed) => changed === file && check());
  const timer = setInterval(check, 5);
  started = performance.now();
  writeSync(fd, JSON.stringify({ ...command, reply: name }) + '\n');
  const ms = await done;
  watcher.close();
  clearInterval(timer);
  if (ms === null) throw new Error(`no reply ${name} within ${timeoutMs} ms`);
  const reply = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  unlinkSync(join(dir, file));
  return { ms, reply };
}

const wanTxPackets = (lab, router) => JSON.parse(lab.in(router, ['ip', '-s', '-j', 'link', 'show', 'dev', 'wan']))[0].stats64.tx.packets;

/** One saturated small-packet flood through the router: packets per second it forwarded. */
function flood(lab, ns, port) {
  const cpus = Number(run(['nproc']).trim());
  const before = wanTxPackets(lab, ns.router);
  const out = lab.in(ns.phone, ['iperf3', '-c', ADDR.far, '-p', String(port), '-u', '-b', '0', '-l', '64', '-t', String(FLOOD_SECONDS), '-J', ...(cpus >= 2 ? ['-A', '0'] : [])], { timeoutMs: (FLOOD_SECONDS + 15) * 1000 });
  const forwarded = wanTxPackets(lab, ns.router) - before;
  const report = JSON.parse(out);
  const sum = report.end.sum;
  return { pps: forwarded / sum.seconds, sent: sum.packets, lostAtReceiver: sum.lost_packets, seconds: sum.seconds };
}

/** Runs the benchmark; returns its metrics ({ name: { value, unit, note } }). */
export async function classificationAtScale() {
  const reason = missing(['ip', 'nft', 'iperf3', 'nsenter', 'mkfifo']);
  if (reason !== null) {
    console.warn(`classification-at-scale: skipped, ${reason}`);
    return { 'classification_at_scale.skipped': { value: 1, unit: 'flag', note: `skipped: ${reason}` } };
  }
  const { ensureQjs } = await import('../scripts/qjs-build.mjs');
  const qjs = ensureQjs();
  if (!existsSync(AGENT_BUNDLE)) {
    const { buildQuickjsBundle } = await import('../scripts/build.mjs');
    await buildQuickjsBundle(join(root, 'src/agent/entry/quickjs.ts'), AGENT_BUNDLE);
  }
  const code = await projectCode();
  const started = Date.now();
  const metrics = {};
  const put = (name, value, unit, note) => {
    const digits = unit === 'ratio' ? 3 : unit === 'ms' || unit === 'MiB' ? 2 : 1;
    metrics[`classification_at_scale.${name}`] = { value: value === null ? null : +value.toFixed(digits), unit, note };
  };
  const mib = (kib) => kib / 1024;

  const lab = new Lab('sc');
  const temp = mkdtempSync(join(tmpdir(), 'callqos-scale-'));
  const daemons = [];
  let fifoFd = null;
  const interrupted = () => {
    lab.close();
    rmSync(temp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const ns = buildRouterLab(lab);
    const stateDir = join(temp, 'state');
    const configPath = join(temp, 'callqos');
    writeFileSync(configPath, benchConfig(stateDir));
    const parsed = code.parseAgentConfig(readFileSync(configPath, 'utf8'));
    if (!parsed.ok) throw new Error(`bench config: ${parsed.error.message}`);
    const settings = code.dataplaneSettings(parsed.value.config);

    const gates = makeGates(SCALE);
    const tables = { 0: fullBatch(code, settings, []), [SCALE]: fullBatch(code, settings, gates) };
    const load = (n) => (n === 'none' ? dropTable(lab, ns.router) : lab.in(ns.router, ['nft', '-f', '-'], { input: tables[n] }));

    // 1. Forwarding rate, 0 versus 10,000 gates, alternated.
    startLogged(lab, ns.far, ['iperf3', '-s', '-B', ADDR.far, '-p', '5201', ...(Number(run(['nproc']).trim()) >= 2 ? ['-A', '1'] : [])]);
    await sleep(300);
    const rates = { none: [], 0: [], [SCALE]: [] };
    let loaded = null;
    for (const n of FLOOD_ORDER) {
      if (loaded !== n) load(n);
      loaded = n;
      rates[n].push(flood(lab, ns, 5201));
    }
    const pps0 = median(rates[0].map((r) => r.pps));
    const ppsN = median(rates[SCALE].map((r) => r.pps));
    const floodNote = (rs) => `iperf3 -u -b 0 -l 64 phone->far, ${FLOOD_SECONDS} s x ${rs.length}, median of ${rs.map((r) => Math.round(r.pps / 1000)).join('/')} kpps out of the router's wan; flood matches no gate`;
    const ppsNone = median(rates.none.map((r) => r.pps));
    put('forward.no_table_kpps', ppsNone / 1000, 'kpps', `${floodNote(rates.none)}; no callqos table, so no conntrack either: reference only`);
    put('forward.gates_0_kpps', pps0 / 1000, 'kpps', floodNote(rates[0]));
    put(`forward.gates_${SCALE}_kpps`, ppsN / 1000, 'kpps', floodNote(rates[SCALE]));
    put('forward.ratio', ppsN / pps0, 'ratio', `forwarding rate with ${SCALE} gates / with 0, same run (target >= 0.95)`);
    put('forward.added_ns_per_packet', 1e9 / ppsN - 1e9 / pps0, 'ns', `CPU time each forwarded packet pays for ${SCALE} gates (1/rate difference, whole path on one CPU)`);

    // 3 (kernel side). What the daemon's nft calls cost with 10,000 gates in the table.
    const apply = await measureProcess(ns.router, ['nft', '-f', '-'], tables[SCALE]);
    put(`reconcile.nft_apply_full_${SCALE}_ms`, apply.ms, 'ms', `nft -f of the whole table with ${SCALE} gates (${(tables[SCALE].length / 1e6).toFixed(1)} MB batch) over the existing one: the kernel side of a rebuild`);
    put(`reconcile.nft_apply_full_${SCALE}_peak_mib`, mib(apply.peakKiB), 'MiB', `peak memory of that nft process (${apply.peakBy})`);
    const listings = { list_map: ['nft', '-j', 'list', 'map', 'inet', 'callqos', 'up_v4'], list_chain_forward: ['nft', '-j', 'list', 'chain', 'inet', 'callqos', 'forward'] };
    const why = { list_map: 'readAllUsage runs it for each of the 4 class maps in a rebuild', list_chain_forward: "isCurrent, the daemon's check every 2 s and before each rebuild" };
    for (const [name, argv] of Object.entries(listings)) {
      const samples = [];
      for (let i = 0; i < 3; i += 1) samples.push(await measureProcess(ns.router, argv));
      put(`reconcile.${name}_${SCALE}_ms`, median(samples.map((s) => s.ms)), 'ms', `${argv.join(' ')} with ${SCALE} gates, median of 3; ${why[name]}`);
      put(`reconcile.${name}_${SCALE}_peak_mib`, mib(Math.max(...samples.map((s) => s.peakKiB))), 'MiB', `peak memory of that nft process (${samples[0].peakBy}); ${samples[0].stdoutBytes} bytes of JSON`);
    }

    // 2 (bare nft). One gate's batch with 10,000 present, then with none.
    const spawnOnly = [];
    for (let i = 0; i < 10; i += 1) spawnOnly.push(timedSync(ns.router, ['true']));
    put('gate_add.spawn_overhead_ms', median(spawnOnly), 'ms', 'nsenter --net=… true from Node, median of 10: included in each bare nft time below');
    const extra = makeGates(ADD_SAMPLES + 20, { lanBase: 200, idPrefix: 'bare' });
    const bareN = extra.slice(0, ADD_SAMPLES).map((g) => timedSync(ns.router, ['nft', '-f', '-'], oneGate(code, settings, g).batch));
    const bareMem = await measureProcess(ns.router, ['nft', '-f', '-'], oneGate(code, settings, extra[ADD_SAMPLES]).batch);
    put(`gate_add.nft_${SCALE}.p50_ms`, median(bareN), 'ms', `nft -f - of one gate's renderGateChanges batch (both directions) with ${SCALE} gates present, ${ADD_SAMPLES} samples`);
    put(`gate_add.nft_${SCALE}.p99_ms`, percentile(bareN, 99), 'ms', `the same, p99 (target under 10 ms)`);
    put(`gate_add.nft_${SCALE}.peak_mib`, mib(bareMem.peakKiB), 'MiB', `peak memory of one such nft process (${bareMem.peakBy})`);
    load(0);
    const bare0 = extra.slice(ADD_SAMPLES + 1, ADD_SAMPLES + 20).map((g) => timedSync(ns.router, ['nft', '-f', '-'], oneGate(code, settings, g).batch));
    put('gate_add.nft_0.p50_ms', median(bare0), 'ms', `the same batch with 0 gates present, ${bare0.length} samples: for contrast`);

    // 2 (client's view). gate_add through the daemon's FIFO with 10,000 gates in its table.
    mkdirSync(stateDir, { recursive: true });
    const daemon = new Daemon(lab, ns.router, qjs, configPath).start();
    daemons.push(daemon);
    if ((await daemon.waitFor('callqos agent running', 20_000)) === null) throw new Error(`agent did not start: ${daemon.proc.text}`);
    // Its table, filled behind its back (same schema, so it keeps it): the kernel holds 10,000
    // gates, the daemon's own list none. Its per-gate work in JS is measured at 2,000 below.
    load(SCALE);
    fifoFd = openSync(join(stateDir, 'cmd'), 'r+');
    const viaFifo = [];
    let refused = 0;
    const fifoGates = makeGates(ADD_SAMPLES, { lanBase: 201, idPrefix: 'fifo' });
    for (const [i, g] of fifoGates.entries()) {
      const { ms, reply } = await fifoRoundTrip(stateDir, fifoFd, oneGate(code, settings, g).command, `bench${i}`);
      if (reply.ok !== true) refused += 1;
      viaFifo.push(ms);
    }
    if (refused > 0) throw new Error(`${refused} of ${ADD_SAMPLES} gate_add commands refused`);
    const fifoNote = `FIFO command written until its reply file appeared, ${ADD_SAMPLES} samples, ${SCALE} gates in the kernel table (the daemon's own list held only these). The table load just before makes the daemon check its table once (nft lists the whole table, about 0.3-0.4 s), which the first sample may wait for`;
    put(`gate_add.fifo_${SCALE}.p50_ms`, median(viaFifo), 'ms', fifoNote);
    put(`gate_add.fifo_${SCALE}.p99_ms`, percentile(viaFifo, 99), 'ms', `${fifoNote} (target under 10 ms)`);
    put(`gate_add.fifo_${SCALE}.max_ms`, Math.max(...viaFifo), 'ms', fifoNote);
    closeSync(fifoFd);
    fifoFd = null;
    await daemon.stop();

    // 3 (agent side). The daemon's rebuild on start with gates in its state file, from an empty kernel.
    const converged = {};
    for (const n of SMALL_DAEMON_SIZES) {
      dropTable(lab, ns.router);
      const dir = join(temp, `state${n}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'state.json'), stateFile(code, makeGates(n)));
      const config = join(temp, `callqos${n}`);
      writeFileSync(config, benchConfig(dir));
      const d = new Daemon(lab, ns.router, qjs, config).start();
      daemons.push(d);
      const ms = await d.waitFor('data plane converged', 40_000);
      if (ms === null) throw new Error(`agent with ${n} gates did not converge within 40 s`);
      converged[n] = ms;
      put(`reconcile.daemon_start_converged_${n}_ms`, ms, 'ms', `qjs agent started with ${n} gates in its state file (empty kernel) until it logged "data plane converged"`);
      if (n === SMALL_DAEMON_SIZES.at(-1)) {
        await d.waitFor('callqos agent running', 10_000);
        const fd = openSync(join(dir, 'cmd'), 'r+');
        fifoFd = fd;
        const samples = [];
        for (const [i, g] of makeGates(SMALL_DAEMON_ADD_SAMPLES, { lanBase: 202, idPrefix: 'small' }).entries()) {
          const { ms: one, reply } = await fifoRoundTrip(dir, fd, oneGate(code, settings, g).command, `small${i}`);
          if (reply.ok !== true) throw new Error(`gate_add refused: ${JSON.stringify(reply)}`);
          samples.push(one);
        }
        closeSync(fd);
        fifoFd = null;
        const bare = makeGates(10, { lanBase: 203, idPrefix: 'bare-small' }).map((g) => timedSync(ns.router, ['nft', '-f', '-'], oneGate(code, settings, g).batch));
        put(`gate_add.nft_${n}.p50_ms`, median(bare), 'ms', `bare nft -f of one gate's batch with ${n} gates present, ${bare.length} samples: the nft share of the FIFO figure below`);
        put(`gate_add.fifo_${n}.p50_ms`, median(samples), 'ms', `the same through the FIFO with ${n} gates in the daemon and the kernel, ${samples.length} samples: the daemon's own per-gate work (conflict check by endpoint, one journal line) with a long list`);
      }
      await d.stop();
    }
    const [a, b] = SMALL_DAEMON_SIZES;
    const exponent = Math.log(converged[b] / converged[a]) / Math.log(b / a);
    put('reconcile.daemon_start_growth_exponent', exponent, 'ratio', `k in time ~ gates^k between ${a} and ${b} gates (2: every gate checked against every other, in loadState and again in renderNftBatch)`);
    put(`reconcile.daemon_start_converged_${SCALE}_extrapolated_s`, (converged[b] * (SCALE / b) ** exponent) / 1000, 's', `EXTRAPOLATED from the two starts above (not run: it would not fit this benchmark's 90 s)`);

    put('seconds', (Date.now() - started) / 1000, 's', 'the whole benchmark, namespaces included');
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'classification-at-scale.json'), JSON.stringify(metrics, null, 2) + '\n');
    return metrics;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    if (fifoFd !== null) closeSync(fifoFd);
    for (const d of daemons) await d.stop();
    lab.close();
    rmSync(temp, { recursive: true, force: true });
  }
}

export function printMetrics(metrics) {
  const width = Math.max(...Object.keys(metrics).map((k) => k.length));
  for (const [name, m] of Object.entries(metrics)) console.log(`${name.padEnd(width)}  ${String(m.value).padStart(10)} ${m.unit}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  classificationAtScale().then(printMetrics, (err) => {
    console.error(`classification-at-scale: ${err.message}`);
    process.exit(1);
  });
}
