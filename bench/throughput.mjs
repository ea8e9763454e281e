// Session throughput of the QoS control server: real Mosquitto on a port of its own, the server as a
// child process (so that its CPU time and memory are its own, read from /proc), 1,000 simulated
// routers in driver child processes, and call control over the HTTP session API with many calls in
// flight. Each session runs between two different routers: add (wait=true) until `active` (both
// routers reported success), then delete until `ended` (both routers confirmed the removal with
// their final usage). Figures: sessions per second sustained over a fixed window after a warm-up,
// failures (must be 0), server CPU ms per session, server RSS. Targets (reported, not asserted):
// 2,000 sessions/s on SQLite, 1,000/s on PostgreSQL.
//
//   node bench/throughput.mjs [--store sqlite|postgres|<url>] [--write]
//
// CALLQOS_BENCH_DEVICES (1000), CALLQOS_BENCH_SECONDS (10), CALLQOS_BENCH_WARMUP (3),
// CALLQOS_BENCH_CONCURRENCY (64 calls in flight), CALLQOS_BENCH_PG (postgres://postgres@127.0.0.1:5432),
// CALLQOS_BENCH_CPU_PROF=<dir> (the server runs under node --cpu-prof, profile written there at its exit).
// Metrics are flat, `throughput.<store>.<name>`; bench/run.mjs merges them into
// bench/results/latest.json (`npm run bench`), and `--write` does so for a run of this file alone.
// Needs mosquitto. This file is also the device driver (`--driver`, forked by the benches) and
// holds the pieces bench/fleet.mjs shares.
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

const here = fileURLToPath(import.meta.url);
export const root = join(dirname(here), '..');
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values, p) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
export const round = (x, digits = 2) => (x === null || x === undefined ? null : Math.round(x * 10 ** digits) / 10 ** digits);
export { percentile };

// ---- simulated routers (run inside the driver processes) ------------------------------------------

const AGENT_VERSION = '0.1.0';
// As the agent (src/agent/cloud/session.ts): opens repeated from 0.5 s up to every 5 s, a sync
// without answer repeated after 10 s and then less often, every delay jittered by ±25%.
const OPEN_RETRY_FIRST_MS = 500;
const OPEN_RETRY_MAX_MS = 5000;
const SYNC_RETRY_FIRST_MS = 10_000;
const SYNC_RETRY_MAX_MS = 120_000;
const jitter = (ms) => Math.round(ms * (0.75 + Math.random() / 2));

