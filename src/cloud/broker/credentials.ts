/**
 * credentials: the per-device (and per call-control client, per server) broker logins. One JSON
 * object per line in a 0600 file:
 *
 *   {"user":"owrt-9c3a1f","kind":"device","hash":"scrypt:16384:8:1:<salt b64>:<key b64>"}
 *   {"user":"rt-7","kind":"device","domain":"example-net","hash":"scrypt:…"}
 *
 * A login with a `domain` belongs to that policy domain on a broker several domains share: its
 * topics are in the domain's tree (src/core/protocol/acl.ts). A login with `"disabled":true` is
 * kept (with its hash) but refused: a revoked device (src/cloud/fleet/identities-embedded.ts).
 *
 * The username is the device or client id, so the broker derives the ACL principal from the
 * login itself (src/core/protocol/acl.ts). Only scrypt hashes are stored; a password is generated
 * here and shown once. Usernames are one namespace across kinds: a call-control client can never
 * share a name with a device.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { isPrincipalKind, PRINCIPAL_KINDS, type Principal, type PrincipalKind } from '../../core/protocol/acl.ts';

export interface CredentialEntry {
  readonly user: string;
  readonly kind: PrincipalKind;
  readonly hash: string;
  readonly domain?: string;
  /** Refused at login while set; the entry stays so that enabling it again needs no new password. */
  readonly disabled?: true;
}

/** scrypt cost: about 30-50 ms per check on a small machine, 16 MiB of memory. */
const SCRYPT_N = 16384;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

const formatHash = (salt: Buffer, key: Buffer): string => `scrypt:${SCRYPT_N}:${SCRYPT_R}:${SCRYPT_P}:${salt.toString('base64')}:${key.toString('base64')}`;

export function hashPassword(password: string): string {
  const salt = randomBytes(SALT_LENGTH);
  return formatHash(salt, scryptSync(password, salt, KEY_LENGTH, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P }));
}

/** hashPassword off the event loop (libuv's thread pool): for a server making logins while it carries calls. */
export function hashPasswordAsync(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P }, (err, key) => (err === null ? resolve(formatHash(salt, key)) : reject(err)));
  });
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split(':');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || N > 1 << 20 || r > 32 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || key.length < 16) return undefined;
  return { N, r, p, salt, key };
}

/** Checks a password against a stored hash without blocking the event loop; the compare is timing-safe. */
export function verifyPassword(password: string | Buffer, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (parsed === undefined) return Promise.resolve(false);
  const { N, r, p, salt, key } = parsed;
  return new Promise((resolve) => {
    scrypt(password, salt, key.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, derived) => {
      resolve(err === null && derived.length === key.length && timingSafeEqual(derived, key));
    });
  });
}

