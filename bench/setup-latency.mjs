// Setup latency (issue: control plane): a session request to both routers' success reports, with
// real Mosquitto, the QoS control server (SQLite) and two real qjs agents applying real nftables,
// each in its own namespace. In the same run, the floor: one broker round trip (publish, a router
// echoes it back through the broker) plus one `nft -f` of a one-gate batch on a router; and the
// ratio of the setup p99 to it. Targets: p99 at most 15 ms and at most 3x the floor.
//
// `node bench/setup-latency.mjs` runs it alone (after `npm run build`; CALLQOS_BENCH_SESSIONS sets the
// count); `npm run bench` merges it
// into latest.json. Needs root, mosquitto and the mosquitto clients.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCloudBundle } from '../scripts/build.mjs';
import { ensureQjs } from '../scripts/qjs-build.mjs';
import { agentConfig, buildTwoRouterLab, Lab, missing, sleep, ubusDump } from './lab.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SESSIONS = Number(process.env.CALLQOS_BENCH_SESSIONS ?? 1000);
const ROUND_TRIPS = 200;
const NFT_SAMPLES = 100;

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (x) => Math.round(x * 100) / 100;

async function waitLog(proc, text, ms) {
  const end = Date.now() + ms;
  while (!proc.log.includes(text)) {
    if (Date.now() > end) throw new Error(`"${text}" not seen in ${ms} ms: ${proc.log.slice(-1500)}`);
    await sleep(25);
  }
}

function logged(lab, ns, argv, env) {
  const child = lab.spawn(ns, env ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv] : argv);
  const proc = { child, log: '' };
  child.stdout.on('data', (d) => (proc.log += d));
  child.stderr.on('data', (d) => (proc.log += d));
  return proc;
}