/** Router i's public WAN address: 198.18.0.0/15 (benchmarking range, global scope), 250 per /24. */
export function wanAddress(i) {
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** Every router has the same private LAN, as home routers do; the WAN address tells them apart. */
function interfacesOf(i) {
  return [
    { name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [{ address: '192.168.1.1', prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] },
    { name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [{ address: wanAddress(i), prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] },
  ];
}

/**
 * One router's side of the protocol, as the agent plays it (src/agent/cloud/session.ts) but without a
 * data plane: open after every connect (repeated until accepted, since the server may not be
 * subscribed yet after a broker restart), then status online, interfaces and a sync; decisions are
 * answered with report.success, removals with the final usage and report.success; keep-alives at
 * the accepted interval. Messages are built by hand (no validation here: the server validates).
 */
export class SimRouter {
  /** `options.interfaces` and `options.link` replace the defaults (a private LAN behind a WAN address, a 20/100 Mbit/s link). */
  constructor(id, index, broker, events, options = {}) {
    this.options = options;
    this.id = id;
    this.index = index;
    this.broker = broker;
    this.events = events;
    this.boot = 1;
    this.seq = 0;
    this.accepted = false;
    /** The opens of the current connection: an accept answering any of them is taken. */
    this.openIds = new Set();
    this.openTimer = null;
    this.syncTimer = null;
    this.keepaliveTimer = null;
    this.syncs = 0;
    this.syncedAt = [];
    this.gates = new Map();
    this.up = `callqos/v1/dev/${id}/up`;
    this.stopped = false;
  }

  envelope(type, body, corr) {
    this.seq += 1;
    const m = { v: 1, type, id: `${this.id}:${this.boot}:${this.seq}`, device: this.id, session: this.boot, seq: this.seq, ts: Date.now(), body };
    if (corr !== undefined) m.corr = corr;
    return m;
  }

  send(type, body, corr) {
    const m = this.envelope(type, body, corr);
    this.client.publish(this.up, JSON.stringify(m), { qos: 1 });
    return m;
  }

  start() {
    const will = this.envelope('status', { state: 'offline', agentVersion: AGENT_VERSION, since: Date.now() });
    const { host, port } = this.broker;
    // Nagle off before the first byte and on every reconnect: MQTT.js leaves it on, and each
    // request/answer exchange would then wait for a delayed ACK (40-88 ms measured here).
    const stream = () => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      return socket;
    };
    this.client = new mqtt.MqttClient(stream, {
      clientId: this.id,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 1000, // as mosquitto_sub: a fixed second, so after a broker restart all come back at once
      connectTimeout: 30_000,
      resubscribe: false, // subscribed below on every connect, before the open
      will: { topic: `callqos/v1/dev/${this.id}/status`, payload: JSON.stringify(will), qos: 1, retain: true },
    });
    this.client.on('connect', () => this.connected());
    this.client.on('message', (topic, payload) => this.receive(topic, payload));
    this.client.on('error', () => (this.events.errors += 1));
    this.client.on('close', () => {
      this.accepted = false;
      this.clearTimers();
    });
  }

  clearTimers() {
    for (const name of ['openTimer', 'syncTimer', 'keepaliveTimer']) {
      if (this[name] !== null) clearTimeout(this[name]);
      this[name] = null;
    }
  }

  connected() {
    this.events.connects += 1;
    this.accepted = false;
    this.openIds.clear();
    this.clearTimers();
    this.client.subscribe([`callqos/v1/dev/${this.id}/down`, `callqos/v1/dev/${this.id}/desired`], { qos: 1 }, (err) => {
      if (err) this.events.errors += 1;
      else this.sendOpen(OPEN_RETRY_FIRST_MS);
    });
  }

  sendOpen(retryMs) {
    if (this.stopped || !this.client.connected) return;
    this.events.opens += 1;
    const open = this.send('open', {
      agentVersion: AGENT_VERSION,
      board: { model: 'Simulated Router', name: 'bench,sim', release: 'OpenWrt 23.05.3', target: 'x86/64' },
      capabilities: { queues: ['htb'], ipv6: true, maxGates: 256 },
      link: this.options.link ?? { upKbps: 20000, downKbps: 100000, efBudgetPercent: 30 },
      keepaliveS: 30,
    });
    this.openIds.add(open.id);
    this.openTimer = setTimeout(() => {
      this.openTimer = null;
      if (!this.accepted) this.sendOpen(Math.min(OPEN_RETRY_MAX_MS, Math.round(retryMs * 1.5)));
    }, jitter(retryMs));
  }

  requestSync(retryMs = SYNC_RETRY_FIRST_MS) {
    const held = [...this.gates.keys()].slice(0, 64).map((id) => ({ id, hash: '0000000000000000' }));
    this.send('sync.request', { version: 0, part: { index: 0, count: 1 }, gates: held });
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.events.syncRetries += 1;
      if (this.accepted) this.requestSync(Math.min(SYNC_RETRY_MAX_MS, retryMs * 2));
    }, jitter(retryMs));
  }

  keepalive(intervalS) {
    // Spread over the interval, so that 10,000 routers that opened together do not tick together.
    const next = (first) => {
      this.keepaliveTimer = setTimeout(() => {
        if (!this.accepted) return;
        this.send('keepalive', {});
        next(false);
      }, intervalS * 1000 * (first ? Math.random() : 1));
    };
    next(true);
  }

  receive(topic, payload) {
    if (topic.endsWith('/desired')) {
      this.events.desired += 1;
      return;
    }
    let m;
    try {
      m = JSON.parse(payload.toString('utf8'));
    } catch {
      this.events.bad += 1;
      return;
    }
    switch (m.type) {
      case 'accept':
        if (this.accepted || !this.openIds.has(m.corr)) return;
        this.accepted = true;
        if (this.openTimer !== null) clearTimeout(this.openTimer);
        this.openTimer = null;
        this.client.publish(`callqos/v1/dev/${this.id}/status`, JSON.stringify(this.envelope('status', { state: 'online', agentVersion: AGENT_VERSION, since: Date.now() })), { qos: 1, retain: true });
        this.send('interfaces', { version: 1, interfaces: this.options.interfaces ?? interfacesOf(this.index) });
        this.requestSync();
        this.keepalive(m.body.keepaliveS);
        return;
      case 'sync.complete': {
        if (m.body.part.index !== m.body.part.count - 1) return;
        if (this.syncTimer !== null) clearTimeout(this.syncTimer);
        this.syncTimer = null;
        const ids = m.body.gates.map((g) => g.id);
        for (const g of m.body.gates) this.gates.set(g.id, g.session);
        for (const id of [...this.gates.keys()]) if (!ids.includes(id)) this.gates.delete(id);
        for (let at = 0; at < ids.length; at += 64) this.send('report.success', { version: m.body.version, gates: ids.slice(at, at + 64) }, m.id);
        this.syncs += 1;
        this.syncedAt.push(Date.now());
        this.events.onSynced(this);
        return;
      }
      case 'decision.install':
      case 'decision.modify':
        this.events.decisions += 1;
        for (const g of m.body.gates) this.gates.set(g.id, g.session);
        this.send('report.success', { version: m.body.version, gates: m.body.gates.map((g) => g.id) }, m.id);
        return;
      case 'decision.remove': {
        this.events.removals += 1;
        // As the agent: the final counters of each removed gate, then the success report.
        const usage = m.body.gates.map((id) => {
          const session = this.gates.get(id);
          this.gates.delete(id);
          const u = { id, up: { packets: 0, bytes: 0 }, down: { packets: 0, bytes: 0 }, firstSeen: null, lastSeen: null, ended: 'removed' };
          if (session !== undefined) u.session = session;
          return u;
        });
        this.send('report.accounting', { gates: usage });
        this.send('report.success', { version: m.body.version, gates: m.body.gates }, m.id);
        return;
      }
      case 'keepalive':
        return;
      default:
        this.events.unexpected += 1;
    }
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    this.client.end(true);
  }
}

