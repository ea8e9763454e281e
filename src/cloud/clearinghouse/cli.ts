/**
 * `callqos-cloud clearinghouse …`: run the clearinghouse, make its signing key, print settlement.
 *
 *   clearinghouse keygen --id <issuer> --key <private.pem> --public <keys.json>
 *   clearinghouse run --id <issuer> --key <private.pem> --policy <policy.json> --broker <url> [--store <url>] ...
 *   clearinghouse settlement --store <url> --from <ISO time> --to <ISO time>
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../core/log.ts';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { connectServerMqtt } from '../mqtt/client.ts';
import { generateSigningKey, loadSigningKey } from './keys.ts';
import { startClearinghouse } from './node.ts';
import { settlementOf } from './service.ts';
import { loadPolicy } from './policy.ts';
import { openClearinghouseStore } from './store/index.ts';

export const CLEARINGHOUSE_USAGE = `callqos-cloud clearinghouse: authorization tokens, CDRs and settlement

  clearinghouse keygen --id <issuer> --key <private.pem> --public <keys.json>
      makes an Ed25519 signing key (mode 0600) and the public key set policy servers load
  clearinghouse run --id <issuer> --key <private.pem> --policy <policy.json> --broker <mqtt://host:port>
      [--store <url>] [--broker-user <name>] [--broker-password-file <file>] [--share-group <name>] [--log-level <level>]
      serves callqos/v1/ch/+/req (store default sqlite:data/clearinghouse.db)
  clearinghouse settlement --store <url> --from <ISO time> --to <ISO time>
      prints, as JSON, what each domain owes another for the calls that ended in [from, to)
`;

type Flags = Map<string, string>;

function parseFlags(argv: readonly string[], allowed: readonly string[], required: readonly string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!allowed.includes(flag)) throw new Error(`unknown option ${flag} (see clearinghouse --help)`);
    if (value === undefined) throw new Error(`${flag} needs a value`);
    flags.set(flag, value);
  }
  for (const flag of required) if (!flags.has(flag)) throw new Error(`${flag} is required (see clearinghouse --help)`);
  const id = flags.get('--id');
  if (id !== undefined && !DEVICE_ID.test(id)) throw new Error('--id must be letters, digits, . _ - (up to 64)');
  return flags;
}

function time(text: string, flag: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new Error(`${flag} wants an ISO 8601 time such as 2026-11-01T00:00:00Z, got ${JSON.stringify(text)}`);
  return ms;
}

async function run(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, ['--id', '--key', '--policy', '--broker', '--store', '--broker-user', '--broker-password-file', '--share-group', '--log-level'], ['--id', '--key', '--policy', '--broker']);
  const logLevel = (f.get('--log-level') ?? 'info') as 'debug' | 'info' | 'warn' | 'error';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new Error('--log-level is debug, info, warn or error');
  const log = createLogger((line) => process.stderr.write(`${line}\n`), logLevel, { service: 'callqos-clearinghouse' });
  const id = f.get('--id')!;
  const key = loadSigningKey(f.get('--key')!, id);
  const policy = loadPolicy(f.get('--policy')!);
  const store = openClearinghouseStore(f.get('--store') ?? 'sqlite:data/clearinghouse.db');
  await store.migrate();
  const passwordFile = f.get('--broker-password-file');
  const bus = await connectServerMqtt({
    url: f.get('--broker')!,
    clientId: id,
    username: f.get('--broker-user') ?? id,
    password: passwordFile === undefined ? undefined : readFileSync(passwordFile, 'utf8').trim(),
    shareGroup: f.get('--share-group'),
  });
  const node = await startClearinghouse({ id, bus, store, key, policy, log, shareGroup: f.get('--share-group') });
  process.stdout.write(`callqos clearinghouse ${id}: key ${key.kid}, ${policy.domains.length} domain(s), MQTT ${f.get('--broker')}, store ${store.backend}\n`);
  return new Promise<number>((resolve) => {
    const stop = () =>
      void (async () => {
        await node.stop();
        await node.idle();
        await store.close();
        resolve(0);
      })();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export async function runClearinghouseCli(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    out(CLEARINGHOUSE_USAGE);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'keygen': {
      const f = parseFlags(rest, ['--id', '--key', '--public'], ['--id', '--key', '--public']);
      const key = generateSigningKey(f.get('--id')!, f.get('--key')!, f.get('--public')!);
      out(`key ${key.kid} for issuer ${key.issuer}: private ${f.get('--key')}, public key set ${f.get('--public')}`);
      return 0;
    }
    case 'run':
      return run(rest);
    case 'settlement': {
      const f = parseFlags(rest, ['--store', '--from', '--to'], ['--store', '--from', '--to']);
      const from = time(f.get('--from')!, '--from');
      const to = time(f.get('--to')!, '--to');
      const store = openClearinghouseStore(f.get('--store')!);
      await store.migrate();
      try {
        const lines = await settlementOf(store, from, to);
        out(JSON.stringify({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), lines }, null, 2));
      } finally {
        await store.close();
      }
      return 0;
    }
    default:
      throw new Error(`unknown clearinghouse command ${JSON.stringify(command)} (keygen, run, settlement)`);
  }
}
