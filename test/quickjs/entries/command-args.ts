/**
 * The remote commands' argument checks and the diagnostics splitter under qjs: reads one JSON case
 * per line ({name, args} or {split: sections, limit}) and prints one JSON result per case, for
 * test/quickjs/command-args.test.ts to compare with the same code under Node.
 */
import * as std from 'std';
import { describeCommandCase } from './describe-command-case.ts';

const path = scriptArgs?.[1];
const file = path ? std.open(path, 'r') : null;
if (file === null) {
  std.err.puts('usage: command-args.js <cases>\n');
  std.exit(2);
}
for (let line = file.getline(); line !== null; line = file.getline()) {
  if (line === '') continue;
  std.out.puts(JSON.stringify(describeCommandCase(JSON.parse(line))) + '\n');
}
std.out.flush();