/**
 * Driver process: runs a share of the routers and answers the bench over IPC.
 *   {cmd: 'start', broker: {host, port}, first, count, prefix, concurrency} -> {ev: 'ready', ms}
 *   {cmd: 'watch'}          -> {ev: 'synced', times} once every router here synced once more (and
 *                              {ev: 'progress', done} every second until then)
 *   {cmd: 'stats'}          -> {ev: 'stats', ...counters}
 *   {cmd: 'stop'}           -> exits
 */
async function driver() {
  const events = { errors: 0, connects: 0, opens: 0, syncRetries: 0, decisions: 0, removals: 0, desired: 0, bad: 0, unexpected: 0, onSynced: () => {} };
  let routers = [];
  // Watching: every router must sync once more than it had when the watch began.
  let watching = false;
  const checkWatch = () => {
    if (!watching) return;
    if (routers.every((r) => r.syncs >= r.target)) {
      const times = routers.map((r) => r.syncedAt[r.target - 1]);
      watching = false;
      clearInterval(progressTimer);
      process.send({ ev: 'synced', times });
    }
  };
  let progressTimer = null;
  const handle = async (msg) => {
    if (msg.cmd === 'start') {
      const started = Date.now();
      routers = [];
      for (let k = 0; k < msg.count; k += 1) {
        const i = msg.first + k;
        routers.push(new SimRouter(`${msg.prefix}${String(i).padStart(5, '0')}`, i, msg.broker, events));
      }
      // Bounded ramp: at most `concurrency` routers between connect and first sync at a time.
      let next = 0;
      let synced = 0;
      await new Promise((resolve) => {
        events.onSynced = (r) => {
          if (r.syncs === 1) {
            synced += 1;
            if (next < routers.length) routers[next++].start();
            if (synced === routers.length) resolve();
          }
          checkWatch();
        };
        while (next < Math.min(msg.concurrency, routers.length)) routers[next++].start();
        if (routers.length === 0) resolve();
      });
      process.send({ ev: 'ready', ms: Date.now() - started });
    } else if (msg.cmd === 'watch') {
      for (const r of routers) r.target = r.syncs + 1;
      watching = true;
      clearInterval(progressTimer);
      progressTimer = setInterval(() => process.send({ ev: 'progress', done: routers.filter((r) => r.syncs >= r.target).length }), 1000);
      progressTimer.unref();
      checkWatch();
    } else if (msg.cmd === 'stats') {
      const { onSynced, ...counters } = events;
      process.send({ ev: 'stats', ...counters, rss: process.memoryUsage().rss });
    } else if (msg.cmd === 'stop') {
      for (const r of routers) r.stop();
      setTimeout(() => process.exit(0), 200);
    }
  };
  process.on('message', (msg) => {
    // A failed command ends this worker: the bench sees it exit instead of waiting for an answer.
    handle(msg).catch((error) => {
      console.error(`fleet worker: ${msg.cmd} failed: ${error}`);
      process.exit(1);
    });
  });
  process.send({ ev: 'up' });
}

