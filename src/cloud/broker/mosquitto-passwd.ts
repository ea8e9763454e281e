/**
 * mosquitto-passwd: keeps Mosquitto's password file in step with the credentials file. Mosquitto
 * cannot read our scrypt hashes, so each password is hashed by the real `mosquitto_passwd` at the
 * moment it is generated: the plain password goes into a private temporary file (never onto a
 * command line, where other users could see it), `mosquitto_passwd -U` hashes that file in place,
 * and the hashed line replaces the user's line in the password file. Mosquitto rereads the file on
 * SIGHUP.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkUsername } from './credentials.ts';

export const DEFAULT_MOSQUITTO_PASSWD = 'mosquitto_passwd';

function readLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '');
}

function writeLines(path: string, lines: readonly string[]): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** The `user:hash` line `mosquitto_passwd` makes for one login. */
export function mosquittoHashLine(user: string, password: string, binary = DEFAULT_MOSQUITTO_PASSWD): string {
  checkUsername(user);
  if (password.length === 0 || /[\n\r]/.test(password)) throw new Error('password: must be one non-empty line');
  const dir = mkdtempSync(join(tmpdir(), 'callqos-passwd-'));
  try {
    const file = join(dir, 'plain');
    writeFileSync(file, `${user}:${password}\n`, { mode: 0o600 });
    const run = spawnSync(binary, ['-U', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (run.error !== undefined) throw new Error(`cannot run ${binary}: ${run.error.message}`);
    if (run.status !== 0) throw new Error(`${binary} -U failed (exit ${run.status}): ${run.stderr.trim()}`);
    const line = readLines(file)[0] ?? '';
    if (!line.startsWith(`${user}:`) || line === `${user}:${password}`) throw new Error(`${binary} -U did not hash the password`);
    return line;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sets (adds or replaces) one user's password in a Mosquitto password file. */
export function setMosquittoPassword(path: string, user: string, password: string, binary = DEFAULT_MOSQUITTO_PASSWD): void {
  const hashed = mosquittoHashLine(user, password, binary);
  const others = readLines(path).filter((line) => !line.startsWith(`${user}:`));
  writeLines(path, [...others, hashed]);
}

/** Removes one user from a Mosquitto password file; false when it was not there. */
export function removeMosquittoUser(path: string, user: string): boolean {
  const lines = readLines(path);
  const kept = lines.filter((line) => !line.startsWith(`${user}:`));
  if (kept.length === lines.length) return false;
  writeLines(path, kept);
  return true;
}
