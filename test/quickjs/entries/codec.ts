/**
 * Decodes every input line of a file with the core's message codec under qjs and prints one JSON
 * result per input, for test/quickjs/codec.test.ts to compare with the same code under Node.
 * Input file: one JSON string (the payload text) per line. Usage: codec.js <inputs>
 */
import * as std from 'std';
import { decodeMessage, encodeMessage } from '../../../src/core/protocol/index.ts';
import { describeDecode } from './describe-decode.ts';

const path = scriptArgs?.[1];
const file = path ? std.open(path, 'r') : null;
if (file === null) {
  std.err.puts('usage: codec.js <inputs>\n');
  std.exit(2);
}
for (let line = file.getline(); line !== null; line = file.getline()) {
  if (line === '') continue;
  std.out.puts(JSON.stringify(describeDecode(JSON.parse(line) as string, decodeMessage, encodeMessage)) + '\n');
}
std.out.flush();
