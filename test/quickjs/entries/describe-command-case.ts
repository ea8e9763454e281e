/** One case of test/quickjs/command-args.test.ts, described the same way under qjs and Node. */
import { parseCommandArgs, splitDiagnostics, type DiagnosticsSection } from '../../../src/core/fleet/router/command-args.ts';
import type { CommandName } from '../../../src/core/protocol/messages/fleet.ts';

export type CommandCase = { name: CommandName; args: Record<string, string> } | { split: DiagnosticsSection[]; limit: number };

export function describeCommandCase(c: CommandCase): unknown {
  try {
    return 'split' in c ? splitDiagnostics(c.split, c.limit) : parseCommandArgs(c.name, c.args);
  } catch (err) {
    return { threw: String(err) };
  }
}