// ---- the bench side: processes, /proc, the broker, the server ---------------------------------------

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 on every Linux this runs on.
}

/** CPU time (user + system, ms) and memory (kB) of a process, from /proc. */
export function procStats(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuMs, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return { cpuMs: NaN, rssKb: NaN, hwmKb: NaN };
  }
}

/** The machine's CPU time, busy and total over all cores (ms), from /proc/stat. */
export function machineCpu() {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = f.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = n[3] + n[4];
  return { busyMs: ((total - idle) * 1000) / clockTicks, totalMs: (total * 1000) / clockTicks };
}

/** CPU time (ms) of every process with this command name: PostgreSQL's backends, say. */
export function commandCpuMs(comm) {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
    } catch {
      // The process ended meanwhile.
    }
  }
  return sum;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A child whose output is read all the time (a full pipe would block it), the tail kept for errors. */
export function logged(argv, options = {}) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const proc = { child, log: '', exited: null };
  const keep = (d) => {
    proc.log += d;
    if (proc.log.length > 64_000) proc.log = proc.log.slice(-32_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  proc.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve((proc.exited = { code, signal }))));
  return proc;
}

export async function stopProc(proc, signal = 'SIGTERM', ms = 5000) {
  if (proc.exited) return proc.exited;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), ms);
  const result = await proc.exit;
  clearTimeout(timer);
  return result;
}

async function waitFor(test, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await test()) return;
    if (Date.now() > end) throw new Error(`${what} not within ${ms} ms`);
    await sleep(25);
  }
}

const canConnect = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

export function haveMosquitto() {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) if (existsSync(join(dir, 'mosquitto'))) return join(dir, 'mosquitto');
  return null;
}

/**
 * Mosquitto as deployed (deploy/mosquitto/callqos.conf: set_tcp_nodelay, max_queued_messages
 * 10000) but open (no logins) and without persistence, on a loopback port of its own; the
 * open-file limit raised to the hard limit and no connection limit, for fleets.
 */
export async function startMosquitto(dir, port) {
  const conf = join(dir, 'mosquitto.conf');
  // CALLQOS_BENCH_MAX_QUEUED: to see what a larger queue changes (the deployed value is 100000).
  const queued = Number(process.env.CALLQOS_BENCH_MAX_QUEUED ?? 100000);
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nmax_queued_messages ${queued}\nmax_connections -1\nsys_interval 1\nuser root\nlog_type error\nlog_type warning\n`);
  // Each connection is a descriptor: as many as the hard limit allows (20,000 here; raising the
  // hard limit needs a privilege containers lack).
  const proc = logged(['sh', '-c', 'ulimit -n "$(ulimit -Hn)" && exec "$1" -c "$2"', 'sh', haveMosquitto(), conf]);
  await waitFor(async () => proc.exited !== null || (await canConnect(port)), 10_000, 'mosquitto listening');
  if (proc.exited) throw new Error(`mosquitto exited: ${proc.log.slice(-1000)}`);
  return proc;
}

/**
 * Mosquitto's count of publishes it dropped (a subscriber's queue past max_queued_messages: the
 * publisher got its PUBACK, the subscriber never sees the message), from $SYS every second.
 */
export async function brokerDrops(port) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-sys-${process.pid}-${port}`, protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  const seen = { dropped: 0 };
  client.on('message', (_t, payload) => (seen.dropped = Number(payload.toString()) || 0));
  await client.subscribeAsync('$SYS/broker/publish/messages/dropped', { qos: 0 });
  return { get: () => seen.dropped, close: () => client.endAsync(true).catch(() => {}) };
}

export async function cloudBundle() {
  const { buildCloudBundle } = await import('../scripts/build.mjs');
  return (await buildCloudBundle(join(root, 'dist', 'bench', 'callqos-cloud.mjs'))).file;
}

/** The QoS control server as deployed: its own process, external broker, the given store. */
export async function startServer(bundle, { brokerPort, storeUrl, httpPort, nodeArgs = [] }) {
  const args = [...nodeArgs, bundle, '--id', 'bench-qos-1', '--broker', `mqtt://127.0.0.1:${brokerPort}`, '--store', storeUrl, '--log-level', 'warn'];
  args.push('--http', httpPort === null ? 'off' : `127.0.0.1:${httpPort}`);
  const proc = logged([process.execPath, ...args]);
  await waitFor(() => proc.exited !== null || proc.log.includes('session API'), 30_000, 'server start');
  if (proc.exited) throw new Error(`server exited: ${proc.log.slice(-2000)}`);
  return proc;
}

