import { createQuickjsHost } from '../../src/hosts/quickjs/index.ts';
import { runBenchCases } from './cases.ts';

const host = createQuickjsHost();
runBenchCases(host, host.args[0]).then(
  () => host.exit(0),
  (err) => {
    host.writeErrLine(String(err));
    host.exit(1);
  },
);
