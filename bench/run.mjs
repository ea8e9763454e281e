#!/usr/bin/env node
// `npm run bench`: runs the benchmark cases under real qjs and under Node in one run, prints a
// table, and writes bench/results/latest.json as { "metric": { "value", "unit", "note" } }.
// Figures from a shared machine are noisy: compare within one run (the ratios), not across runs.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildQuickjsBundle } from '../scripts/build.mjs';
import { ensureQjs } from '../scripts/qjs-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bench');

function runJson(argv, env) {
  const run = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  if (run.status !== 0) throw new Error(`${argv.join(' ')} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()).results;
}

async function bundles() {
  mkdirSync(out, { recursive: true });
  const agent = await buildQuickjsBundle(join(root, 'src/agent/entry/quickjs.ts'), join(root, 'dist', 'agent', 'callqos-agent.js'));
  const codec = await buildQuickjsBundle(join(root, 'src/core/protocol/index.ts'), join(out, 'codec-only.js'));
  await buildQuickjsBundle(join(root, 'bench/entries/quickjs.ts'), join(out, 'bench-quickjs.js'));
  await build({ entryPoints: [join(root, 'bench/entries/node.ts')], outfile: join(out, 'bench-node.mjs'), bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
  return { agent, codec };
}

async function main() {
  const qjs = ensureQjs();
  const sizes = await bundles();
  const metrics = {
    'bundle.agent.bytes': { value: sizes.agent.bytes, unit: 'bytes', note: 'dist/agent/callqos-agent.js, minified' },
    'bundle.agent.gzip_bytes': { value: sizes.agent.gzipBytes, unit: 'bytes', note: 'the same, gzipped' },
    'bundle.codec.bytes': { value: sizes.codec.bytes, unit: 'bytes', note: 'message envelope and schemas alone, minified' },
  };

  const temp = mkdtempSync(join(tmpdir(), 'callqos-bench-'));
  try {
    const env = { CALLQOS_BENCH_TMP: temp };
    const runs = {
      qjs: runJson([qjs, join(out, 'bench-quickjs.js')], env),
      // QuickJS 2021-03-27 closes every descriptor up to the open-file limit in each forked child:
      // with this machine's limit that dominates a spawn. OpenWrt runs services with 1024.
      qjs_nofile1024: runJson(['sh', '-c', 'ulimit -n 1024 && exec "$@"', 'sh', qjs, join(out, 'bench-quickjs.js')], env),
      node: runJson([process.execPath, join(out, 'bench-node.mjs')], env),
    };
    for (const name of Object.keys(runs.qjs)) {
      for (const [runtime, results] of Object.entries(runs)) {
        metrics[`host.${name}.${runtime}_ms`] = { value: +results[name].ms.toFixed(1), unit: 'ms', note: JSON.stringify(results[name]) };
      }
      metrics[`host.${name}.qjs_to_node_time_ratio`] = { value: +(runs.qjs[name].ms / runs.node[name].ms).toFixed(2), unit: 'ratio', note: 'same run, same machine' };
      metrics[`host.${name}.qjs_nofile1024_to_node_time_ratio`] = { value: +(runs.qjs_nofile1024[name].ms / runs.node[name].ms).toFixed(2), unit: 'ratio', note: 'same run, same machine' };
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  Object.assign(metrics, await (await import('./voice-under-load.mjs')).voiceUnderLoad());
  Object.assign(metrics, await (await import('./classification-at-scale.mjs')).classificationAtScale());
  Object.assign(metrics, await (await import('./footprint.mjs')).footprint());
  Object.assign(metrics, await (await import('./setup-latency.mjs')).setupLatency());
  Object.assign(metrics, await (await import('./throughput.mjs')).throughput());
  Object.assign(metrics, await (await import('./sip.mjs')).sipBench());

  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'latest.json'), JSON.stringify(metrics, null, 2) + '\n');
  const width = Math.max(...Object.keys(metrics).map((k) => k.length));
  for (const [name, m] of Object.entries(metrics)) console.log(`${name.padEnd(width)}  ${String(m.value).padStart(10)} ${m.unit}`);
  console.log('written to bench/results/latest.json');
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
