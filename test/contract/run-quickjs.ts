/**
 * Runs the host contract under real qjs and prints one JSON line per case, which
 * test/quickjs/host-contract.test.ts reads. Settings come from the environment:
 * CALLQOS_CONTRACT_TMP (an empty directory), CALLQOS_CONTRACT_CHILD (JSON argv of the child entry),
 * CALLQOS_CONTRACT_ONLY (optional case name).
 */
import * as std from 'std';
import type { Host } from '../../src/core/host/index.ts';
import { createQuickjsHost } from '../../src/hosts/quickjs/index.ts';
import { hostContract } from './host-contract.ts';

async function main(): Promise<void> {
  const host: Host = createQuickjsHost();
  const tempDir = std.getenv('CALLQOS_CONTRACT_TMP');
  const child = std.getenv('CALLQOS_CONTRACT_CHILD');
  const only = std.getenv('CALLQOS_CONTRACT_ONLY');
  if (!tempDir || !child) {
    host.writeErrLine('CALLQOS_CONTRACT_TMP and CALLQOS_CONTRACT_CHILD must be set');
    host.exit(2);
  }
  const childCommand = JSON.parse(child) as string[];
  for (const contractCase of hostContract) {
    if (only && contractCase.name !== only) continue;
    const started = host.clock.monotonicMs();
    let error: string | null = null;
    try {
      await contractCase.run({ host, tempDir, childCommand });
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    const ms = Math.round(host.clock.monotonicMs() - started);
    host.writeOut(JSON.stringify({ case: contractCase.name, ok: error === null, error, ms }) + '\n');
  }
  host.exit(0);
}

main().catch((err) => {
  std.err.puts(`contract runner crashed: ${String(err)}\n`);
  std.exit(3);
});
