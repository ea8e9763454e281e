import { createNodeHost } from '../../src/hosts/node/index.ts';
import { runBenchCases } from './cases.ts';

const host = createNodeHost();
runBenchCases(host, host.args[0]).then(
  () => host.exit(0),
  (err) => {
    host.writeErrLine(String(err));
    host.exit(1);
  },
);
