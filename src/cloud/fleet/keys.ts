/**
 * Enrolment keys as an operator hands them out: `<id>.<secret>` (ENROLMENT_KEY). The id is public
 * (it names the key in lists and logs); the secret is random, shown once, and only its SHA-256 is
 * stored: 192 random bits need no slow hash. A presented secret is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ENROLMENT_KEY } from '../../core/protocol/messages/enrol.ts';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 12;
const SECRET_BYTES = 24;

export interface NewEnrolmentKey {
  readonly id: string;
  /** The whole key, `<id>.<secret>`: given to the operator once, never stored. */
  readonly key: string;
  readonly secretHash: string;
}

function randomId(): string {
  // 36 letters from bytes below 252 (7 * 36): no letter more likely than another.
  let id = '';
  while (id.length < ID_LENGTH) {
    for (const byte of randomBytes(ID_LENGTH * 2)) {
      if (byte < 252 && id.length < ID_LENGTH) id += ID_ALPHABET[byte % 36];
    }
  }
  return id;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function makeEnrolmentKey(): NewEnrolmentKey {
  const id = randomId();
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const key = `${id}.${secret}`;
  if (!ENROLMENT_KEY.test(key)) throw new Error('made an enrolment key outside its own pattern');
  return { id, key, secretHash: hashSecret(secret) };
}

/** `<id>.<secret>` split, or null when the text is not an enrolment key. */
export function splitEnrolmentKey(key: string): { readonly id: string; readonly secret: string } | null {
  if (!ENROLMENT_KEY.test(key)) return null;
  const dot = key.indexOf('.');
  return { id: key.slice(0, dot), secret: key.slice(dot + 1) };
}

/** Whether `secret` hashes to `storedHash`, compared in constant time (both are 64 hex digits). */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = /^[0-9a-f]{64}$/.test(storedHash) ? Buffer.from(storedHash, 'hex') : Buffer.alloc(32);
  // A malformed stored hash still costs the same compare, and never matches.
  return timingSafeEqual(presented, stored) && stored.length === 32 && /^[0-9a-f]{64}$/.test(storedHash);
}
