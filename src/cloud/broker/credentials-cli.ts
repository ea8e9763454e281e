/**
 * credentials-cli: manage broker logins from a shell.
 *
 *   credentials-cli --file <credentials.jsonl> [--mosquitto-passwd <passwd>] [--mosquitto-acl <acl>] <command>
 *     add <device|cc|server> <id> [--domain <d>]  create a login (of policy domain d on a
 *                                   broker several domains share); prints its password once
 *     rotate <id>                   new password for an existing login; prints it once
 *     remove <id>                   delete a login
 *     list                          one line per login: id, kind and domain if any
 *
 * With --mosquitto-passwd the same login is written to Mosquitto's password file (hashed by the
 * real mosquitto_passwd); with --mosquitto-acl the ACL file is regenerated. Mosquitto rereads
 * both on SIGHUP; the embedded broker takes new credentials through setCredentials.
 * `runCredentialsCli(argv, out)` is the entry; `callqos-cloud credentials …` runs it.
 */
import { writeFileSync } from 'node:fs';
import { isPrincipalKind } from '../../core/protocol/acl.ts';
import { addCredential, loadCredentials, removeCredential, rotateCredential } from './credentials.ts';
import { renderMosquittoAcl } from './mosquitto-acl.ts';
import { removeMosquittoUser, setMosquittoPassword } from './mosquitto-passwd.ts';

export const CREDENTIALS_USAGE = `usage: credentials-cli --file <credentials.jsonl> [--mosquitto-passwd <file>] [--mosquitto-acl <file>] <command>
  add <device|cc|server> <id> [--domain <d>]
                                create a login and print its password (shown only once); with
                                --domain, a login of that policy domain on a shared broker
  rotate <id>                   give a login a new password and print it
  remove <id>                   delete a login
  list                          list logins (id, kind, and domain if any)`;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/** Runs one command; returns the exit status. */
export function runCredentialsCli(argv: readonly string[], io: CliOutput): number {
  let file: string | undefined;
  let passwdFile: string | undefined;
  let aclFile: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--file' || arg === '--mosquitto-passwd' || arg === '--mosquitto-acl') {
      const value = argv[++i];
      if (value === undefined) {
        io.err(`${arg} needs a file name`);
        return 2;
      }
      if (arg === '--file') file = value;
      else if (arg === '--mosquitto-passwd') passwdFile = value;
      else aclFile = value;
    } else if (arg === '-h' || arg === '--help') {
      io.out(CREDENTIALS_USAGE);
      return 0;
    } else rest.push(arg);
  }
  if (file === undefined) {
    io.err('--file is required');
    io.err(CREDENTIALS_USAGE);
    return 2;
  }
  const [command, ...args] = rest;
  const writeAcl = (): void => {
    if (aclFile !== undefined) writeFileSync(aclFile, renderMosquittoAcl(loadCredentials(file).values()), { mode: 0o644 });
  };
  try {
    switch (command) {
      case 'add': {
        const [kind, id, flag, domain] = args;
        if (!(args.length === 2 || (args.length === 4 && flag === '--domain')) || !isPrincipalKind(kind)) {
          io.err('add: expected <device|cc|server> <id> [--domain <domain>]');
          return 2;
        }
        const password = addCredential(file, kind, id!, domain);
        if (passwdFile !== undefined) setMosquittoPassword(passwdFile, id!, password);
        writeAcl();
        io.out(password);
        return 0;
      }
      case 'rotate': {
        if (args.length !== 1) {
          io.err('rotate: expected <id>');
          return 2;
        }
        const { password } = rotateCredential(file, args[0]!);
        if (passwdFile !== undefined) setMosquittoPassword(passwdFile, args[0]!, password);
        io.out(password);
        return 0;
      }
      case 'remove': {
        if (args.length !== 1) {
          io.err('remove: expected <id>');
          return 2;
        }
        const removed = removeCredential(file, args[0]!);
        if (passwdFile !== undefined) removeMosquittoUser(passwdFile, args[0]!);
        writeAcl();
        if (!removed) {
          io.err(`no such user: ${args[0]}`);
          return 1;
        }
        return 0;
      }
      case 'list': {
        for (const entry of loadCredentials(file).values()) io.out(`${entry.user}\t${entry.kind}${entry.domain !== undefined ? `\t${entry.domain}` : ''}`);
        return 0;
      }
      default:
        io.err(command === undefined ? 'no command given' : `unknown command: ${command}`);
        io.err(CREDENTIALS_USAGE);
        return 2;
    }
  } catch (error) {
    io.err(`${command}: ${(error as Error).message}`);
    return 1;
  }
}


