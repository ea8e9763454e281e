#!/usr/bin/env node
// "Footprint": what the router agent costs a router in flash and in RAM.
//
// - The bundle, dist/agent/callqos-agent.js as `npm run build` writes it (minified), and gzipped
//   (about what the package takes in flash). Target: at most 150 KB.
// - The daemon's resident memory under the real qjs 2021-03-27, in a network namespace of this
//   run's own with real nftables: VmRSS (now) and VmHWM (the peak since it started, start-up
//   included) from /proc/<pid>/status of the qjs process, once it has converged and then idled
//   for SETTLE_MS (so that its 2 s table check has run). With the lab config's 4 gates, and with
//   1,000 (the lab's 4 plus 996 from its state file). Target: at most 8 MB. The `nft` processes
//   it spawns are not counted here: see classification-at-scale's peak memory figures for them.
//
// `node bench/footprint.mjs` runs it alone (after `npm run build`); `npm run bench` merges it into
// latest.json. Without root the memory part is skipped (one metric says so); the bundle is
// measured anyway. Writes bench/results/footprint.json when it measured.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { AGENT_BUNDLE, Daemon, benchConfig, makeGates, printMetrics, projectCode, root, stateFile } from './classification-at-scale.mjs';
import { dropTable, Lab, missing, sleep } from './lab.mjs';

const SETTLE_MS = 2_500;
const LAB_GATES = 4;
const MANY = 1_000;

/** Runs the benchmark; returns its metrics ({ name: { value, unit, note } }). */
export async function footprint() {
  const metrics = {};
  const put = (name, value, unit, note) => (metrics[`footprint.${name}`] = { value: unit === 'MiB' ? +value.toFixed(2) : unit === 's' ? +value.toFixed(1) : Math.round(value), unit, note });

  if (!existsSync(AGENT_BUNDLE)) {
    const { buildQuickjsBundle } = await import('../scripts/build.mjs');
    await buildQuickjsBundle(join(root, 'src/agent/entry/quickjs.ts'), AGENT_BUNDLE);
  }
  const bytes = statSync(AGENT_BUNDLE).size;
  put('bundle.bytes', bytes, 'bytes', `dist/agent/callqos-agent.js, minified (${(bytes / 1024).toFixed(1)} KiB; target <= 150 KB)`);
  put('bundle.gzip_bytes', gzipSync(readFileSync(AGENT_BUNDLE)).length, 'bytes', 'the same, gzipped');

  const reason = missing(['ip', 'nft', 'mkfifo']);
  if (reason !== null) {
    console.warn(`footprint: memory skipped, ${reason}`);
    metrics['footprint.skipped'] = { value: 1, unit: 'flag', note: `agent memory skipped: ${reason}` };
    return metrics;
  }
  const { ensureQjs } = await import('../scripts/qjs-build.mjs');
  const qjs = ensureQjs();
  const code = await projectCode();
  const started = Date.now();
  const lab = new Lab('fp');
  const temp = mkdtempSync(join(tmpdir(), 'callqos-footprint-'));
  const daemons = [];
  const interrupted = () => {
    lab.close();
    rmSync(temp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const router = lab.ns('rtr');
    for (const [total, fromState] of [[LAB_GATES, 0], [MANY, MANY - LAB_GATES]]) {
      dropTable(lab, router);
      const stateDir = join(temp, `state${total}`);
      mkdirSync(stateDir, { recursive: true });
      if (fromState > 0) writeFileSync(join(stateDir, 'state.json'), stateFile(code, makeGates(fromState)));
      const config = join(temp, `callqos${total}`);
      writeFileSync(config, benchConfig(stateDir, { withLabGates: true }));
      const daemon = new Daemon(lab, router, qjs, config).start();
      daemons.push(daemon);
      const converged = await daemon.waitFor('data plane converged', 30_000);
      if (converged === null) throw new Error(`agent with ${total} gates did not converge within 30 s: ${daemon.proc.text.slice(-1000)}`);
      if (!daemon.proc.text.includes(`gates=${total}`)) throw new Error(`agent did not hold ${total} gates: ${daemon.proc.text.slice(-1000)}`);
      await sleep(SETTLE_MS);
      const { rssKiB, hwmKiB } = daemon.memory();
      const what = `qjs agent daemon, ${total} gates${fromState > 0 ? ` (${LAB_GATES} in the lab config, ${fromState} from its state file)` : ' (the lab config)'}, ${SETTLE_MS / 1000} s after it converged`;
      put(`agent_${total}_gates.rss_mib`, rssKiB / 1024, 'MiB', `VmRSS of the ${what} (target <= 8 MB)`);
      put(`agent_${total}_gates.hwm_mib`, hwmKiB / 1024, 'MiB', `VmHWM (peak since start, start-up included) of the ${what}`);
      put(`agent_${total}_gates.converged_ms`, converged, 'ms', `start until it logged "data plane converged"`);
      await daemon.stop();
    }
    put('seconds', (Date.now() - started) / 1000, 's', 'the memory part, namespace included');
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'footprint.json'), JSON.stringify(metrics, null, 2) + '\n');
    return metrics;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    for (const d of daemons) await d.stop();
    lab.close();
    rmSync(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  footprint().then(printMetrics, (err) => {
    console.error(`footprint: ${err.message}`);
    process.exit(1);
  });
}
