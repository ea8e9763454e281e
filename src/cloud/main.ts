/**
 * `callqos-cloud`: the cloud side in one program.
 *
 *   callqos-cloud [options]              the QoS control server and its session API (see --help);
 *                                        without --broker it runs an embedded broker too
 *   callqos-cloud sip run <...>          the built-in SIP proxy
 *   callqos-cloud clearinghouse <...>    the clearinghouse: keys, service, settlement
 *   callqos-cloud credentials <...>      broker logins
 *   callqos-cloud operators <...>        operator accounts of the dashboard and its API
 *   callqos-cloud help [command]         the help of the program or of a command
 *   callqos-cloud --version
 *
 * Every command parses its arguments with the one parser in cli/args.ts and has --help.
 * `npm start` runs it with the embedded defaults: an in-process broker and a SQLite file.
 */
import { ArgsError, optionTable, parseOrExit, processIo, type CliIo } from './cli/args.ts';
import { CREDENTIALS_COMMAND, runCredentialsCli } from './broker/credentials-cli.ts';
import { CLEARINGHOUSE_COMMAND, runClearinghouseCli } from './clearinghouse/cli.ts';
import { OPERATORS_COMMAND, runOperatorsCli } from './http/operators-cli.ts';
import { SIP_RUN_COMMAND, runSipCli } from './sip/cli.ts';
import { parseServerArgs, SERVER_COMMAND, SERVER_OPTIONS } from './server/config.ts';
import { serve } from './server/serve.ts';
import { CLOUD_VERSION } from './version.ts';

const HELP = `usage: callqos-cloud [options]              run the QoS control server (options below)
       callqos-cloud <command> [arguments]

commands (each with --help):
  sip run                    ${SIP_RUN_COMMAND.summary}
  clearinghouse <keygen|run|settlement>
                             ${CLEARINGHOUSE_COMMAND.summary}
  credentials <add|rotate|remove|list>
                             ${CREDENTIALS_COMMAND.summary}
  operators <add|list>       ${OPERATORS_COMMAND.summary}
  help [command]             this help, or a command's (help sip run)

${SERVER_COMMAND.summary}

server options:
${optionTable([...SERVER_OPTIONS, { name: 'version', help: 'print the version and exit' }])}
`;

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  switch (first) {
    case 'credentials':
      return runCredentialsCli(rest, io);
    case 'operators':
      return runOperatorsCli(rest, io);
    case 'sip':
      return runSipCli(rest, io);
    case 'clearinghouse':
      return runClearinghouseCli(rest, io);
    case 'help':
      // `help <command...>` is the command's own --help.
      return rest.length === 0 ? (io.out(HELP.trimEnd()), 0) : run([...rest, '--help'], io);
    case '--version':
    case '-V':
      io.out(`callqos-cloud ${CLOUD_VERSION}`);
      return 0;
    default:
      break;
  }
  if (first !== undefined && !first.startsWith('-')) {
    io.err(`callqos-cloud: unknown command ${JSON.stringify(first)} (sip, clearinghouse, credentials, operators, help; see callqos-cloud --help)`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(HELP.trimEnd());
    return 0;
  }
  const checked = parseOrExit(SERVER_COMMAND, argv, io);
  if (typeof checked === 'number') return checked;
  const config = parseServerArgs(argv);
  if (!config.ok) {
    io.err(`callqos-cloud: ${config.error.message}`);
    return 2;
  }
  return serve(config.value);
}

run(process.argv.slice(2), processIo).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A value that fails its check after parsing is a bad command line (status 2); anything else failed while running.
    process.stderr.write(`callqos-cloud: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof ArgsError ? 2 : 1);
  },
);
