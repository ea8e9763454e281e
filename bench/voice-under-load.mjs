#!/usr/bin/env node
// "Voice under load": one-way delay and loss of a voice-like flow through a router shaped with the
// HTB that src/core/queueing renders, while bulk TCP saturates the link, in both directions.
//
//   phone (eth0) ── (br-lan) router (wan) ── (eth0) far       three namespaces of this run's own
//
// Upload: the router's WAN egress shaped to 20 Mbit/s. Download: its LAN egress shaped to
// 100 Mbit/s (this machine's namespaces carry that: the bulk reaches about 95 Mbit/s). EF budget 30%.
// Each direction, one run each:
//   idle          callqos shaping, voice marked EF, no bulk
//   callqos       callqos shaping, bulk TCP, voice marked EF (the priority class); beside it, in
//                 the same run, a second voice flow left unmarked: a call the agent did not admit,
//                 which waits in the best-effort class with the bulk (callqos_unadmitted)
//   no_callqos    the same rate but one HTB class with the kernel's default 1,000-packet FIFO and
//                 the voice unmarked: what a router without callqos amounts to, since the queue
//                 then forms at the bottleneck and that is a plain FIFO (MEASURED.md's case). Not
//                 "our HTB with voice unmarked": that is the unmarked flow above, and it also
//                 measures our bounded best-effort queue, not the absence of QoS.
//
// Voice: 50 packets/s of 200-byte IPv4 packets (G.711, 20 ms), marked by the sender's socket
// (IP_TOS), which is what the qdisc sees whether the phone or the agent's forward hook set it.
// Each payload holds its send time from CLOCK_MONOTONIC, which every namespace shares, and the
// receiver subtracts it: one-way delay with one clock. Bulk: iperf3 -C cubic (the default here is
// bbr, which keeps queues short by itself; most LAN hosts run cubic).
//
// `node bench/voice-under-load.mjs` runs it alone; `npm run bench` merges it into latest.json.
// Needs root; otherwise returns one metric saying it was skipped. Writes
// bench/results/voice-under-load.json when it measured.
import { build } from 'esbuild';
import { ADDR, buildRouterLab, Lab, missing, sleep } from './lab.mjs';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const UP_KBIT = 20_000;
const DOWN_KBIT = 100_000;
const EF_BUDGET_PERCENT = 30;
const BULK_SECONDS = 11;
// Voice starts once cubic has left slow start and filled the queue, and ends before the bulk.
const VOICE_DELAY_MS = 2_000;
const VOICE_PACKETS = 400;
const IDLE_PACKETS = 250;
const EF_TOS = 46 << 2;

const PROBE = String.raw`
import json, socket, struct, sys, time
def now():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)
if sys.argv[1] == 'send':
    src, dst, port, tos, count = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    s.bind((src, 0))
    pad = bytes(172 - 12)  # 172 + 8 (UDP) + 20 (IPv4) = 200 bytes
    start = now()
    for seq in range(count):
        wait = start + seq * 20000000 - now()
        if wait > 0:
            time.sleep(wait / 1e9)
        s.sendto(struct.pack('!IQ', seq, now()) + pad, (dst, port))
else:
    addr, port, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((addr, port))
    s.settimeout(0.1)
    sys.stderr.write('ready\n')
    sys.stderr.flush()
    end = now() + int(seconds * 1e9)
    delays = {}
    while now() < end:
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        arrived = now()
        seq, sent = struct.unpack_from('!IQ', data)
        delays[seq] = (arrived - sent) / 1e6
    print(json.dumps(list(delays.values())))
`;

/** Starts argv in ns; `ready` resolves once its output shows readyText (if given), `done` with its stdout. */
function start(lab, ns, argv, readyText) {
  const child = lab.spawn(ns, argv);
  let out = '';
  let err = '';
  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));
  const seen = () => readyText !== undefined && (out + err).includes(readyText) && onReady();
  child.stdout.on('data', (d) => ((out += d), seen()));
  child.stderr.on('data', (d) => ((err += d), seen()));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      onReady();
      if (status === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')} in ${ns} exited ${status}: ${err.trim()}`));
    });
  });
  // Awaited later; until then a failure must not end the process before close() has run.
  done.catch(() => {});
  return { ready, done };
}

