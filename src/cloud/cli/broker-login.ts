/**
 * broker-login: how a cloud program that is a client of the broker (the SIP proxy, the
 * clearinghouse, the server on an external broker) names its login. The password comes from a
 * file, never from the command line, where `ps` would show it.
 */
import { readFileSync } from 'node:fs';
import type { OptionSpec } from './args.ts';

export const BROKER_LOGIN_OPTIONS: readonly OptionSpec[] = [
  { name: 'broker-user', value: '<name>', help: 'login at the broker (default: the id)' },
  { name: 'broker-password-file', value: '<f>', help: 'file holding its password' },
];

/** The password the file holds, without the line end; undefined without a file. */
export function readPasswordFile(path: string | undefined | null): string | undefined {
  return path === undefined || path === null ? undefined : readFileSync(path, 'utf8').trim();
}
