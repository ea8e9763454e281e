/**
 * `callqos-cloud clearinghouse …`: run the clearinghouse, make its signing key, print settlement.
 *
 *   clearinghouse keygen --id <issuer> --key <private.pem> --public <keys.json>
 *   clearinghouse run --id <issuer> --key <private.pem> --policy <policy.json> --broker <url> [--store <url>] ...
 *   clearinghouse settlement --store <url> --from <ISO time> --to <ISO time>
 */
import { ArgsError, checked, lastValue, parseOrExit, usageOf, type CliIo, type CommandSpec, type OptionSpec, type ParsedArgs } from '../cli/args.ts';
import { runService } from '../cli/service.ts';
import { announce, DEFAULT_LOG_SETTINGS, libraryLog, LOG_OPTIONS, parseLogFormat, parseLogLevel, processLogger } from '../cli/logging.ts';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { connectServerMqtt } from '../mqtt/client.ts';
import { generateSigningKey, loadSigningKey } from './keys.ts';
import { startClearinghouse } from './node.ts';
import { settlementOf } from './service.ts';
import { loadPolicy } from './policy.ts';
import { openClearinghouseStore } from './store/index.ts';
import { BROKER_LOGIN_OPTIONS, readPasswordFile } from '../cli/broker-login.ts';

const ID_OPTION: OptionSpec = { name: 'id', value: '<issuer>', help: "the clearinghouse's id: the tokens' issuer and its broker login (required)" };
const KEY_OPTION: OptionSpec = { name: 'key', value: '<private.pem>', help: 'its Ed25519 signing key (required)' };
const STORE_DEFAULT = 'sqlite:data/clearinghouse.db';

export const KEYGEN_COMMAND: CommandSpec = {
  name: 'callqos-cloud clearinghouse keygen',
  summary: 'Makes an Ed25519 signing key (mode 0600) and the public key set policy servers load.',
  options: [ID_OPTION, KEY_OPTION, { name: 'public', value: '<keys.json>', help: 'where to write the public key set (required)' }],
};

export const RUN_COMMAND: CommandSpec = {
  name: 'callqos-cloud clearinghouse run',
  summary: 'Serves callqos/v1/ch/+/req: authorization tokens, usage indications and CDRs.',
  options: [
    ID_OPTION,
    KEY_OPTION,
    { name: 'policy', value: '<policy.json>', help: 'the domains it serves, their agreements and tariffs (required)' },
    { name: 'broker', value: '<url>', help: 'mqtt://host:port (required)' },
    { name: 'store', value: '<url>', help: `where CDRs are kept: sqlite:<file> or postgres://... (default ${STORE_DEFAULT})` },
    ...BROKER_LOGIN_OPTIONS,
    { name: 'share-group', value: '<name>', help: 'shared subscriptions for several instances (Mosquitto, EMQX)' },
    ...LOG_OPTIONS,
  ],
};

export const SETTLEMENT_COMMAND: CommandSpec = {
  name: 'callqos-cloud clearinghouse settlement',
  summary: 'Prints, as JSON, what each domain owes another for the calls that ended in [from, to).',
  options: [
    { name: 'store', value: '<url>', help: 'the CDR store (required)' },
    { name: 'from', value: '<ISO time>', help: 'start of the period, e.g. 2026-11-01T00:00:00Z (required)' },
    { name: 'to', value: '<ISO time>', help: 'end of the period, not included (required)' },
  ],
};

export const CLEARINGHOUSE_COMMAND: CommandSpec = {
  name: 'callqos-cloud clearinghouse',
  synopsis: '<keygen|run|settlement> [options]',
  summary: 'The clearinghouse: authorization tokens, CDRs and settlement.',
  options: [],
  epilogue: `commands (each with --help):
  keygen       ${KEYGEN_COMMAND.summary}
  run          ${RUN_COMMAND.summary}
  settlement   ${SETTLEMENT_COMMAND.summary}`,
};

