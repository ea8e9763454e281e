/**
 * `callqos-cloud credentials …`: manage broker logins from a shell.
 *
 *   callqos-cloud credentials [--file <credentials.jsonl>] [--mosquitto-passwd <passwd>] [--mosquitto-acl <acl>] <command>
 *     add <device|cc|server|clearinghouse> <id> [--domain <d>]
 *                                   create a login (of policy domain d on a broker several domains
 *                                   share); prints its password once
 *     rotate <id>                   new password for an existing login; prints it once
 *     remove <id>                   delete a login
 *     list                          one line per login: id, kind and domain if any
 *
 * The file defaults to data/credentials.jsonl, beside npm start's data/callqos.db; the server's
 * embedded broker checks it when started with `--credentials data/credentials.jsonl`.
 * With --mosquitto-passwd the same login is written to Mosquitto's password file (hashed by the
 * real mosquitto_passwd); with --mosquitto-acl the ACL file is regenerated. Mosquitto rereads
 * both on SIGHUP; the embedded broker takes new credentials through setCredentials.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isPrincipalKind, PRINCIPAL_KINDS, type PrincipalKind } from '../../core/protocol/acl.ts';
import { lastValue, parseOrExit, type CliIo, type CommandSpec } from '../cli/args.ts';
import { addCredential, loadCredentials, removeCredential, rotateCredential } from './credentials.ts';
import { renderMosquittoAcl } from './mosquitto-acl.ts';
import { removeMosquittoUser, setMosquittoPassword } from './mosquitto-passwd.ts';

/** Where logins are kept unless --file says otherwise: beside npm start's store, data/callqos.db. */
export const DEFAULT_CREDENTIALS_FILE = 'data/credentials.jsonl';

// The enrolment login is made by the server itself (--identities), with rights the file-based
// Mosquitto ACL cannot give; it is not offered here.
const HAND_MADE_KINDS: readonly PrincipalKind[] = PRINCIPAL_KINDS.filter((kind) => kind !== 'enrol');
const KINDS = HAND_MADE_KINDS.join('|');

export const CREDENTIALS_COMMAND: CommandSpec = {
  name: 'callqos-cloud credentials',
  synopsis: '[options] <add|rotate|remove|list> [arguments]',
  summary: 'Broker logins: one per router, call-control client, server and clearinghouse.',
  options: [
    { name: 'file', value: '<file>', help: `the credentials file, JSON lines, mode 0600 (default ${DEFAULT_CREDENTIALS_FILE};\nthe embedded broker checks it with callqos-cloud --credentials <file>)` },
    { name: 'mosquitto-passwd', value: '<file>', help: "also write the login to Mosquitto's password file" },
    { name: 'mosquitto-acl', value: '<file>', help: "also regenerate Mosquitto's ACL file for every login" },
    { name: 'domain', value: '<d>', help: 'with add: a login of that policy domain on a broker several domains share' },
  ],
  positionals: { min: 0, max: 3 },
  epilogue: `commands:
  add <${KINDS}> <id>
                             create a login and print its password (shown only once)
  rotate <id>                give a login a new password and print it
  remove <id>                delete a login
  list                       list logins (id, kind, and domain if any)`,
};

export type { CliIo as CliOutput } from '../cli/args.ts';

/** Runs one command; returns the exit status. */
export function runCredentialsCli(argv: readonly string[], io: CliIo): number {
  const parsed = parseOrExit(CREDENTIALS_COMMAND, argv, io);
  if (typeof parsed === 'number') return parsed;
  const file = lastValue(parsed, '--file') ?? DEFAULT_CREDENTIALS_FILE;
  const passwdFile = lastValue(parsed, '--mosquitto-passwd');
  const aclFile = lastValue(parsed, '--mosquitto-acl');
  const domain = lastValue(parsed, '--domain');
  const [command, ...args] = parsed.positionals;
  const usage = (line: string): number => {
    io.err(`callqos-cloud credentials: ${line} (see callqos-cloud credentials --help)`);
    return 2;
  };
  const writeAcl = (): void => {
    if (aclFile !== undefined) writeFileSync(aclFile, renderMosquittoAcl(loadCredentials(file).values()), { mode: 0o644 });
  };
  if (domain !== undefined && command !== 'add') return usage('--domain goes with add only');
  try {
    switch (command) {
      case 'add': {
        const [kind, id] = args;
        if (args.length !== 2 || !isPrincipalKind(kind) || !HAND_MADE_KINDS.includes(kind)) return usage(`add: expected <${KINDS}> <id> [--domain <domain>]`);
        // A fresh clone has no data/ yet: make the file's directory, as npm start does for its store.
        mkdirSync(dirname(file), { recursive: true });
        const password = addCredential(file, kind, id!, domain);
        if (passwdFile !== undefined) setMosquittoPassword(passwdFile, id!, password);
        writeAcl();
        io.out(password);
        return 0;
      }
      case 'rotate': {
        if (args.length !== 1) return usage('rotate: expected <id>');
        const { password } = rotateCredential(file, args[0]!);
        if (passwdFile !== undefined) setMosquittoPassword(passwdFile, args[0]!, password);
        io.out(password);
        return 0;
      }
      case 'remove': {
        if (args.length !== 1) return usage('remove: expected <id>');
        const removed = removeCredential(file, args[0]!);
        if (passwdFile !== undefined) removeMosquittoUser(passwdFile, args[0]!);
        writeAcl();
        if (!removed) {
          io.err(`callqos-cloud credentials: no such user: ${args[0]}`);
          return 1;
        }
        return 0;
      }
      case 'list': {
        if (args.length !== 0) return usage('list takes no arguments');
        for (const entry of loadCredentials(file).values()) io.out(`${entry.user}\t${entry.kind}${entry.domain !== undefined ? `\t${entry.domain}` : ''}`);
        return 0;
      }
      default:
        return usage(command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    io.err(`callqos-cloud credentials ${command}: ${(error as Error).message}`);
    return 1;
  }
}
