// SIP benchmarks, all in one run on loopback:
//   - calls per second with sipp (bench/sip/uac.xml and uas.xml) through (a) the built-in proxy
//     with QoS: each call's 200 OK held until the QoS control server had both simulated routers
//     install its gates, (b) Kamailio as a plain stateful proxy (bench/sip/kamailio-plain.cfg),
//     (c) Kamailio feeding callqos (deploy/kamailio/callqos.cfg); rates double from 100/s until a
//     run has a failed call or falls short of its rate; the highest clean rate and the ratios;
//   - post-dial delay that holding the 200 adds: the built-in proxy with --qos hold against
//     --qos forward at a low rate, p50 and p99 of INVITE to 200;
//   - where a call's CPU time goes through the built-in proxy with QoS at a steady rate: the
//     proxy, the QoS server, Mosquitto, the simulated routers and the sipp callee, ms per call each;
//   - the clearinghouse: authorizations (each a signed token) and usage indications per second on
//     SQLite and PostgreSQL, and token verifications per second.
// Targets (reported, not asserted): the built-in proxy with QoS at least half of plain Kamailio's
// rate, Kamailio with callqos at least 0.9 of plain; post-dial delay added p99 at most 30 ms.
//
//   node bench/sip.mjs [--write]        CALLQOS_BENCH_SIP_SECONDS (5) per rate step
//   node bench/sip.mjs --breakdown      only the CPU breakdown (CALLQOS_BENCH_CPU_PROFILE=<dir>:
//                                       the proxy and the server also write V8 CPU profiles there)
//
// Needs mosquitto, sipp and kamailio (with kamailio-utils-modules); a missing one skips its part.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SimRouter, cloudBundle, freePort, haveMosquitto, logged, mergeLatest, percentile, postgresDatabase, printMetrics, procStats, root, round, sleep, startMosquitto,
  startServer, stopProc,
} from './throughput.mjs';