function applyTc(ns, commands) {
  for (const { argv, mayFail } of commands) {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'tc', ...argv], { encoding: 'utf8' });
    if (r.status !== 0 && !mayFail) throw new Error(`tc ${argv.join(' ')}: ${r.stderr.trim()}`);
  }
}

/** One HTB class at the link rate over the kernel's default 1,000-packet FIFO: no classification. */
function singleFifo(dev, kbit) {
  const burst = `${Math.max(1600, Math.ceil(kbit / 8))}b`;
  return [
    { argv: ['qdisc', 'del', 'dev', dev, 'root'], mayFail: true },
    { argv: ['qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1'], mayFail: false },
    { argv: ['class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', `${kbit}kbit`, 'ceil', `${kbit}kbit`, 'burst', burst, 'cburst', burst, 'quantum', '1514'], mayFail: false },
    { argv: ['qdisc', 'add', 'dev', dev, 'parent', '1:1', 'handle', '10:', 'pfifo', 'limit', '1000'], mayFail: false },
  ];
}

function summary(delays, sent) {
  const sorted = [...delays].sort((a, b) => a - b);
  const rank = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { p50: rank(50), p99: rank(99), lossPercent: (100 * (sent - sorted.length)) / sent, received: sorted.length, sent };
}

/** Voice flows (and bulk TCP, if any) through the router; returns each flow's summary. */
async function measure(lab, ns, { way, flows, packets, bulk, port }) {
  const [senderNs, senderAddr, receiverNs, receiverAddr] = way === 'up' ? [ns.phone, ADDR.phone, ns.far, ADDR.far] : [ns.far, ADDR.far, ns.phone, ADDR.phone];
  const listenS = (bulk ? VOICE_DELAY_MS / 1000 : 0) + (packets * 20) / 1000 + 2;
  const receivers = flows.map((_, i) => start(lab, receiverNs, ['python3', '-c', PROBE, 'recv', receiverAddr, String(port + 1 + i), String(listenS)], 'ready'));
  await Promise.all(receivers.map((r) => r.ready));
  let iperf = null;
  if (bulk) {
    const server = start(lab, ns.far, ['iperf3', '-s', '-1', '--forceflush', '-B', ADDR.far, '-p', String(port)], 'Server listening');
    await server.ready;
    const client = start(lab, ns.phone, ['iperf3', '-c', ADDR.far, '-p', String(port), '-t', String(BULK_SECONDS), '-C', 'cubic', '-J', ...(way === 'down' ? ['-R'] : [])]);
    iperf = Promise.all([client.done, server.done]).then(([json]) => JSON.parse(json));
    iperf.catch(() => {});
    await sleep(VOICE_DELAY_MS);
  }
  const senders = flows.map((flow, i) => start(lab, senderNs, ['python3', '-c', PROBE, 'send', senderAddr, receiverAddr, String(port + 1 + i), String(flow.tos), String(packets)]));
  await Promise.all(senders.map((s) => s.done));
  const results = {};
  for (const [i, flow] of flows.entries()) results[flow.name] = summary(JSON.parse(await receivers[i].done), packets);
  if (iperf) {
    const report = await iperf;
    results.bulk = { mbit: report.end.sum_received.bits_per_second / 1e6, congestion: report.end.sender_tcp_congestion };
  }
  return results;
}