/** A new random password: 24 bytes, URL-safe base64 (32 characters, no `:` for the Mosquitto file). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

export function checkUsername(id: string): void {
  if (!DEVICE_ID.test(id)) {
    throw new Error(`invalid id ${JSON.stringify(id)}: 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit`);
  }
}

/** Parses a credentials file's text: JSON lines, or one JSON array of entries. */
export function parseCredentials(text: string, source = 'credentials'): Map<string, CredentialEntry> {
  const entries = new Map<string, CredentialEntry>();
  const trimmed = text.trim();
  const items: { value: unknown; where: string }[] = [];
  if (trimmed.startsWith('[')) {
    const array: unknown = JSON.parse(trimmed);
    if (!Array.isArray(array)) throw new Error(`${source}: expected an array of entries`);
    array.forEach((value, i) => items.push({ value, where: `${source}: entry ${i}` }));
  } else {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new Error(`${source}: line ${i + 1}: not JSON (${(e as Error).message})`);
      }
      items.push({ value, where: `${source}: line ${i + 1}` });
    });
  }
  for (const { value, where } of items) {
    if (typeof value !== 'object' || value === null) throw new Error(`${where}: expected an object`);
    const { user, kind, hash, domain, disabled } = value as Record<string, unknown>;
    if (typeof user !== 'string' || !DEVICE_ID.test(user)) throw new Error(`${where}: field user: not a valid id: ${JSON.stringify(user)}`);
    if (!isPrincipalKind(kind)) throw new Error(`${where}: field kind: expected ${PRINCIPAL_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
    if (typeof hash !== 'string' || parseHash(hash) === undefined) throw new Error(`${where}: field hash: not an scrypt hash`);
    if (domain !== undefined && (typeof domain !== 'string' || !DEVICE_ID.test(domain))) throw new Error(`${where}: field domain: not a valid id: ${JSON.stringify(domain)}`);
    if (disabled !== undefined && typeof disabled !== 'boolean') throw new Error(`${where}: field disabled: expected true or false, got ${JSON.stringify(disabled)}`);
    if (entries.has(user)) throw new Error(`${where}: field user: ${user} appears twice`);
    entries.set(user, { user, kind, hash, ...(domain !== undefined ? { domain } : {}), ...(disabled === true ? { disabled: true as const } : {}) });
  }
  return entries;
}

export function loadCredentials(path: string): Map<string, CredentialEntry> {
  if (!existsSync(path)) return new Map();
  return parseCredentials(readFileSync(path, 'utf8'), path);
}

/** Writes the whole file atomically (temp file, then rename), readable by its owner only. */
export function saveCredentials(path: string, entries: Map<string, CredentialEntry>): void {
  const lines = [...entries.values()]
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
    .map((e) => JSON.stringify({ user: e.user, kind: e.kind, ...(e.domain !== undefined ? { domain: e.domain } : {}), ...(e.disabled === true ? { disabled: true } : {}), hash: e.hash }));
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** Adds a login (of a policy domain, on a shared broker) and returns its password, which exists nowhere else: show it once. */
export function addCredential(path: string, kind: PrincipalKind, id: string, domain?: string): string {
  if (!isPrincipalKind(kind)) throw new Error(`invalid kind ${JSON.stringify(kind)}: expected ${PRINCIPAL_KINDS.join(', ')}`);
  checkUsername(id);
  if (domain !== undefined && !DEVICE_ID.test(domain)) throw new Error(`invalid domain ${JSON.stringify(domain)}: letters, digits, . _ - (up to 64)`);
  if (domain !== undefined && kind === 'clearinghouse') throw new Error('a clearinghouse serves every domain from the plain topic tree: it takes no --domain');
  const entries = loadCredentials(path);
  const existing = entries.get(id);
  if (existing !== undefined) throw new Error(`${id} already exists (as ${existing.kind}); use rotate for a new password`);
  const password = generatePassword();
  entries.set(id, { user: id, kind, hash: hashPassword(password), ...(domain !== undefined ? { domain } : {}) });
  saveCredentials(path, entries);
  return password;
}

/** Gives an existing login a new password (the old one stops working) and returns it. */
export function rotateCredential(path: string, id: string): { kind: PrincipalKind; password: string } {
  const entries = loadCredentials(path);
  const existing = entries.get(id);
  if (existing === undefined) throw new Error(`no such user: ${id}`);
  const password = generatePassword();
  entries.set(id, { ...existing, hash: hashPassword(password) });
  saveCredentials(path, entries);
  return { kind: existing.kind, password };
}

/** Removes a login; false when there was none. */
export function removeCredential(path: string, id: string): boolean {
  const entries = loadCredentials(path);
  if (!entries.delete(id)) return false;
  saveCredentials(path, entries);
  return true;
}

/** The principal behind a username and password, or undefined when the login is wrong. */
export async function authenticateLogin(
  entries: ReadonlyMap<string, CredentialEntry>,
  username: string | undefined,
  password: string | Buffer | undefined,
): Promise<Principal | undefined> {
  if (username === undefined || password === undefined) return undefined;
  const entry = entries.get(username);
  if (entry === undefined) {
    // Spend the same time as for a known user, so a timing difference does not reveal which ids exist.
    await verifyPassword(password, DUMMY_HASH);
    return undefined;
  }
  if (!(await verifyPassword(password, entry.hash)) || entry.disabled === true) return undefined;
  return { kind: entry.kind, id: entry.user, ...(entry.domain !== undefined ? { domain: entry.domain } : {}) };
}

const DUMMY_HASH = hashPassword(generatePassword());