export async function setupLatency() {
  const reason = missing(['ip', 'nft', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub']);
  if (reason) return { 'setup_latency.skipped': { value: 1, unit: 'flag', note: reason } };
  const qjs = ensureQjs();
  const cloudBundle = (await buildCloudBundle(join(root, 'dist', 'bench', 'callqos-cloud.mjs'))).file;
  const lab = new Lab('su');
  const temp = mkdtempSync(join(tmpdir(), 'callqos-bench-setup-'));
  try {
    const { cloud, routers } = buildTwoRouterLab(lab);
    writeFileSync(join(temp, 'mosquitto.conf'), 'listener 1883 0.0.0.0\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nuser root\n');
    logged(lab, cloud, ['mosquitto', '-c', join(temp, 'mosquitto.conf')]);
    await sleep(300);
    const server = logged(lab, cloud, [process.execPath, cloudBundle, '--broker', 'mqtt://127.0.0.1:1883', '--store', `sqlite:${join(temp, 'server.db')}`, '--http', '127.0.0.1:8080', '--log-level', 'warn']);
    await waitLog(server, 'session API', 15_000);
    const agents = [];
    for (const [i, name] of [[1, 'A'], [2, 'B']]) {
      const dir = join(temp, `rt${name}`);
      mkdirSync(join(dir, 'ubus'), { recursive: true });
      writeFileSync(join(root, 'dist', 'bench', `dump-rt${name}.json`), ubusDump(`198.18.${i}.1`, `10.99.${i}.2`));
      writeFileSync(join(dir, 'ubus', 'dump'), `../../../dist/bench/dump-rt${name}.json`);
      writeFileSync(join(dir, 'ubus', 'board'), 'board.json');
      writeFileSync(join(dir, 'callqos'), agentConfig({ stateDir: join(dir, 'state'), device: `rt${name}`, broker: '10.99.0.1', port: 1883 }));
      // With the open-file limit procd gives the agent (QuickJS closes every descriptor below it per spawn).
      agents.push(
        logged(lab, routers[name], ['sh', '-c', 'ulimit -n 1024 && exec "$@"', 'sh', qjs, join(root, 'dist', 'agent', 'callqos-agent.js'), 'run', '--config', join(dir, 'callqos')], {
          PATH: `${join(root, 'test', 'fixtures', 'ubus', 'bin')}:${process.env.PATH}`,
          CALLQOS_FAKE_UBUS: join(dir, 'ubus'),
        }),
      );
    }
    const t0 = Date.now();
    for (const agent of agents) await waitLog(agent, 'resynchronised', 20_000);
    if (process.env.CALLQOS_BENCH_DEBUG) console.error(`agents ready in ${Date.now() - t0} ms`);
    // The floor's echo: router A answers on the broker what it receives.
    logged(lab, routers.A, ['sh', '-c', 'mosquitto_sub --nodelay -h 10.99.0.1 -q 1 -t bench/echo/in | mosquitto_pub --nodelay -h 10.99.0.1 -q 1 -l -t bench/echo/out']);
    await sleep(500);
    // Not spawnSync: this process must go on reading the agents' logs, or they block on a full pipe.
    const driver = logged(lab, cloud, [process.execPath, join(root, 'bench', 'setup-driver.mjs'), 'mqtt://127.0.0.1:1883', 'http://127.0.0.1:8080', String(SESSIONS), String(ROUND_TRIPS)]);
    const code = await new Promise((resolve) => driver.child.on('close', resolve));
    if (code !== 0) throw new Error(`setup driver exited ${code}: ${driver.log.slice(-1000)}`);
    const results = JSON.parse(driver.log.trim().split('\n').pop());
    // The floor's nft: one gate added to router A's live table, as the agent does it.
    const nft = [];
    for (let i = 0; i < NFT_SAMPLES; i += 1) {
      const port = 30000 + i;
      const batch = `add element inet callqos up_v4_lan { 198.18.1.99 . ${port} }\nadd element inet callqos up_v4 { 198.18.1.99 . ${port} . 198.18.2.99 . ${port} counter limit rate 11000 bytes/second burst 3000 bytes timeout 600s comment "floor-${i}" : goto mark_ef_v4 }\n`;
      const started = performance.now();
      lab.in(routers.A, ['nft', '-f', '-'], { input: batch });
      nft.push(performance.now() - started);
    }
    const rtP50 = percentile(results.roundTrips, 50);
    const nftP50 = percentile(nft, 50);
    const floor = rtP50 + nftP50;
    const p50 = percentile(results.setup, 50);
    const p99 = percentile(results.setup, 99);
    const failure = results.firstFailure ? ` (first: ${JSON.stringify(results.firstFailure).slice(0, 300)})` : '';
    const note = `${SESSIONS} sessions one after another (each ended before the next), HTTP add with wait=true until both routers reported (real Mosquitto, two qjs agents, SQLite); ${results.notActive} did not end active${failure}`;
    return {
      'setup_latency.p50_ms': { value: round(p50), unit: 'ms', note },
      'setup_latency.p99_ms': { value: round(p99), unit: 'ms', note: `${note} (target at most 15 ms)` },
      'setup_latency.teardown_p50_ms': { value: round(percentile(results.teardown, 50)), unit: 'ms', note: 'HTTP delete answered (removal decisions sent; reports arrive after)' },
      'setup_latency.removal_p50_ms': { value: round(percentile(results.removal, 50)), unit: 'ms', note: 'HTTP delete until the session reads ended: both routers removed the gates and reported their usage (polled every ms)' },
      'setup_latency.floor_ms': { value: round(floor), unit: 'ms', note: `broker round trip p50 ${round(rtP50)} ms (${ROUND_TRIPS} samples) + one-gate nft -f p50 ${round(nftP50)} ms (${NFT_SAMPLES} samples), same run` },
      'setup_latency.p99_to_floor_ratio': { value: round(p99 / floor), unit: 'ratio', note: 'target at most 3' },
      'setup_latency.not_active': { value: results.notActive, unit: 'sessions', note: 'sessions whose answer was not active' },
    };
  } finally {
    lab.close();
    rmSync(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metrics = await setupLatency();
  for (const [k, v] of Object.entries(metrics)) console.log(k, v.value, v.unit, '-', v.note);
}