async function renderer() {
  const outfile = join(root, 'dist', 'bench', 'queueing.mjs');
  await build({ entryPoints: [join(root, 'src/core/queueing/index.ts')], outfile, bundle: true, format: 'esm', platform: 'neutral', logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

function metricsOf(runs) {
  const metrics = {};
  const put = (name, value, unit, note) => (metrics[`voice_under_load.${name}`] = { value: +value.toFixed(unit === 'ms' ? 3 : 2), unit, note });
  for (const [way, cases] of Object.entries(runs)) {
    const rate = `${(way === 'up' ? UP_KBIT : DOWN_KBIT) / 1000} Mbit/s ${way === 'up' ? 'WAN' : 'LAN'} egress`;
    for (const [name, r] of Object.entries(cases)) {
      if (name.endsWith('bulk')) {
        put(`${way}.${name}_mbit`, r.mbit, 'Mbit/s', `iperf3 ${r.congestion} throughput, shaped to ${rate}`);
        continue;
      }
      const note = `${rate}, ${r.received}/${r.sent} voice packets`;
      put(`${way}.${name}.p50_ms`, r.p50, 'ms', note);
      put(`${way}.${name}.p99_ms`, r.p99, 'ms', note);
      put(`${way}.${name}.loss_percent`, r.lossPercent, '%', note);
    }
  }
  return metrics;
}

/** Runs the benchmark; returns its metrics ({ name: { value, unit, note } }). */
export async function voiceUnderLoad() {
  const reason = missing(['ip', 'tc', 'iperf3', 'python3']);
  if (reason !== null) {
    console.warn(`voice-under-load: skipped, ${reason}`);
    return { 'voice_under_load.skipped': { value: 1, unit: 'flag', note: `skipped: ${reason}` } };
  }
  const { renderTc } = await renderer();
  const started = Date.now();
  const lab = new Lab('vl');
  const interrupted = () => {
    lab.close();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const ns = buildRouterLab(lab, { wireFrames: true });
    const callqos = renderTc({ wanDevice: 'wan', lanDevice: 'br-lan', uplinkKbit: UP_KBIT, downlinkKbit: DOWN_KBIT, efBudgetPercent: EF_BUDGET_PERCENT, backend: 'htb' });
    if (!callqos.ok) throw new Error(callqos.error.message);
    const ef = { name: 'ef', tos: EF_TOS };
    const unmarked = { name: 'unmarked', tos: 0 };
    const runs = { up: {}, down: {} };

    applyTc(ns.router, callqos.value);
    for (const [i, way] of ['up', 'down'].entries()) {
      runs[way].idle = (await measure(lab, ns, { way, flows: [ef], packets: IDLE_PACKETS, bulk: false, port: 5000 + 100 * i })).ef;
    }
    for (const [i, way] of ['up', 'down'].entries()) {
      const withQos = await measure(lab, ns, { way, flows: [ef, unmarked], packets: VOICE_PACKETS, bulk: true, port: 5200 + 100 * i });
      runs[way].callqos = withQos.ef;
      runs[way].callqos_unadmitted = withQos.unmarked;
      runs[way].callqos_bulk = withQos.bulk;
    }

    applyTc(ns.router, [...singleFifo('wan', UP_KBIT), ...singleFifo('br-lan', DOWN_KBIT)]);
    for (const [i, way] of ['up', 'down'].entries()) {
      const without = await measure(lab, ns, { way, flows: [unmarked], packets: VOICE_PACKETS, bulk: true, port: 5400 + 100 * i });
      runs[way].no_callqos = without.unmarked;
      runs[way].no_callqos_bulk = without.bulk;
    }

    const metrics = metricsOf(runs);
    metrics['voice_under_load.seconds'] = { value: +((Date.now() - started) / 1000).toFixed(1), unit: 's', note: 'the whole benchmark, namespaces included' };
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'voice-under-load.json'), JSON.stringify(metrics, null, 2) + '\n');
    return metrics;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    lab.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  voiceUnderLoad().then(
    (metrics) => {
      const width = Math.max(...Object.keys(metrics).map((k) => k.length));
      for (const [name, m] of Object.entries(metrics)) console.log(`${name.padEnd(width)}  ${String(m.value).padStart(10)} ${m.unit}`);
    },
    (err) => {
      console.error(`voice-under-load: ${err.message}`);
      process.exit(1);
    },
  );
}