const SECONDS = Number(process.env.CALLQOS_BENCH_SIP_SECONDS ?? 5);
const RATES = [100, 200, 400, 800, 1600, 3200];
const CALLER_MEDIA = '198.19.1.10';
const CALLEE_MEDIA = '198.19.2.10';
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Two simulated routers whose LANs hold the phones' media addresses; link wide enough for any load here. */
async function startRouters(brokerPort) {
  const events = { errors: 0, connects: 0, opens: 0, syncRetries: 0, decisions: 0, removals: 0, desired: 0, bad: 0, unexpected: 0, onSynced: () => {} };
  const synced = new Set();
  const all = new Promise((resolve) => (events.onSynced = (r) => (synced.add(r.id), synced.size === 2 && resolve())));
  const link = { upKbps: 10_000_000, downKbps: 10_000_000, efBudgetPercent: 50 };
  const lan = (address) => ({ name: 'lan', device: 'br-lan', role: 'lan', up: true, ipv4: [{ address, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] });
  const wan = (address) => ({ name: 'wan', device: 'wan', role: 'wan', up: true, ipv4: [{ address, prefixLength: 24 }], ipv6: [], ipv6Prefixes: [] });
  const routers = [
    new SimRouter('bench-rt-a', 0, { host: '127.0.0.1', port: brokerPort }, events, { link, interfaces: [lan('198.19.1.1'), wan('198.18.100.1')] }),
    new SimRouter('bench-rt-b', 1, { host: '127.0.0.1', port: brokerPort }, events, { link, interfaces: [lan('198.19.2.1'), wan('198.18.101.1')] }),
  ];
  for (const r of routers) r.start();
  await Promise.race([all, sleep(20_000).then(() => Promise.reject(new Error('simulated routers did not synchronise')))]);
  return { routers, events, stop: () => routers.forEach((r) => r.stop()) };
}

function sipCount(output, label) {
  const line = output.split('\n').find((l) => l.trim().startsWith(label));
  const numbers = line ? line.match(/\d+/g) : null;
  return numbers ? Number(numbers.at(-1)) : null;
}

/** One sipp caller run at `rate` for SECONDS through the proxy at `proxyPort`; returns counts, time and the INVITE-to-200 times. */
async function callerRun(dir, uasPort, proxyPort, rate, seconds = SECONDS, traceRtt = false) {
  const calls = Math.max(1, Math.round(rate * seconds));
  const callerPort = await freePort();
  for (const f of readdirSync(dir)) if (f.endsWith('_rtt.csv')) rmSync(join(dir, f));
  const started = Date.now();
  const run = logged(['sipp', '-sf', join(root, 'bench/sip/uac.xml'), `127.0.0.1:${uasPort}`, '-rsa', `127.0.0.1:${proxyPort}`, '-i', '127.0.0.1', '-p', String(callerPort), '-s', 'bob',
    '-key', 'media_addr', CALLER_MEDIA, '-r', String(rate), '-m', String(calls), '-l', '5000', '-nostdin', '-timeout', String(seconds + 30), '-timeout_error',
    '-recv_timeout', '10000', ...(traceRtt ? ['-trace_rtt', '-rtt_freq', '1'] : [])], { cwd: dir });
  await run.exit;
  const ms = Date.now() - started;
  const ok = sipCount(run.log, 'Successful call') ?? 0;
  const failed = sipCount(run.log, 'Failed call') ?? calls - ok;
  const rtt = readdirSync(dir).filter((f) => f.endsWith('_rtt.csv')).flatMap((f) =>
    readFileSync(join(dir, f), 'utf8').split('\n').slice(1).map((l) => Number(l.split(';')[1])).filter((x) => Number.isFinite(x)));
  return { rate, calls, ok, failed, ms, cps: ok / (ms / 1000), rtt };
}

/**
 * The highest rate a proxy carries without a failed call: doubling from 100/s until a run fails a
 * call or falls short (below 80% of its rate), then halving the gap twice.
 */
async function ramp(dir, uasPort, proxyPort, label) {
  let best = null;
  const steps = [];
  const attempt = async (rate) => {
    const r = await callerRun(dir, uasPort, proxyPort, rate);
    steps.push(`${rate}/s: ${r.ok} ok, ${r.failed} failed, ${round(r.cps, 0)}/s achieved`);
    console.error(`${label}: ${steps.at(-1)}`);
    await sleep(1000);
    const clean = r.failed === 0 && r.ok === r.calls && r.cps >= rate * 0.8;
    if (clean && (best === null || r.cps > best.cps)) best = r;
    return clean;
  };
  let good = 0;
  let bad = null;
  for (const rate of RATES) {
    if (await attempt(rate)) good = rate;
    else {
      bad = rate;
      break;
    }
  }
  for (let i = 0; i < 2 && bad !== null && bad - good > 50; i++) {
    const mid = Math.round((good + bad) / 2);
    if (await attempt(mid)) good = mid;
    else bad = mid;
  }
  return { best, steps };
}

async function startUas(dir) {
  const port = await freePort();
  const uas = logged(['sipp', '-sf', join(root, 'bench/sip/uas.xml'), '-i', '127.0.0.1', '-p', String(port), '-key', 'media_addr', CALLEE_MEDIA, '-nostdin', '-bind_local'], { cwd: dir });
  await sleep(500);
  return { uas, port };
}

async function withProxy(start, body) {
  const proxy = await start();
  try {
    return await body(proxy);
  } finally {
    await stopProc(proxy.proc);
  }
}

function builtIn(bundle, brokerPort, qos, nodeArgs = []) {
  return async () => {
    const port = await freePort();
    const proc = logged([process.execPath, ...nodeArgs, bundle, 'sip', 'run', '--id', `sip-bench-${qos}`, '--broker', `mqtt://127.0.0.1:${brokerPort}`, '--listen', `127.0.0.1:${port}`, '--qos', qos, '--session-timeout-ms', '10000', '--log-level', 'warn']);
    for (let i = 0; i < 200 && !proc.log.includes('callqos SIP proxy'); i++) await sleep(25);
    return { proc, port };
  };
}

function kamailio(dir, cfg, httpPort, defines = []) {
  return async () => {
    const port = await freePort();
    const runtime = mkdtempSync(join(dir, 'kamailio-'));
    // Shared memory as MEASURED.md found necessary at these rates (1 GB).
    const proc = logged(['kamailio', '-DD', '-E', '-m', '1024', '-f', cfg, '-l', `udp:127.0.0.1:${port}`, '-A', `CALLQOS_API="http://127.0.0.1:${httpPort}"`, '-A', 'CALLQOS_CLIENT="kamailio-bench"', ...defines.flatMap((d) => ['-A', d]), '-Y', runtime, '-P', join(runtime, 'pid')]);
    for (let i = 0; i < 200 && !proc.log.includes('SO_RCVBUF is finally'); i++) await sleep(25);
    return { proc, port };
  };
}

async function proxies(metrics) {
  for (const tool of ['sipp', 'kamailio']) if (!have(tool)) return void (metrics['sip.skipped'] = { value: 1, unit: 'flag', note: `${tool} not installed`, skipped: `${tool} not installed` });
  if (!haveMosquitto()) return void (metrics['sip.skipped'] = { value: 1, unit: 'flag', note: 'mosquitto not installed', skipped: 'mosquitto not installed' });
  const dir = mkdtempSync(join(tmpdir(), 'callqos-bench-sip-'));
  const brokerPort = await freePort();
  const httpPort = await freePort();
  const broker = await startMosquitto(dir, brokerPort);
  const bundle = await cloudBundle();
  const { uas, port: uasPort } = await startUas(dir);
  let stores = 0;
  /**
   * Each measurement gets a QoS server with an empty store and its routers: calls an overloaded run
   * failed are never deleted, and their sessions would burden the next run.
   */
  const fresh = async (body) => {
    const server = await startServer(bundle, { brokerPort, storeUrl: `sqlite:${join(dir, `server-${++stores}.db`)}`, httpPort });
    const routers = await startRouters(brokerPort);
    try {
      return await body();
    } finally {
      routers.stop();
      await stopProc(server);
    }
  };
  try {
    const qos = await fresh(() => withProxy(builtIn(bundle, brokerPort, 'hold'), (p) => ramp(dir, uasPort, p.port, 'built-in proxy with QoS')));
    const plain = await withProxy(kamailio(dir, join(root, 'bench/sip/kamailio-plain.cfg'), httpPort), (p) => ramp(dir, uasPort, p.port, 'Kamailio plain'));
    const kq = await fresh(() => withProxy(kamailio(dir, join(root, 'deploy/kamailio/callqos.cfg'), httpPort), (p) => ramp(dir, uasPort, p.port, 'Kamailio with callqos')));
    const kqAdmitted = await fresh(() => withProxy(kamailio(dir, join(root, 'deploy/kamailio/callqos.cfg'), httpPort, ['CALLQOS_WAIT="false"']), (p) => ramp(dir, uasPort, p.port, 'Kamailio with callqos, 200 held until admitted')));
    const cps = (r) => (r.best ? round(r.best.cps, 0) : 0);
    const note = (r, what) => `${what}; highest rate without a failed call, ${SECONDS} s per step, doubling from 100/s: ${r.steps.join('; ')}`;
    metrics['sip.cps.builtin_qos'] = { value: cps(qos), unit: 'calls/s', note: note(qos, 'built-in proxy, 200 OK held until both simulated routers installed the gates (QoS server, Mosquitto, SQLite)') };
    metrics['sip.cps.kamailio_plain'] = { value: cps(plain), unit: 'calls/s', note: note(plain, 'Kamailio 5.6 from Debian as a plain stateful proxy, two workers') };
    metrics['sip.cps.kamailio_callqos'] = { value: cps(kq), unit: 'calls/s', note: note(kq, 'Kamailio with deploy/kamailio/callqos.cfg: 200 OK held for the session API over HTTP') };
    metrics['sip.cps.kamailio_callqos_admitted'] = { value: cps(kqAdmitted), unit: 'calls/s', note: note(kqAdmitted, 'the same with CALLQOS_WAIT="false": the 200 held until the call is authorized and admitted, not until installed') };
    metrics['sip.cps.kamailio_callqos_admitted_to_plain'] = { value: round(cps(kqAdmitted) / Math.max(1, cps(plain)), 2), unit: 'ratio', note: 'same run' };
    metrics['sip.cps.builtin_qos_to_kamailio_plain'] = { value: round(cps(qos) / Math.max(1, cps(plain)), 2), unit: 'ratio', note: 'same run; target at least 0.5' };
    metrics['sip.cps.kamailio_callqos_to_plain'] = { value: round(cps(kq) / Math.max(1, cps(plain)), 2), unit: 'ratio', note: 'same run; target at least 0.9' };

    // Post-dial delay added by holding the 200: hold against forward at a rate every proxy keeps up with.
    const held = await fresh(() => withProxy(builtIn(bundle, brokerPort, 'hold'), (p) => callerRun(dir, uasPort, p.port, 50, 6, true)));
    const direct = await fresh(() => withProxy(builtIn(bundle, brokerPort, 'forward'), (p) => callerRun(dir, uasPort, p.port, 50, 6, true)));
    for (const p of [50, 99]) {
      const h = percentile(held.rtt, p);
      const f = percentile(direct.rtt, p);
      metrics[`sip.pdd.hold_p${p}_ms`] = { value: round(h, 2), unit: 'ms', note: `INVITE to 200 OK with --qos hold, ${held.rtt.length} calls at 50/s` };
      metrics[`sip.pdd.forward_p${p}_ms`] = { value: round(f, 2), unit: 'ms', note: `INVITE to 200 OK with --qos forward, ${direct.rtt.length} calls at 50/s` };
      metrics[`sip.pdd.added_p${p}_ms`] = { value: round(h - f, 2), unit: 'ms', note: `hold minus forward, p${p}${p === 99 ? ' (target at most 30 ms)' : ''}` };
    }
  } finally {
    await stopProc(uas);
    await stopProc(broker);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU time per call, by process, with the built-in proxy holding each 200 for the QoS server at a
 * steady rate (200 calls/s unless CALLQOS_BENCH_SIP_BREAKDOWN_RATE): which part a faster call path has to come from.
 */
async function breakdown(metrics, rate = Number(process.env.CALLQOS_BENCH_SIP_BREAKDOWN_RATE ?? 200)) {
  for (const tool of ['sipp']) if (!have(tool)) return void (metrics['sip.cpu.skipped'] = { value: 1, unit: 'flag', note: `${tool} not installed`, skipped: `${tool} not installed` });
  if (!haveMosquitto()) return void (metrics['sip.cpu.skipped'] = { value: 1, unit: 'flag', note: 'mosquitto not installed', skipped: 'mosquitto not installed' });
  const profile = process.env.CALLQOS_BENCH_CPU_PROFILE;
  const nodeArgs = (name) => (profile ? ['--cpu-prof', '--cpu-prof-dir', profile, '--cpu-prof-name', `${name}.cpuprofile`] : []);
  const dir = mkdtempSync(join(tmpdir(), 'callqos-bench-sipcpu-'));
  const brokerPort = await freePort();
  const broker = await startMosquitto(dir, brokerPort);
  const bundle = await cloudBundle();
  const { uas, port: uasPort } = await startUas(dir);
  const server = await startServer(bundle, { brokerPort, storeUrl: `sqlite:${join(dir, 'server.db')}`, httpPort: null, nodeArgs: nodeArgs('qos-server') });
  const routers = await startRouters(brokerPort);
  try {
    await withProxy(builtIn(bundle, brokerPort, 'hold', nodeArgs('sip-proxy')), async (proxy) => {
      await callerRun(dir, uasPort, proxy.port, 50, 2);
      const parts = { proxy: proxy.proc, server, broker, uas };
      const before = Object.fromEntries(Object.entries(parts).map(([k, p]) => [k, procStats(p.child.pid).cpuMs]));
      const self = process.cpuUsage();
      const run = await callerRun(dir, uasPort, proxy.port, rate);
      const perCall = (ms) => round(ms / Math.max(1, run.ok), 3);
      const routersMs = (process.cpuUsage(self).user + process.cpuUsage(self).system) / 1000;
      for (const [k, p] of Object.entries(parts)) {
        metrics[`sip.cpu.${k}_ms_per_call`] = { value: perCall(procStats(p.child.pid).cpuMs - before[k]), unit: 'ms', note: `CPU time per call at ${rate} calls/s asked, ${run.ok} calls (${run.failed} failed) in ${run.ms} ms` };
      }
      metrics['sip.cpu.sim_routers_ms_per_call'] = { value: perCall(routersMs), unit: 'ms', note: 'the bench process: the two simulated routers (and the bench itself)' };
    });
  } finally {
    routers.stop();
    await stopProc(server);
    await stopProc(uas);
    await stopProc(broker);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The clearinghouse in-process: authorizations (signing) and usage indications per second, per store; token checks per second. */
async function clearinghouse(metrics) {
  const { buildCloudBundle } = await import('../scripts/build.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'callqos-bench-ch-'));
  try {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, [
      `export { Clearinghouse } from '${join(root, 'src/cloud/clearinghouse/service.ts')}';`,
      `export { generateSigningKey, loadPublicKeys } from '${join(root, 'src/cloud/clearinghouse/keys.ts')}';`,
      `export { openClearinghouseStore } from '${join(root, 'src/cloud/clearinghouse/store/index.ts')}';`,
      `export { parsePolicy } from '${join(root, 'src/cloud/clearinghouse/policy.ts')}';`,
      `export { verifyToken } from '${join(root, 'src/core/clearinghouse/token.ts')}';`,
      `export { createLogger } from '${join(root, 'src/core/log.ts')}';`,
    ].join('\n'));
    const out = join(root, 'dist', 'bench', 'clearinghouse-bench.mjs');
    await buildCloudBundle(out, entry);
    const m = await import(out);
    const key = m.generateSigningKey('ch-bench', join(dir, 'ch.pem'), join(dir, 'ch.json'));
    const verifierFor = m.loadPublicKeys(join(dir, 'ch.json'));
    const policy = m.parsePolicy({ domains: [{ id: 'domain-a', clients: ['qos-a'], peers: ['domain-b'] }, { id: 'domain-b', clients: ['qos-b'] }] });
    const N = Number(process.env.CALLQOS_BENCH_CH_OPS ?? 2000);
    const flows = [{ line: 0, offer: { address: '192.168.1.20', port: 4000 }, answer: { address: '198.51.100.9', port: 5000 }, dscp: 46, kbps: 80 }];
    const stores = [['sqlite', `sqlite:${join(dir, 'ch.db')}`]];
    const pg = await postgresDatabase(process.env.CALLQOS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432');
    if (pg.skipped) metrics['clearinghouse.postgres.skipped'] = { value: 1, unit: 'flag', note: pg.skipped, skipped: pg.skipped };
    else stores.push(['postgres', pg.url]);
    let lastToken = null;
    for (const [name, url] of stores) {
      const store = m.openClearinghouseStore(url);
      await store.migrate();
      const service = new m.Clearinghouse({ store, key, policy, outbox: { fromClearinghouse: () => ({ ok: true }) }, log: m.createLogger(() => {}, 'error') });
      const t0 = performance.now();
      const ids = [];
      for (let i = 0; i < N; i++) {
        const a = await service.authorize('qos-a', { callId: `b-${name}-${i}`, caller: 'sip:a@x', callee: 'sip:b@y', sourceDevice: null, destinationDevice: null, destinationDomain: 'domain-b', flows });
        ids.push(a.transactionId);
        lastToken = a.token;
      }
      const t1 = performance.now();
      for (let i = 0; i < N; i++) {
        await service.recordUsage('qos-a', { transactionId: ids[i], callId: `b-${name}-${i}`, startMs: 1, connectMs: 2, endMs: 60_002, termination: { sipStatus: 200, releasedBy: 'caller', reason: null }, codec: 'PCMU', flows: [] });
      }
      const t2 = performance.now();
      metrics[`clearinghouse.${name}.authorizations_per_s`] = { value: round(N / ((t1 - t0) / 1000), 0), unit: 'ops/s', note: `${N} authorizations, each an Ed25519-signed token and a stored transaction, one at a time` };
      metrics[`clearinghouse.${name}.usage_per_s`] = { value: round(N / ((t2 - t1) / 1000), 0), unit: 'ops/s', note: `${N} usage indications, each rated and stored once, one at a time` };
      await store.close();
    }
    if (!pg.skipped) await pg.drop();
    const t3 = performance.now();
    const expectation = { audience: 'domain-a', callId: `b-${stores.at(-1)[0]}-${N - 1}`, flows };
    for (let i = 0; i < N; i++) if (!m.verifyToken(lastToken, expectation, { nowMs: Date.now(), verifierFor }).ok) throw new Error('token did not verify');
    metrics['clearinghouse.token_verifications_per_s'] = { value: round(N / ((performance.now() - t3) / 1000), 0), unit: 'ops/s', note: 'a policy server checking a presented token: form, Ed25519 signature, window, binding' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function sipBench() {
  const metrics = {};
  await clearinghouse(metrics);
  await proxies(metrics);
  await breakdown(metrics);
  return metrics;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metrics = process.argv.includes('--breakdown') ? await (async (m) => (await breakdown(m), m))({}) : await sipBench();
  printMetrics(metrics);
  if (process.argv.includes('--write')) {
    mergeLatest(metrics);
    console.log('merged into bench/results/latest.json');
  }
  process.exit(0);
}
