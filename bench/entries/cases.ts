/**
 * Benchmark cases that run on both hosts from the same code, so that QuickJS and Node are compared
 * side by side in one run. Each case returns its figures; the entry prints them as one JSON line.
 */
import type { Host } from '../../src/core/host/index.ts';
import { decodeMessage } from '../../src/core/protocol/index.ts';
import decisionInstall from '../../test/fixtures/protocol/decision.install.json';

export type Figures = Record<string, number>;

function spawnLines(host: Host, argv: readonly string[]): Promise<number> {
  let lines = 0;
  const child = host.processes.spawn(argv, { onStdoutLine: () => (lines += 1) });
  child.closeStdin();
  return child.exited.then(() => lines);
}

export const benchCases: Record<string, (host: Host) => Promise<Figures>> = {
  /** Reading a child's output line by line: what the agent does with mosquitto_sub and ubus listen. */
  async spawnMillionLines(host) {
    const start = host.clock.monotonicMs();
    const lines = await spawnLines(host, ['seq', '1', '1000000']);
    const ms = host.clock.monotonicMs() - start;
    return { lines, ms, linesPerSecond: Math.round(lines / (ms / 1000)) };
  },

  /** Starting short processes (nft, tc, ubus calls): the cost of one spawn and wait. */
  async spawnShortProcesses(host) {
    const count = 200;
    const start = host.clock.monotonicMs();
    for (let i = 0; i < count; i += 1) await spawnLines(host, ['true']);
    const ms = host.clock.monotonicMs() - start;
    return { count, ms, msPerSpawn: ms / count };
  },

  /** Decoding and validating a decision with its gates: every downlink message goes through this. */
  async decodeDecisions(host) {
    const text = JSON.stringify(decisionInstall);
    const count = 20_000;
    const start = host.clock.monotonicMs();
    for (let i = 0; i < count; i += 1) {
      if (!decodeMessage(text).ok) throw new Error('fixture did not decode');
    }
    const ms = host.clock.monotonicMs() - start;
    return { count, bytes: text.length, ms, messagesPerSecond: Math.round(count / (ms / 1000)) };
  },

  /** Replacing the state file: a 64 KiB write-then-rename. */
  async atomicWrites(host) {
    const count = 200;
    const path = `${host.getEnv('CALLQOS_BENCH_TMP') ?? '/tmp'}/bench-state.json`;
    const text = JSON.stringify({ gates: Array.from({ length: 400 }, (_, i) => ({ id: `gate-${i}`, port: 5000 + i, pad: 'x'.repeat(100) })) });
    const start = host.clock.monotonicMs();
    for (let i = 0; i < count; i += 1) {
      const written = host.files.writeAtomic(path, text);
      if (!written.ok) throw new Error(`atomic write failed: ${written.error.message}`);
    }
    const ms = host.clock.monotonicMs() - start;
    const removed = host.files.remove(path);
    if (!removed.ok) throw new Error(`cannot remove ${path}: ${removed.error.message}`);
    return { count, bytes: text.length, ms, msPerWrite: ms / count };
  },
};

export async function runBenchCases(host: Host, only?: string): Promise<void> {
  const results: Record<string, Figures> = {};
  for (const name of Object.keys(benchCases)) {
    if (only && name !== only) continue;
    results[name] = await benchCases[name]!(host);
  }
  host.writeOut(JSON.stringify({ runtime: host.runtime, results }) + '\n');
}
