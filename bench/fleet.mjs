// Fleet reconnect: 10,000 simulated routers on a real Mosquitto (its own loopback port, open-file
// limit at the hard limit, no connection limit), each opened and synchronised with one QoS control
// server (a child process, SQLite). Then the broker restarts (without persistence, as after a crash:
// retained state is gone) and every router reconnects at once, one second later, as mosquitto_sub
// does. Measured: the time until every router has resynchronised (received its accept and
// sync.complete), from the broker's stop and from its restart; the server's RSS before, after and
// at the peak (sampled every 100 ms, and VmHWM). Target: under 60 s (reported, not asserted).
//
//   node bench/fleet.mjs [--write]
//
// CALLQOS_BENCH_FLEET_DEVICES (10000; ten times CALLQOS_BENCH_DEVICES when only that is set, for a
// quick run of the whole bench), CALLQOS_BENCH_FLEET_DRIVERS (4 processes). Metrics are flat,
// `fleet.<name>`; `--write` merges them into bench/results/latest.json (as `npm run bench` does, after
// bench/run.mjs). CALLQOS_BENCH_CPU_PROF=<dir> profiles the server (node --cpu-prof);
// CALLQOS_BENCH_MAX_QUEUED sets Mosquitto's max_queued_messages (deployed: 100000). Needs mosquitto.
//
// The simulated routers repeat a sync.request left unanswered for 15 s (the agent does not) and
// count it: a lost message then shows in the figures instead of stalling the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  brokerDrops, cloudBundle, driverStats, freePort, haveMosquitto, mergeLatest, percentile, printMetrics, procStats, round, sleep, startDrivers, startMosquitto, startServer, stopDrivers, stopProc,
} from './throughput.mjs';

const DEVICES = Number(process.env.CALLQOS_BENCH_FLEET_DEVICES ?? (process.env.CALLQOS_BENCH_DEVICES ? 10 * Number(process.env.CALLQOS_BENCH_DEVICES) : 10_000));
// 2,500 MQTT.js clients per process: one process for all would be one core's event loop for the
// whole fleet's TLS-free but still per-packet work; four spread it beside the server and broker.
const DRIVERS = Number(process.env.CALLQOS_BENCH_FLEET_DRIVERS ?? 4);
const RESYNC_LIMIT_MS = 300_000;
const debug = process.env.CALLQOS_BENCH_DEBUG ? (...a) => console.error('fleet:', ...a) : () => {};

