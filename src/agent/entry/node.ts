/** Runs the same agent on Node, for development and simulations. */
import { createNodeHost } from '../../hosts/node/index.ts';
import { runAgentCli } from '../cli.ts';

const host = createNodeHost();
runAgentCli(host).then(
  (code) => host.exit(code),
  (err: unknown) => {
    host.writeErrLine(`callqos-agent: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    host.exit(70);
  },
);
