#!/usr/bin/env node
// `npm run bench`: runs the benchmark cases under real qjs and under Node in one run, prints them
// side by side with the ratio, and writes everything to bench/results/latest.json.
// Figures from a shared machine are noisy: compare within one run, not across runs.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildQuickjsBundle } from '../scripts/build.mjs';
import { ensureQjs } from '../scripts/qjs-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bench');
const agentBundle = join(root, 'dist', 'agent', 'callqos-agent.js');

function runJson(argv, env) {
  const run = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  if (run.status !== 0) throw new Error(`${argv.join(' ')} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

async function main() {
  const qjs = ensureQjs();
  const quickjsEntry = join(out, 'bench-quickjs.js');
  const nodeEntry = join(out, 'bench-node.mjs');
  mkdirSync(out, { recursive: true });
  const agentSize = await buildQuickjsBundle(join(root, 'src/agent/entry/quickjs.ts'), agentBundle);
  await buildQuickjsBundle(join(root, 'bench/entries/quickjs.ts'), quickjsEntry);
  await build({ entryPoints: [join(root, 'bench/entries/node.ts')], outfile: nodeEntry, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });

  const temp = mkdtempSync(join(tmpdir(), 'callqos-bench-'));
  try {
    const env = { CALLQOS_BENCH_TMP: temp };
    const quickjs = runJson([qjs, quickjsEntry], env).results;
    // QuickJS 2021-03-27 closes every descriptor up to the open-file limit in each forked child:
    // with this machine's limit that dominates a spawn. OpenWrt runs services with 1024.
    const quickjsOpenWrtLimit = runJson(['sh', '-c', 'ulimit -n 1024 && exec "$@"', 'sh', qjs, quickjsEntry], env).results;
    const node = runJson([process.execPath, nodeEntry], env).results;
    const comparisons = {};
    for (const name of Object.keys(quickjs)) {
      comparisons[name] = {
        quickjs: quickjs[name],
        quickjsNofile1024: quickjsOpenWrtLimit[name],
        node: node[name],
        quickjsToNodeTimeRatio: +(quickjs[name].ms / node[name].ms).toFixed(2),
        quickjsNofile1024ToNodeTimeRatio: +(quickjsOpenWrtLimit[name].ms / node[name].ms).toFixed(2),
      };
    }
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, quickjs: '2021-03-27' },
      agentBundle: agentSize,
      hostCases: comparisons,
    };
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'latest.json'), JSON.stringify(report, null, 2) + '\n');
    console.log(`agent bundle: ${agentSize.bytes} bytes, ${agentSize.gzipBytes} gzipped`);
    for (const [name, c] of Object.entries(comparisons)) {
      console.log(
        `${name}: qjs ${c.quickjs.ms.toFixed(1)} ms (nofile 1024: ${c.quickjsNofile1024.ms.toFixed(1)} ms), node ${c.node.ms.toFixed(1)} ms` +
          ` (qjs/node ${c.quickjsToNodeTimeRatio}x, with nofile 1024 ${c.quickjsNofile1024ToNodeTimeRatio}x)`,
      );
    }
    console.log('written to bench/results/latest.json');
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