/** Driver processes with a share of `devices` routers each; resolves once every router synced once. */
export async function startDrivers({ devices, processes, brokerPort, prefix, concurrency }) {
  const drivers = [];
  const per = Math.ceil(devices / processes);
  for (let p = 0; p < processes; p += 1) {
    const first = p * per;
    const count = Math.max(0, Math.min(per, devices - first));
    const child = fork(here, ['--driver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const d = { child, first, count, handlers: new Set() };
    child.on('message', (msg) => {
      for (const h of [...d.handlers]) h(msg);
    });
    d.next = (ev, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => (d.handlers.delete(h), reject(new Error(`driver ${p}: no ${ev} within ${ms} ms`))), ms);
        const h = (msg) => {
          if (msg.ev !== ev) return;
          clearTimeout(timer);
          d.handlers.delete(h);
          resolve(msg);
        };
        d.handlers.add(h);
      });
    d.exit = new Promise((resolve) => child.on('exit', resolve));
    drivers.push(d);
  }
  await Promise.all(drivers.map((d) => d.next('up', 10_000)));
  const ready = drivers.map((d) => d.next('ready', 600_000));
  for (const d of drivers) d.child.send({ cmd: 'start', broker: { host: '127.0.0.1', port: brokerPort }, first: d.first, count: d.count, prefix, concurrency });
  await Promise.all(ready);
  return drivers;
}

export async function driverStats(drivers) {
  const all = await Promise.all(
    drivers.map((d) => {
      const p = d.next('stats', 10_000);
      d.child.send({ cmd: 'stats' });
      return p;
    }),
  );
  const sum = {};
  for (const s of all) for (const [k, v] of Object.entries(s)) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

export async function stopDrivers(drivers) {
  for (const d of drivers) d.child.connected && d.child.send({ cmd: 'stop' });
  await Promise.race([Promise.all(drivers.map((d) => d.exit)), sleep(5000)]);
  for (const d of drivers) if (d.child.exitCode === null) d.child.kill('SIGKILL');
}

/** A database of its own on the PostgreSQL server: created here, dropped after; or why not. */
export async function postgresDatabase(base) {
  const pg = (await import('pg')).default;
  const name = `callqos_bench_${process.pid}_${Date.now() % 1e6}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres`, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    await admin.end().catch(() => {});
    return { skipped: `PostgreSQL at ${base} not usable: ${err.message}` };
  }
  return {
    url: `${base}/${name}`,
    drop: async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

// ---- the throughput bench ------------------------------------------------------------------------

const DEVICES = Number(process.env.CALLQOS_BENCH_DEVICES ?? 1000);
const SECONDS = Number(process.env.CALLQOS_BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.CALLQOS_BENCH_WARMUP ?? 3);
const CONCURRENCY = Number(process.env.CALLQOS_BENCH_CONCURRENCY ?? 64);
const PG_BASE = process.env.CALLQOS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432';
const CC_CLIENT = 'bench-cc';
const ENDED_WAIT_MS = 15_000;

function sessionBody(n, a, b) {
  return {
    callId: `tp-${n}@bench.example`,
    caller: { source: wanAddress(a) },
    callee: { source: wanAddress(b) },
    wait: true,
    media: [
      {
        line: 0,
        type: 'audio',
        direction: 'sendrecv',
        offer: { address: `192.168.1.${10 + (n % 200)}`, port: 10000 + (n % 20000) * 2 },
        answer: { address: `192.168.1.${10 + ((n * 7) % 200)}`, port: 40000 + (n % 10000) * 2 },
        codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 },
      },
    ],
  };
}

/** Call control over HTTP as Kamailio's http_client would be: keep-alive, no Nagle. */
function httpClient(base, sockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  agent.on('free', (socket) => socket.setNoDelay(true));
  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const headers = { 'x-callqos-client': CC_CLIENT };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      const req = http.request(`${base}${path}`, { method, agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode, body: JSON.parse(text) });
          } catch (err) {
            reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
          }
        });
      });
      req.on('socket', (socket) => socket.setNoDelay(true));
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.end(body);
    });
  return { request, close: () => agent.destroy() };
}

/**
 * One run on one store. Returns the figures, or throws. `storeUrl` is `sqlite:<file>` or a
 * postgres:// URL whose database exists and is empty.
 */
