/**
 * The broker login enrolment gave the router, kept in the credentials directory (UCI
 * `cloud.credentials_dir`, default /etc/callqos, which survives a reboot and a sysupgrade that
 * keeps settings):
 *
 *   enrolled-password   the password the router chose, one line, mode 0600
 *   enrolled.json       {"deviceId", "username", "hardwareId", "broker", "enrolledAtMs"}, mode 0600
 *   enrolling-password  while enrolment is under way: the password the requests carry, mode 0600,
 *                       so that a restart while pending asks with the same one (the server may
 *                       have kept it); removed once enrolled
 *
 * The password is written first and the JSON last, so an interrupted save leaves no JSON and the
 * router enrols again. Each file appears whole (renamed into place) and is never readable by
 * others, not even for a moment: it is created empty, restricted, then filled, then renamed.
 */
import type { Host } from '../../core/host/index.ts';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { BROKER_PASSWORD, HARDWARE_ID } from '../../core/protocol/messages/enrol.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import { fail, ok, type CoreError, type Result } from '../../core/result.ts';
import { describeFailure, execute } from '../exec.ts';

export const PASSWORD_FILE = 'enrolled-password';
export const LOGIN_FILE = 'enrolled.json';
export const PENDING_PASSWORD_FILE = 'enrolling-password';
/** A password chosen by the `rotate-credentials` command, used once the broker takes it (rotation.ts). */
export const ROTATING_PASSWORD_FILE = 'rotating-password';

export interface EnrolledLogin {
  readonly deviceId: string;
  readonly username: string;
  readonly hardwareId: string;
  /** The broker it enrolled with. */
  readonly broker: string;
  readonly enrolledAtMs: number;
}

export interface SavedLogin extends EnrolledLogin {
  /** The path of the password file, for the transport's password_file. */
  readonly passwordFile: string;
}

const err = (code: string, message: string, path: string): Result<never> => fail<CoreError>({ code, message, path });

/** The saved login; null when none is saved; E_CREDENTIALS when what is saved is unusable. */
export function readSavedLogin(host: Host, dir: string): Result<SavedLogin | null> {
  const jsonPath = `${dir}/${LOGIN_FILE}`;
  const passwordFile = `${dir}/${PASSWORD_FILE}`;
  if (!host.files.exists(jsonPath)) return ok(null);
  const text = host.files.readText(jsonPath);
  if (!text.ok) return err('E_CREDENTIALS', `cannot read ${jsonPath}: ${text.error.code}`, jsonPath);
  const parsed = parseStrictJson(text.value);
  if (!parsed.ok) return err('E_CREDENTIALS', `${jsonPath} is not JSON: ${parsed.error.message}`, jsonPath);
  const v = parsed.value as Record<string, unknown>;
  const field = (name: keyof EnrolledLogin, pattern: RegExp): string | undefined => {
    const value = typeof v === 'object' && v !== null ? v[name] : undefined;
    return typeof value === 'string' && pattern.test(value) ? value : undefined;
  };
  const deviceId = field('deviceId', DEVICE_ID);
  const username = field('username', DEVICE_ID);
  const hardwareId = field('hardwareId', HARDWARE_ID);
  const broker = field('broker', /^[A-Za-z0-9.:-]{1,253}$/);
  const at = typeof v === 'object' && v !== null ? v.enrolledAtMs : undefined;
  if (deviceId === undefined) return err('E_CREDENTIALS', `${jsonPath}: deviceId missing or not a device id`, `${jsonPath}:deviceId`);
  if (username === undefined) return err('E_CREDENTIALS', `${jsonPath}: username missing or not a device id`, `${jsonPath}:username`);
  if (hardwareId === undefined) return err('E_CREDENTIALS', `${jsonPath}: hardwareId missing or not a hardware id`, `${jsonPath}:hardwareId`);
  if (broker === undefined) return err('E_CREDENTIALS', `${jsonPath}: broker missing or not a host name`, `${jsonPath}:broker`);
  if (!host.files.exists(passwordFile)) return err('E_CREDENTIALS', `${passwordFile} is missing`, passwordFile);
  const enrolledAtMs = typeof at === 'number' && Number.isSafeInteger(at) && at >= 0 ? at : 0;
  return ok({ deviceId, username, hardwareId, broker, enrolledAtMs, passwordFile });
}

/** Writes `text` to `path` so that it is never readable by others and appears whole. */
export async function writePrivate(host: Host, path: string, text: string): Promise<Result<void>> {
  const temp = `${path}.new`;
  // A temporary file that cannot be removed is overwritten by the next save; the failure says so.
  const abandon = (message: string, at: string): Result<never> => {
    const removed = host.files.remove(temp);
    return err('E_CREDENTIALS_SAVE', removed.ok ? message : `${message} (and ${temp} is left behind)`, at);
  };
  const removed = host.files.remove(temp);
  if (!removed.ok) return err('E_CREDENTIALS_SAVE', removed.error.message, temp);
  const created = host.files.append(temp, '');
  if (!created.ok) return err('E_CREDENTIALS_SAVE', created.error.message, temp);
  const chmod = ['chmod', '0600', temp];
  const restricted = await execute(host, chmod);
  if (restricted.status.code !== 0) return abandon(describeFailure(chmod, restricted), temp);
  const filled = host.files.append(temp, text);
  if (!filled.ok) return abandon(filled.error.message, temp);
  // rename(2): a reader sees the old file or the whole new one.
  const mv = ['mv', '-f', temp, path];
  const moved = await execute(host, mv);
  if (moved.status.code !== 0) return abandon(describeFailure(mv, moved), path);
  return ok(undefined);
}

export async function saveLogin(host: Host, dir: string, login: EnrolledLogin, password: string): Promise<Result<SavedLogin>> {
  const made = host.files.makeDir(dir);
  if (!made.ok) return err('E_CREDENTIALS_SAVE', made.error.message, dir);
  const passwordFile = `${dir}/${PASSWORD_FILE}`;
  const savedPassword = await writePrivate(host, passwordFile, `${password}\n`);
  if (!savedPassword.ok) return savedPassword;
  const json = JSON.stringify({ deviceId: login.deviceId, username: login.username, hardwareId: login.hardwareId, broker: login.broker, enrolledAtMs: login.enrolledAtMs });
  const savedJson = await writePrivate(host, `${dir}/${LOGIN_FILE}`, `${json}\n`);
  if (!savedJson.ok) return savedJson;
  return ok({ ...login, passwordFile });
}

/** The password of an enrolment under way, if one was kept and is still a valid password. */
export function readPendingPassword(host: Host, dir: string): string | undefined {
  const read = host.files.readText(`${dir}/${PENDING_PASSWORD_FILE}`);
  const password = read.ok ? read.value.trim() : '';
  return BROKER_PASSWORD.test(password) ? password : undefined;
}

export async function savePendingPassword(host: Host, dir: string, password: string): Promise<Result<void>> {
  const made = host.files.makeDir(dir);
  if (!made.ok) return err('E_CREDENTIALS_SAVE', made.error.message, dir);
  return writePrivate(host, `${dir}/${PENDING_PASSWORD_FILE}`, `${password}\n`);
}

export function removePendingPassword(host: Host, dir: string): Result<void> {
  const removed = host.files.remove(`${dir}/${PENDING_PASSWORD_FILE}`);
  return removed.ok ? ok(undefined) : err('E_CREDENTIALS_SAVE', removed.error.message, removed.error.path);
}
