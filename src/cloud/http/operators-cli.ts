/**
 * `callqos-cloud operators …`: operator accounts of the dashboard and its API, from a shell (the
 * first admin, or a locked-out one).
 *
 *   callqos-cloud operators [--store <url>] add <username> [--role viewer|operator|admin] [--domain <d>]
 *                                   create an account; prints its generated password once
 *   callqos-cloud operators [--store <url>] list
 *
 * Works on the store the server uses (default sqlite:data/callqos.db, as npm start); with SQLite
 * while the server runs, both share the file (its writes wait for each other's).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { domainName, ROLES, username as usernameSchema, type Role } from '../../core/fleet/api.ts';
import { validate } from '../../core/protocol/schema.ts';
import { lastValue, parseOrExit, type CliIo, type CommandSpec } from '../cli/args.ts';
import { openFleetStore } from '../fleet/store/index.ts';
import { openStore } from '../store/index.ts';
import { newOperator } from './auth.ts';
import { generateOperatorPassword } from './passwords.ts';

const DEFAULT_STORE = 'sqlite:data/callqos.db';

export const OPERATORS_COMMAND: CommandSpec = {
  name: 'callqos-cloud operators',
  synopsis: '[options] <add|list> [arguments]',
  summary: 'Operator accounts of the dashboard and its API (viewer, operator, admin).',
  options: [
    { name: 'store', value: '<url>', help: `the server's store (default ${DEFAULT_STORE})` },
    { name: 'role', value: '<role>', help: `with add: ${ROLES.join(', ')} (default viewer)` },
    { name: 'domain', value: '<d>', help: 'with add: scope the account to one policy domain (it sees nothing of others)' },
  ],
  positionals: { min: 0, max: 2 },
  epilogue: `commands:
  add <username>             create an account and print its password (shown only once)
  list                       list accounts (username, role, domain, disabled)`,
};

export async function runOperatorsCli(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseOrExit(OPERATORS_COMMAND, argv, io);
  if (typeof parsed === 'number') return parsed;
  const storeUrl = lastValue(parsed, '--store') ?? DEFAULT_STORE;
  const roleText = lastValue(parsed, '--role');
  const domain = lastValue(parsed, '--domain') ?? null;
  const [command, ...args] = parsed.positionals;
  const usage = (line: string): number => {
    io.err(`callqos-cloud operators: ${line} (see callqos-cloud operators --help)`);
    return 2;
  };
  if (command === 'add') {
    if (args.length !== 1) return usage('add: expected <username> [--role <role>] [--domain <d>]');
    const name = validate(usernameSchema, args[0]);
    if (!name.ok) return usage(`add: the username ${name.error.message}`);
    const role = (roleText ?? 'viewer') as Role;
    if (!ROLES.includes(role)) return usage(`--role is one of ${ROLES.join(', ')}`);
    if (domain !== null && !validate(domainName, domain).ok) return usage('--domain is not a valid domain name');
  } else if (command === 'list') {
    if (args.length !== 0) return usage('list takes no arguments');
    if (roleText !== undefined || domain !== null) return usage('--role and --domain go with add only');
  } else {
    return usage(command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`);
  }

  if (storeUrl.startsWith('sqlite:') && storeUrl !== 'sqlite::memory:') mkdirSync(dirname(storeUrl.slice('sqlite:'.length)), { recursive: true });
  const store = await openStore(storeUrl);
  try {
    await store.migrate();
    const fleet = openFleetStore(store);
    await fleet.migrate();
    if (command === 'list') {
      for (const o of await fleet.listOperators()) io.out(`${o.username}\t${o.role}\t${o.domain ?? '-'}${o.disabledAtMs !== null ? '\tdisabled' : ''}`);
      return 0;
    }
    const username = args[0]!;
    if ((await fleet.getOperatorByUsername(username)) !== null) {
      io.err(`callqos-cloud operators add: ${username} exists already`);
      return 1;
    }
    const password = generateOperatorPassword();
    const now = Date.now();
    const operator = await newOperator(username, password, (roleText ?? 'viewer') as Role, domain, now);
    await fleet.createOperator(operator);
    await fleet.appendAudit({ atMs: now, actor: 'cli', action: 'operator.create', target: `operator:${username}`, before: null, after: { username, role: operator.role, domain } });
    io.out(password);
    return 0;
  } finally {
    await store.close();
  }
}