export async function runThroughput({ storeUrl, devices = DEVICES, seconds = SECONDS, warmup = WARMUP, concurrency = CONCURRENCY, cpuProfileDir = null }) {
  const temp = mkdtempSync(join(tmpdir(), 'callqos-bench-tp-'));
  const procs = [];
  let drivers = [];
  let notices = null;
  let cc = null;
  let drops = null;
  try {
    const bundle = await cloudBundle();
    const brokerPort = await freePort();
    const httpPort = await freePort();
    procs.push(await startMosquitto(temp, brokerPort));
    drops = await brokerDrops(brokerPort);
    const nodeArgs = cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] : [];
    const server = await startServer(bundle, { brokerPort, storeUrl, httpPort, nodeArgs });
    procs.push(server);
    const tSetup = Date.now();
    // Two drivers: the routers' work is spread over both cores beside the server and the broker.
    drivers = await startDrivers({ devices, processes: Math.min(2, devices), brokerPort, prefix: 'tp', concurrency: 100 });
    const setupMs = Date.now() - tSetup;

    // Later notices (no corr) on the client's answer topic say when a deleted session has ended.
    const endedWaiters = new Map();
    notices = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: `${CC_CLIENT}-notices`, protocolVersion: 4, clean: true });
    notices.stream.setNoDelay?.(true);
    notices.on('message', (_topic, payload) => {
      const m = JSON.parse(payload.toString('utf8'));
      if (m.type === 'session.state' && m.body.state === 'ended') endedWaiters.get(m.body.callId)?.();
    });
    await notices.subscribeAsync(`callqos/v1/cc/${CC_CLIENT}/res`, { qos: 1 });

    cc = httpClient(`http://127.0.0.1:${httpPort}/v1`, concurrency);
    const failures = [];
    const done = []; // [finishedAtMs, activeMs, endedMs]
    let counter = 0;
    const t0 = Date.now();
    const measureFrom = t0 + warmup * 1000;
    const measureTo = measureFrom + seconds * 1000;
    let cpuFrom = null;
    let cpuTo = null;
    const sample = () => ({
      at: Date.now(),
      server: procStats(server.child.pid),
      broker: procStats(procs[0].child.pid),
      routers: drivers.reduce((sum, d) => sum + procStats(d.child.pid).cpuMs, 0),
      self: process.cpuUsage(),
      machine: machineCpu(),
      postgres: storeUrl.startsWith('postgres') ? commandCpuMs('postgres') : 0,
    });
    const sampler = [setTimeout(() => (cpuFrom = sample()), measureFrom - t0), setTimeout(() => (cpuTo = sample()), measureTo - t0)];
    const fail = (what) => {
      failures.push(what);
      if (failures.length <= 5) console.error(`throughput: failure: ${what.slice(0, 400)}`);
    };

    const loop = async () => {
      while (Date.now() < measureTo) {
        const n = counter++;
        // Pairs move through all routers; the second end is never the first.
        const a = (2 * n) % devices;
        const b = (a + 1 + (Math.floor((2 * n) / devices) % (devices - 1))) % devices;
        const body = sessionBody(n, a, b);
        const started = performance.now();
        let added;
        try {
          added = await cc.request('POST', '/sessions', JSON.stringify(body));
        } catch (err) {
          fail(`add ${body.callId}: ${err.message}`);
          continue;
        }
        const activeMs = performance.now() - started;
        if (added.status !== 200 || added.body.state !== 'active') fail(`add ${body.callId}: ${added.status} ${JSON.stringify(added.body)}`);
        const deleting = performance.now();
        let release;
        const ended = new Promise((resolve) => (release = resolve));
        endedWaiters.set(body.callId, release);
        const timer = setTimeout(() => release('timeout'), ENDED_WAIT_MS);
        try {
          const removed = await cc.request('DELETE', `/sessions/${encodeURIComponent(body.callId)}`);
          if (removed.status !== 200) fail(`delete ${body.callId}: ${removed.status} ${JSON.stringify(removed.body)}`);
          else if (removed.body.state === 'ended') release();
          if ((await ended) === 'timeout') fail(`delete ${body.callId}: not ended within ${ENDED_WAIT_MS} ms`);
        } catch (err) {
          fail(`delete ${body.callId}: ${err.message}`);
        } finally {
          clearTimeout(timer);
          endedWaiters.delete(body.callId);
        }
        done.push([Date.now(), activeMs, performance.now() - deleting]);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    for (const t of sampler) clearTimeout(t);
    if (!cpuFrom || !cpuTo) throw new Error('the measuring window did not complete');

    const inWindow = done.filter(([at]) => at >= cpuFrom.at && at < cpuTo.at);
    const windowS = (cpuTo.at - cpuFrom.at) / 1000;
    const serverCpuMs = cpuTo.server.cpuMs - cpuFrom.server.cpuMs;
    const brokerCpuMs = cpuTo.broker.cpuMs - cpuFrom.broker.cpuMs;
    const selfCpu = (cpuTo.self.user + cpuTo.self.system - cpuFrom.self.user - cpuFrom.self.system) / 1000;
    const routersCpuMs = cpuTo.routers - cpuFrom.routers;
    // Everything else on the machine (other people's runs on a shared host) shows here.
    const machineBusyMs = cpuTo.machine.busyMs - cpuFrom.machine.busyMs;
    const machineCores = (cpuTo.machine.totalMs - cpuFrom.machine.totalMs) / (cpuTo.at - cpuFrom.at);
    const end = procStats(server.child.pid);
    const stats = await driverStats(drivers);
    await sleep(1100); // one more $SYS interval
    stats.brokerDropped = drops.get();
    // Routers' CPU is not read per window (they are other processes); their counters show the work.
    return {
      storeUrl,
      devices,
      concurrency,
      setupMs,
      windowS,
      sessions: inWindow.length,
      sessionsPerS: inWindow.length / windowS,
      total: done.length,
      failures: failures.length,
      firstFailures: failures.slice(0, 5),
      activeP50: percentile(inWindow.map((d) => d[1]), 50),
      activeP99: percentile(inWindow.map((d) => d[1]), 99),
      endedP50: percentile(inWindow.map((d) => d[2]), 50),
      endedP99: percentile(inWindow.map((d) => d[2]), 99),
      serverCpuMsPerSession: serverCpuMs / Math.max(1, inWindow.length),
      serverCpuShare: serverCpuMs / (windowS * 1000),
      brokerCpuShare: brokerCpuMs / (windowS * 1000),
      loadGenCpuShare: selfCpu / (windowS * 1000),
      routersCpuShare: routersCpuMs / (windowS * 1000),
      machineBusyShare: machineBusyMs / (windowS * 1000),
      machineCores,
      postgresCpuShare: storeUrl.startsWith('postgres') ? (cpuTo.postgres - cpuFrom.postgres) / (windowS * 1000) : null,
      serverRssMb: end.rssKb / 1024,
      serverPeakRssMb: end.hwmKb / 1024,
      routers: stats,
    };
  } finally {
    cc?.close();
    await notices?.endAsync(true).catch(() => {});
    await drops?.close();
    await stopDrivers(drivers);
    for (const p of procs.reverse()) await stopProc(p);
    rmSync(temp, { recursive: true, force: true });
  }
}