export async function runFleet({ devices = DEVICES, drivers: processes = DRIVERS } = {}) {
  const temp = mkdtempSync(join(tmpdir(), 'callqos-bench-fleet-'));
  let broker = null;
  let server = null;
  let drivers = [];
  let sampler = null;
  try {
    const bundle = await cloudBundle();
    const brokerPort = await freePort();
    broker = await startMosquitto(temp, brokerPort);
    const profile = process.env.CALLQOS_BENCH_CPU_PROF;
    server = await startServer(bundle, { brokerPort, storeUrl: `sqlite:${join(temp, 'server.db')}`, httpPort: null, nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [] });
    const pid = server.child.pid;
    const started = Date.now();
    // The first connection is ramped (250 routers between connect and first sync per driver): the
    // bench is about the reconnect storm, not about a fleet's first day.
    drivers = await startDrivers({ devices, processes: Math.min(processes, devices), brokerPort, prefix: 'fl', concurrency: 250 });
    const initialMs = Date.now() - started;
    debug(`${devices} routers synchronised in ${initialMs} ms`);
    await sleep(2000);
    const before = procStats(pid);
    let drops = await brokerDrops(brokerPort);
    await sleep(1100);
    const droppedInitial = drops.get();
    await drops.close();

    let peakKb = before.rssKb;
    sampler = setInterval(() => (peakKb = Math.max(peakKb, procStats(pid).rssKb || 0)), 100);
    const progress = new Map();
    for (const [k, d] of drivers.entries()) {
      d.handlers.add((msg) => {
        if (msg.ev !== 'progress') return;
        progress.set(k, msg.done);
        debug(`resynchronised ${[...progress.values()].reduce((a, b) => a + b, 0)} / ${devices}`);
      });
    }
    const synced = drivers.map((d) => d.next('synced', RESYNC_LIMIT_MS));
    for (const d of drivers) d.child.send({ cmd: 'watch' });

    const stopAt = Date.now();
    await stopProc(broker);
    broker = await startMosquitto(temp, brokerPort);
    const upAt = Date.now();
    drops = await brokerDrops(brokerPort);
    debug(`broker restarted in ${upAt - stopAt} ms`);
    const times = (await Promise.all(synced)).flatMap((m) => m.times);
    const last = Math.max(...times);
    clearInterval(sampler);
    sampler = null;
    await sleep(2000);
    const after = procStats(pid);
    const stats = await driverStats(drivers);
    const droppedReconnect = drops.get();
    await drops.close();
    return {
      droppedInitial,
      droppedReconnect,
      devices,
      processes,
      initialMs,
      restartMs: upAt - stopAt,
      allFromStopS: (last - stopAt) / 1000,
      allFromUpS: (last - upAt) / 1000,
      p50FromUpS: (percentile(times, 50) - upAt) / 1000,
      p99FromUpS: (percentile(times, 99) - upAt) / 1000,
      rssBeforeMb: before.rssKb / 1024,
      rssAfterMb: after.rssKb / 1024,
      rssPeakMb: peakKb / 1024,
      hwmMb: after.hwmKb / 1024,
      serverCpuS: (after.cpuMs - before.cpuMs) / 1000,
      stats,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await stopDrivers(drivers);
    if (server) await stopProc(server);
    if (broker) await stopProc(broker);
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Flat metrics `fleet.<name>`, as in latest.json; `fleet.skipped` (with `skipped: <reason>`) when it cannot run. */
export async function fleet() {
  if (!haveMosquitto()) return { 'fleet.skipped': { value: 1, unit: 'flag', note: 'mosquitto not installed', skipped: 'mosquitto not installed' } };
  const r = await runFleet();
  const s = r.stats;
  const setup = `${r.devices} simulated routers in ${r.processes} driver processes, one server (SQLite), Mosquitto restarted without persistence (${r.restartMs} ms down)`;
  const metrics = {
    resync_all_s: { value: round(r.allFromUpS, 1), unit: 's', note: `${setup}; broker up again until the last router had its accept and sync.complete (target under 60 s)` },
    resync_all_from_stop_s: { value: round(r.allFromStopS, 1), unit: 's', note: 'the same, from the moment the broker was stopped' },
    resync_p50_s: { value: round(r.p50FromUpS, 1), unit: 's', note: 'half the routers resynchronised, from the broker being up again' },
    resync_p99_s: { value: round(r.p99FromUpS, 1), unit: 's', note: '99% of the routers resynchronised' },
    initial_sync_s: { value: round(r.initialMs / 1000, 1), unit: 's', note: 'first connection of the whole fleet, 250 routers at a time per driver' },
    server_rss_before_mb: { value: round(r.rssBeforeMb, 1), unit: 'MiB', note: 'VmRSS with the fleet synchronised, before the restart' },
    server_rss_after_mb: { value: round(r.rssAfterMb, 1), unit: 'MiB', note: 'VmRSS 2 s after the last router resynchronised' },
    server_rss_peak_mb: { value: round(r.rssPeakMb, 1), unit: 'MiB', note: `VmRSS peak during the reconnect (100 ms samples); VmHWM over the whole run ${round(r.hwmMb, 1)} MiB` },
    server_cpu_s: { value: round(r.serverCpuS, 1), unit: 's', note: 'server CPU time from before the restart to 2 s after the last resync' },
    broker_dropped: { value: r.droppedReconnect, unit: 'messages', note: `Mosquitto's $SYS publish/messages/dropped after the restart (a queue past max_queued_messages ${process.env.CALLQOS_BENCH_MAX_QUEUED ?? 100000}); during the first connection ${r.droppedInitial}` },
    open_messages: { value: s.opens, unit: 'messages', note: `opens sent in the whole run (repeated every 0.5-5 s until accepted); MQTT connects ${s.connects}, sync requests repeated without answer (10 s, then backing off) ${s.syncRetries}, client errors ${s.errors}` },
  };
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`fleet.${k}`, v]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metrics = await fleet();
  printMetrics(metrics);
  if (process.argv.includes('--write')) {
    mergeLatest(metrics);
    console.log('merged into bench/results/latest.json');
  }
  process.exit(0);
}