/** The value of each required option, or an ArgsError naming the first one missing. */
function required(parsed: ParsedArgs, spec: CommandSpec, flags: readonly string[]): string[] {
  return flags.map((flag) => {
    const value = lastValue(parsed, flag);
    if (value === undefined) throw new ArgsError(`${flag} is required (see ${spec.name} --help)`);
    return value;
  });
}

function checkId(id: string): string {
  if (!DEVICE_ID.test(id)) throw new ArgsError('--id must be letters, digits, . _ - (up to 64)');
  return id;
}

function time(text: string, flag: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new ArgsError(`${flag} wants an ISO 8601 time such as 2026-11-01T00:00:00Z, got ${JSON.stringify(text)}`);
  return ms;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const f = parseOrExit(RUN_COMMAND, argv, io);
  if (typeof f === 'number') return f;
  const [id, keyFile, policyFile, broker] = required(f, RUN_COMMAND, ['--id', '--key', '--policy', '--broker']) as [string, string, string, string];
  checkId(id);
  const logSettings = {
    level: checked(parseLogLevel(lastValue(f, '--log-level') ?? DEFAULT_LOG_SETTINGS.level)),
    format: checked(parseLogFormat(lastValue(f, '--log-format') ?? DEFAULT_LOG_SETTINGS.format)),
  };
  const log = processLogger(logSettings, 'callqos-clearinghouse');
  return runService(log, async () => {
    const key = loadSigningKey(keyFile, id);
    const policy = loadPolicy(policyFile);
    const shareGroup = lastValue(f, '--share-group');
    const store = openClearinghouseStore(lastValue(f, '--store') ?? STORE_DEFAULT);
    await store.migrate();
    const passwordFile = lastValue(f, '--broker-password-file');
    const bus = await connectServerMqtt({
      url: broker,
      clientId: id,
      username: lastValue(f, '--broker-user') ?? id,
      password: readPasswordFile(passwordFile),
      shareGroup,
      log: libraryLog(log, 'mqtt'),
    });
    const node = await startClearinghouse({ id, bus, store, key, policy, log, shareGroup });
    announce(logSettings, 'callqos-clearinghouse', `callqos clearinghouse ${id}: key ${key.kid}, ${policy.domains.length} domain(s), MQTT ${broker}, store ${store.backend}`);
    return async () => {
      await node.stop();
      await node.idle();
      await store.close();
    };
  });
}

export async function runClearinghouseCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'keygen': {
      const f = parseOrExit(KEYGEN_COMMAND, rest, io);
      if (typeof f === 'number') return f;
      const [id, keyFile, publicFile] = required(f, KEYGEN_COMMAND, ['--id', '--key', '--public']) as [string, string, string];
      const key = generateSigningKey(checkId(id), keyFile, publicFile);
      io.out(`key ${key.kid} for issuer ${key.issuer}: private ${keyFile}, public key set ${publicFile}`);
      return 0;
    }
    case 'run':
      return run(rest, io);
    case 'settlement': {
      const f = parseOrExit(SETTLEMENT_COMMAND, rest, io);
      if (typeof f === 'number') return f;
      const [storeUrl, fromText, toText] = required(f, SETTLEMENT_COMMAND, ['--store', '--from', '--to']) as [string, string, string];
      const from = time(fromText, '--from');
      const to = time(toText, '--to');
      const store = openClearinghouseStore(storeUrl);
      await store.migrate();
      try {
        const lines = await settlementOf(store, from, to);
        io.out(JSON.stringify({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), lines }, null, 2));
      } finally {
        await store.close();
      }
      return 0;
    }
    default: {
      const parsed = parseOrExit(CLEARINGHOUSE_COMMAND, argv, io);
      if (typeof parsed === 'number') return parsed;
      io.err(command === undefined ? usageOf(CLEARINGHOUSE_COMMAND).trimEnd() : `callqos-cloud clearinghouse: unknown command ${JSON.stringify(command)} (keygen, run, settlement)`);
      return 2;
    }
  }
}