function metricsOf(r, target) {
  const note = `${r.devices} simulated routers, ${r.concurrency} calls in flight over HTTP (keep-alive, nodelay), each add (wait) until active + delete until ended; ${r.windowS.toFixed(1)} s window after warm-up; store ${r.storeUrl.replace(/\/\/[^@/]*@/, '//')}`;
  const out = {
    sessions_per_s: { value: round(r.sessionsPerS, 0), unit: 'sessions/s', note: `${note} (target ${target}/s)` },
    failures: { value: r.failures, unit: 'sessions', note: r.failures ? `first: ${r.firstFailures.join(' | ').slice(0, 600)}` : 'adds not active, deletes not ended in 15 s, HTTP errors' },
    server_cpu_ms_per_session: { value: round(r.serverCpuMsPerSession, 3), unit: 'ms', note: `server process utime+stime over the window / sessions; server busy ${round(r.serverCpuShare * 100, 0)}% of one core, broker ${round(r.brokerCpuShare * 100, 0)}%, simulated routers ${round(r.routersCpuShare * 100, 0)}%, load generator ${round(r.loadGenCpuShare * 100, 0)}%${r.postgresCpuShare === null ? '' : `, PostgreSQL processes ${round(r.postgresCpuShare * 100, 0)}%`}; whole machine ${round(r.machineBusyShare * 100, 0)}% of ${round(r.machineCores, 0)} cores (the rest is other processes)` },
    server_rss_mb: { value: round(r.serverRssMb, 1), unit: 'MiB', note: 'VmRSS at the end' },
    server_peak_rss_mb: { value: round(r.serverPeakRssMb, 1), unit: 'MiB', note: 'VmHWM' },
    add_to_active_p50_ms: { value: round(r.activeP50), unit: 'ms', note: 'HTTP add with wait=true, under load' },
    add_to_active_p99_ms: { value: round(r.activeP99), unit: 'ms', note: 'HTTP add with wait=true, under load' },
    delete_to_ended_p50_ms: { value: round(r.endedP50), unit: 'ms', note: 'HTTP delete until the ended notice on the MQTT answer topic' },
    delete_to_ended_p99_ms: { value: round(r.endedP99), unit: 'ms', note: 'HTTP delete until the ended notice on the MQTT answer topic' },
    broker_dropped: { value: r.routers.brokerDropped, unit: 'messages', note: "Mosquitto's $SYS publish/messages/dropped over the run (a subscriber queue past max_queued_messages 100000)" },
    router_setup_ms: { value: r.setupMs, unit: 'ms', note: `${r.devices} routers connected, opened and synchronised (100 at a time per driver)` },
  };
  return out;
}

