/** Entry point of the router bundle (dist/agent/callqos-agent.js), run by OpenWrt's qjs. */
import { createQuickjsHost } from '../../hosts/quickjs/index.ts';
import { runAgentCli } from '../cli.ts';

const host = createQuickjsHost();
runAgentCli(host).then(
  (code) => host.exit(code),
  (err: unknown) => {
    host.writeErrLine(`callqos-agent: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    host.exit(70); // EX_SOFTWARE
  },
);
