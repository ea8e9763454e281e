/**
 * Runs the ubus cases (./ubus-scenario.ts) under real qjs and prints one JSON line per case, which
 * test/quickjs/ubus.test.ts reads. The environment gives CALLQOS_UBUS_FIXTURES (test/fixtures/ubus)
 * and CALLQOS_FAKE_UBUS (the fake's state directory); PATH starts with the fake's bin/.
 */
import * as std from 'std';
import type { Host } from '../../../src/core/host/index.ts';
import { createQuickjsHost } from '../../../src/hosts/quickjs/index.ts';
import { ubusCases } from './ubus-scenario.ts';

async function main(): Promise<void> {
  // Typed, so that host.exit (never) narrows the settings below.
  const host: Host = createQuickjsHost();
  const fixtures = std.getenv('CALLQOS_UBUS_FIXTURES');
  const state = std.getenv('CALLQOS_FAKE_UBUS');
  if (!fixtures || !state) {
    host.writeErrLine('CALLQOS_UBUS_FIXTURES and CALLQOS_FAKE_UBUS must be set');
    host.exit(2);
  }
  for (const ubusCase of ubusCases) {
    const started = host.clock.monotonicMs();
    let error: string | null = null;
    try {
      await ubusCase.run({ host, fixtures, state });
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    const ms = Math.round(host.clock.monotonicMs() - started);
    host.writeOut(JSON.stringify({ case: ubusCase.name, ok: error === null, error, ms }) + '\n');
  }
  host.exit(0);
}

main().catch((err) => {
  std.err.puts(`ubus runner crashed: ${String(err)}\n`);
  std.exit(3);
});