/**
 * Both stores, as flat metrics `throughput.<store>.<name>` like the rest of latest.json; a store that
 * cannot run records why (`throughput.<store>.skipped`, with `skipped: <reason>`) instead of figures.
 */
export async function throughput() {
  const missing = haveMosquitto() ? null : 'mosquitto not installed';
  const metrics = {};
  for (const [name, target] of [['sqlite', 2000], ['postgres', 1000]]) {
    const r = missing ? { skipped: missing } : await throughputOn(name, target);
    if (r.skipped) metrics[`throughput.${name}.skipped`] = { value: 1, unit: 'flag', note: r.skipped, skipped: r.skipped };
    else for (const [k, v] of Object.entries(r)) metrics[`throughput.${name}.${k}`] = v;
  }
  return metrics;
}

async function throughputOn(store, target) {
  if (store === 'sqlite' || store.startsWith('sqlite:')) {
    const dir = mkdtempSync(join(tmpdir(), 'callqos-bench-tp-db-'));
    try {
      const url = store === 'sqlite' ? `sqlite:${join(dir, 'server.db')}` : store;
      return metricsOf(await runThroughput({ storeUrl: url, cpuProfileDir: process.env.CALLQOS_BENCH_CPU_PROF ?? null }), target);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const db = store === 'postgres' ? await postgresDatabase(PG_BASE) : { url: store, drop: async () => {} };
  if (db.skipped) return { skipped: db.skipped };
  try {
    return metricsOf(await runThroughput({ storeUrl: db.url, cpuProfileDir: process.env.CALLQOS_BENCH_CPU_PROF ?? null }), target);
  } catch (err) {
    // A store the server cannot open (not written yet, say) is a skip with its reason, not a figure.
    if (/store|postgres|unknown store/i.test(err.message)) return { skipped: err.message.slice(0, 500) };
    throw err;
  } finally {
    await db.drop();
  }
}

/** Merges flat metrics into bench/results/latest.json (`npm run bench` writes the others first). */
export function mergeLatest(metrics) {
  const file = join(root, 'bench', 'results', 'latest.json');
  mkdirSync(dirname(file), { recursive: true });
  let current = {};
  try {
    current = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // No earlier results: start a new file.
  }
  writeFileSync(file, JSON.stringify({ ...current, ...metrics }, null, 2) + '\n');
}

export function printMetrics(metrics) {
  const width = Math.max(...Object.keys(metrics).map((k) => k.length));
  for (const [name, m] of Object.entries(metrics)) console.log(`${name.padEnd(width)}  ${String(m.value).padStart(10)} ${m.unit}  ${m.note}`);
}

if (process.argv[2] === '--driver') {
  await driver();
} else if (process.argv[1] === here) {
  const at = process.argv.indexOf('--store');
  const store = at > 0 ? process.argv[at + 1] : null;
  let metrics;
  if (store === null) metrics = await throughput();
  else {
    const name = store.startsWith('postgres') ? 'postgres' : 'sqlite';
    const r = await throughputOn(store, name === 'postgres' ? 1000 : 2000);
    metrics = r.skipped ? { [`throughput.${name}.skipped`]: { value: 1, unit: 'flag', note: r.skipped, skipped: r.skipped } } : Object.fromEntries(Object.entries(r).map(([k, v]) => [`throughput.${name}.${k}`, v]));
  }
  printMetrics(metrics);
  if (process.argv.includes('--write')) {
    mergeLatest(metrics);
    console.log('merged into bench/results/latest.json');
  }
  process.exit(0);
}
